// One HTTP exchange observed by the kernel (an HttpEvent) as the span an
// OTLP exporter sends: pure data, no SDK, so the mapping is tested alone and
// the span sink (src/traces) only has to start and end it.
//
// Attribute names follow OpenTelemetry's stable HTTP semantic conventions,
// through the constants of @opentelemetry/semantic-conventions (semconv.ts);
// flowlens' own (identities, reporter) are under `flowlens.`. What the kernel
// does not keep cannot be reported: the query string (url.query) and the Host
// header, so server.address is the server's IP address, which the conventions
// allow when no host name is known. Times stay with the caller
// (src/traces/http.ts), on the kernel's clock.

import { SpanStatusCode, type Attributes } from '@opentelemetry/api';
import { HTTP_METHOD_NAMES, REPORTER_NAMES, Reporter, type HttpEvent } from '../datapath/records.js';
import { formatAddress } from '../net/cidr.js';
import type { IdentityContext } from '../identity/contexts.js';
import { identityAttributes } from './identity-attributes.js';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_CLIENT_PORT,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_NETWORK_TRANSPORT,
  ATTR_NETWORK_TYPE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
} from './semconv.js';

/** A path redaction: every match of pattern in url.path is replaced (e.g. ids: /\/\d+/g -> '/{id}'). */
export interface PathRedaction {
  pattern: RegExp;
  replacement: string;
}

/** A path with every match of every redaction replaced: what flow records and spans show. */
export function redactPath(path: string, redactions: readonly PathRedaction[]): string {
  return redactions.reduce((p, r) => p.replace(r.pattern, r.replacement), path);
}

export interface HttpSpanInput {
  event: HttpEvent;
  /** Identity contexts of the source (the client) and the destination (the server). */
  source: IdentityContext;
  destination: IdentityContext;
  pathRedactions?: readonly PathRedaction[];
}

/** The remote span a request's traceparent names, with its sampled flag. */
export interface RemoteParent {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

export interface HttpSpanData {
  name: string;
  /** The side whose interface saw the exchange. */
  kind: 'client' | 'server';
  attributes: Attributes;
  status: { code: SpanStatusCode; message?: string };
  /** The request's traceparent, when it carried one: the span is its child, in its trace. */
  parent: RemoteParent | undefined;
}

/** OpenTelemetry's name for a method outside the known set. */
const OTHER_METHOD = '_OTHER';

/**
 * Server spans are errors for 5xx only (a 4xx is the client's mistake, not
 * the server's); client spans for 4xx and 5xx, as the HTTP conventions say.
 */
function spanStatus(kind: HttpSpanData['kind'], status: number): HttpSpanData['status'] {
  const limit = kind === 'server' ? 500 : 400;
  return status >= limit ? { code: SpanStatusCode.ERROR } : { code: SpanStatusCode.UNSET };
}

/** An address as the host of a URL: IPv6 in brackets. */
function urlHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

export function httpSpan(input: HttpSpanInput): HttpSpanData {
  const { event } = input;
  const kind = event.reporter === Reporter.SERVER ? 'server' : 'client';
  // the kernel recognises the standard methods only: 0 is a response to a request it did not see, whose
  // method nobody knows, so http.request.method_original (what the client sent) is never set
  const known = event.method !== 0 && HTTP_METHOD_NAMES[event.method] !== undefined;
  const method = known ? HTTP_METHOD_NAMES[event.method]! : OTHER_METHOD;
  const client = formatAddress(event.saddr);
  const server = formatAddress(event.daddr);
  const path = event.path === undefined ? undefined : redactPath(event.path, input.pathRedactions ?? []);
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: method,
    [ATTR_HTTP_RESPONSE_STATUS_CODE]: event.status,
    [ATTR_SERVER_ADDRESS]: server,
    [ATTR_SERVER_PORT]: event.dport,
    [ATTR_NETWORK_PROTOCOL_VERSION]: event.protocolVersion,
    [ATTR_NETWORK_TRANSPORT]: 'tcp',
    [ATTR_NETWORK_TYPE]: event.family === 6 ? 'ipv6' : 'ipv4',
    // the other end, as seen from the side that reported
    [ATTR_NETWORK_PEER_ADDRESS]: kind === 'client' ? server : client,
    [ATTR_NETWORK_PEER_PORT]: kind === 'client' ? event.dport : event.sport,
    'flowlens.reporter': REPORTER_NAMES[event.reporter] ?? 'unknown',
    ...identityAttributes(input.source, input.destination),
  };
  if (kind === 'server') {
    attributes[ATTR_CLIENT_ADDRESS] = client;
    attributes[ATTR_CLIENT_PORT] = event.sport;
    attributes[ATTR_URL_SCHEME] = 'http';
    if (path !== undefined) attributes[ATTR_URL_PATH] = path;
  } else if (path !== undefined) {
    // the kernel never keeps the query string; configured patterns hide the rest of the path
    attributes[ATTR_URL_FULL] = `http://${urlHost(server)}:${event.dport}${path}`;
  }
  if (event.path !== undefined && event.pathTruncated) attributes['flowlens.http.path_truncated'] = true;
  const status = spanStatus(kind, event.status);
  if (status.code === SpanStatusCode.ERROR) attributes[ATTR_ERROR_TYPE] = String(event.status);
  const parent: RemoteParent | undefined =
    event.traceId && event.parentSpanId ? { traceId: event.traceId, spanId: event.parentSpanId, sampled: event.traceSampled } : undefined;
  return {
    // no route is known from the wire: the method alone, as the conventions name such spans ("HTTP" for _OTHER)
    name: known ? method : 'HTTP',
    kind,
    attributes,
    status,
    parent,
  };
}
