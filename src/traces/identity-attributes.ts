// flowlens' identity attributes of a span, one scheme for every protocol: the
// source (the client of a DNS or HTTP exchange) and the destination (its
// server), as the metrics' source_* and destination_* labels name them.

import type { Attributes } from '@opentelemetry/api';
import type { IdentityContext } from '../identity/contexts.js';

/**
 * `flowlens.source.<context>` and `flowlens.destination.<context>` for each
 * context (identity, namespace, workload, workload_kind, app, pod) the end
 * has; empty ones are left out.
 */
export function identityAttributes(source: IdentityContext, destination: IdentityContext): Attributes {
  return { ...endAttributes('flowlens.source', source), ...endAttributes('flowlens.destination', destination) };
}

function endAttributes(prefix: string, ctx: IdentityContext): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(ctx)) if (value !== '') out[`${prefix}.${key}`] = value;
  return out;
}
