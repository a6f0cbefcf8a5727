// One HTTP exchange observed by the kernel (an HttpEvent) as the span an
// OTLP exporter sends: pure data, no SDK, so the mapping is tested alone and
// the span sink (src/traces) only has to start and end it.
//
// Attribute names follow OpenTelemetry's stable HTTP semantic conventions;
// flowlens' own (identities, reporter) are under `flowlens.`. Times stay with
// the caller (src/traces/http.ts), on the kernel's clock.

import { SpanStatusCode, TraceFlags, type Attributes, type SpanContext } from '@opentelemetry/api';
import { HTTP_METHOD_NAMES, REPORTER_NAMES, Reporter, type HttpEvent } from '../datapath/records.js';
import { formatAddress } from '../net/cidr.js';
import type { IdentityContext } from '../identity/contexts.js';
import { identityAttributes } from './identity-attributes.js';

/** Semantic-convention attribute names (stable), spelt out: @opentelemetry/semantic-conventions is not a dependency. */
export const ATTR = {
  HTTP_REQUEST_METHOD: 'http.request.method',
  HTTP_RESPONSE_STATUS_CODE: 'http.response.status_code',
  URL_PATH: 'url.path',
  SERVER_ADDRESS: 'server.address',
  SERVER_PORT: 'server.port',
  CLIENT_ADDRESS: 'client.address',
  CLIENT_PORT: 'client.port',
  NETWORK_PROTOCOL_NAME: 'network.protocol.name',
  NETWORK_PROTOCOL_VERSION: 'network.protocol.version',
  NETWORK_TRANSPORT: 'network.transport',
  NETWORK_TYPE: 'network.type',
  ERROR_TYPE: 'error.type',
} as const;

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

export interface HttpSpanData {
  name: string;
  /** The side whose interface saw the exchange. */
  kind: 'client' | 'server';
  attributes: Attributes;
  status: { code: SpanStatusCode; message?: string };
  /** The request's traceparent, when it carried one: the span is its child, in its trace. */
  parent: SpanContext | undefined;
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

export function httpSpan(input: HttpSpanInput): HttpSpanData {
  const { event } = input;
  const kind = event.reporter === Reporter.SERVER ? 'server' : 'client';
  const known = event.method !== 0 && HTTP_METHOD_NAMES[event.method] !== undefined;
  const method = known ? HTTP_METHOD_NAMES[event.method]! : OTHER_METHOD;
  const attributes: Attributes = {
    [ATTR.HTTP_REQUEST_METHOD]: method,
    [ATTR.HTTP_RESPONSE_STATUS_CODE]: event.status,
    [ATTR.SERVER_ADDRESS]: formatAddress(event.daddr),
    [ATTR.SERVER_PORT]: event.dport,
    [ATTR.CLIENT_ADDRESS]: formatAddress(event.saddr),
    [ATTR.CLIENT_PORT]: event.sport,
    [ATTR.NETWORK_PROTOCOL_NAME]: 'http',
    [ATTR.NETWORK_PROTOCOL_VERSION]: event.protocolVersion,
    [ATTR.NETWORK_TRANSPORT]: 'tcp',
    [ATTR.NETWORK_TYPE]: event.family === 6 ? 'ipv6' : 'ipv4',
    'flowlens.reporter': REPORTER_NAMES[event.reporter] ?? 'unknown',
    ...identityAttributes(input.source, input.destination),
  };
  if (event.path !== undefined) {
    // the kernel never keeps the query string; configured patterns hide the rest
    attributes[ATTR.URL_PATH] = redactPath(event.path, input.pathRedactions ?? []);
    if (event.pathTruncated) attributes['flowlens.http.path_truncated'] = true;
  }
  if (!known) attributes['http.request.method_original'] = 'unknown';
  const status = spanStatus(kind, event.status);
  if (status.code === SpanStatusCode.ERROR) attributes[ATTR.ERROR_TYPE] = String(event.status);
  const parent: SpanContext | undefined =
    event.traceId && event.parentSpanId
      ? { traceId: event.traceId, spanId: event.parentSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: true }
      : undefined;
  return {
    // no route is known from the wire: the method alone, as the conventions name such spans
    name: known ? method : 'HTTP',
    kind,
    attributes,
    status,
    parent,
  };
}
