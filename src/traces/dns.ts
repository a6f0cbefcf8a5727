// A DNS exchange (dns_event) as a span: kind from the side that saw it,
// start and end from the kernel's clock, attributes from OpenTelemetry's DNS,
// network, client and server conventions (the constants of semconv.ts) plus
// flowlens' own under `flowlens.` (identities, reporter, the DNS header
// fields the conventions do not name). The span name is low-cardinality: the
// query type, never the name asked for, which is an attribute.

import type { Attributes } from '@opentelemetry/api';
import { DnsFlag, Reporter, dnsNameFromWire, type DnsEvent } from '../datapath/records.js';
import { formatAddress } from '../net/cidr.js';
import { qtypeLabel, rcodeLabel } from '../datapath/code-names.js';
import type { IdentityLookup } from '../identity/contexts.js';
import { identityAttributes } from './identity-attributes.js';
import type { FinishedExchange } from './exchange.js';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_CLIENT_PORT,
  ATTR_DNS_QUESTION_NAME,
  ATTR_ERROR_TYPE,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  ATTR_NETWORK_TRANSPORT,
  ATTR_NETWORK_TYPE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
} from './semconv.js';

/** error.type of an exchange that got no response within the timeout. */
export const DNS_TIMEOUT_ERROR = 'timeout';

export function dnsExchange(event: DnsEvent, identities: IdentityLookup, now: () => bigint = () => process.hrtime.bigint()): FinishedExchange {
  const qname = dnsNameFromWire(event.qname, event.qnameLen);
  const qtype = qtypeLabel(event.qtype);
  const unanswered = (event.flags & DnsFlag.UNANSWERED) !== 0;
  const rcode = rcodeLabel(event.rcode);
  const client = formatAddress(event.clientAddr);
  const server = formatAddress(event.serverAddr);
  const side = event.reporter === Reporter.SERVER ? 'server' : 'client';
  const attributes: Attributes = {
    [ATTR_DNS_QUESTION_NAME]: qname,
    [ATTR_NETWORK_TRANSPORT]: event.protocol === 6 ? 'tcp' : 'udp',
    [ATTR_NETWORK_TYPE]: event.family === 6 ? 'ipv6' : 'ipv4',
    [ATTR_CLIENT_ADDRESS]: client,
    [ATTR_CLIENT_PORT]: event.clientPort,
    [ATTR_SERVER_ADDRESS]: server,
    [ATTR_SERVER_PORT]: event.serverPort,
    // the other end, as seen from the side that reported
    [ATTR_NETWORK_PEER_ADDRESS]: side === 'client' ? server : client,
    [ATTR_NETWORK_PEER_PORT]: side === 'client' ? event.serverPort : event.clientPort,
    'flowlens.dns.question.type': qtype,
    'flowlens.reporter': side,
    'flowlens.dns.id': event.id,
    ...identityAttributes(identities.context(event.srcIdentity), identities.context(event.dstIdentity)),
  };
  if (!unanswered) {
    attributes['flowlens.dns.response_code'] = rcode;
    attributes['flowlens.dns.answer_count'] = event.answers;
    attributes['flowlens.dns.truncated'] = (event.flags & DnsFlag.TC) !== 0;
  }
  if (event.flags & DnsFlag.NAME_TRUNCATED) attributes['flowlens.dns.question.name_truncated'] = true;
  let error: string | undefined;
  if (unanswered) error = DNS_TIMEOUT_ERROR;
  else if (event.rcode !== 0) error = rcode;
  if (error !== undefined) attributes[ATTR_ERROR_TYPE] = error;
  return {
    name: `DNS ${qtype}`,
    kind: side,
    startNs: event.queryNs,
    // an unanswered query ends when the sweep gave up on it
    endNs: unanswered ? now() : event.responseNs,
    attributes,
    owner: side === 'client' ? { identity: event.srcIdentity, address: client } : { identity: event.dstIdentity, address: server },
    ...(error !== undefined ? { error } : {}),
  };
}
