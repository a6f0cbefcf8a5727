// An HTTP exchange (http_event) as a finished exchange for the span sink:
// name, kind, attributes and status from httpSpan (the pure mapping), times on
// the kernel's clock (the sink maps them to wall time), and the request's
// traceparent as the span's parent.

import { SpanStatusCode } from '@opentelemetry/api';
import type { HttpEvent } from '../datapath/records.js';
import type { IdentityLookup } from '../identity/contexts.js';
import { formatAddress } from '../net/cidr.js';
import { httpSpan, type PathRedaction } from './http-span.js';
import type { FinishedExchange } from './exchange.js';

export function httpExchange(event: HttpEvent, identities: IdentityLookup, pathRedactions: readonly PathRedaction[] = []): FinishedExchange {
  const span = httpSpan({
    event,
    source: identities.context(event.srcIdentity),
    destination: identities.context(event.dstIdentity),
    pathRedactions,
  });
  const exchange: FinishedExchange = {
    name: span.name,
    kind: span.kind,
    startNs: event.timestampNs - event.durationNs,
    endNs: event.timestampNs,
    attributes: span.attributes,
    owner:
      span.kind === 'client'
        ? { identity: event.srcIdentity, address: formatAddress(event.saddr) }
        : { identity: event.dstIdentity, address: formatAddress(event.daddr) },
  };
  if (span.status.code === SpanStatusCode.ERROR) exchange.error = String(event.status);
  if (span.parent) exchange.parent = span.parent;
  return exchange;
}

/** http.redactPaths: each pattern's matches in a path become `{redacted}`. */
export function pathRedactions(patterns: readonly string[]): PathRedaction[] {
  return patterns.map((p) => ({ pattern: new RegExp(p, 'g'), replacement: '{redacted}' }));
}
