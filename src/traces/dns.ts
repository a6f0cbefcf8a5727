// A DNS exchange (dns_event) as a span: kind from the side that saw it,
// start and end from the kernel's clock, attributes from OpenTelemetry's DNS,
// network, client and server conventions plus flowlens' own (identities,
// reporter, DNS header fields the conventions do not name).

import type { Attributes } from '@opentelemetry/api';
import { DnsFlag, Reporter, dnsNameFromWire, type DnsEvent } from '../datapath/records.js';
import { formatAddress } from '../net/cidr.js';
import { qtypeLabel, rcodeLabel } from '../datapath/code-names.js';
import type { IdentityLookup } from '../identity/contexts.js';
import { identityAttributes } from './identity-attributes.js';
import type { FinishedExchange } from './sink.js';

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
    'dns.question.name': qname,
    'dns.question.type': qtype,
    'network.transport': event.protocol === 6 ? 'tcp' : 'udp',
    'network.type': event.family === 6 ? 'ipv6' : 'ipv4',
    'client.address': client,
    'client.port': event.clientPort,
    'server.address': server,
    'server.port': event.serverPort,
    // the other end, as seen from the side that reported
    'network.peer.address': side === 'client' ? server : client,
    'network.peer.port': side === 'client' ? event.serverPort : event.clientPort,
    'flowlens.reporter': side,
    'flowlens.dns.id': event.id,
    ...identityAttributes(identities.context(event.srcIdentity), identities.context(event.dstIdentity)),
  };
  if (!unanswered) {
    attributes['dns.response_code'] = rcode;
    attributes['flowlens.dns.answers'] = event.answers;
    attributes['flowlens.dns.truncated'] = (event.flags & DnsFlag.TC) !== 0;
  }
  if (event.flags & DnsFlag.NAME_TRUNCATED) attributes['flowlens.dns.question.name_truncated'] = true;
  let error: string | undefined;
  if (unanswered) error = DNS_TIMEOUT_ERROR;
  else if (event.rcode !== 0) error = rcode;
  if (error !== undefined) attributes['error.type'] = error;
  return {
    name: `DNS ${qtype} ${qname === '' ? '.' : qname}`,
    kind: side,
    startNs: event.queryNs,
    // an unanswered query ends when the sweep gave up on it
    endNs: unanswered ? now() : event.responseNs,
    attributes,
    ...(error !== undefined ? { error } : {}),
  };
}
