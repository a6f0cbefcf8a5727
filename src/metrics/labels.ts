// Renders the kernel's numeric codes as label values. Every function is
// injective on the values it names, so records that render alike may be
// summed without hiding a distinction the kernel made, except where folding
// is the point (ports, unknown codes).

import type { ContextName, MetricsConfig } from './types.js';

export const DEFAULT_CONTEXTS: readonly ContextName[] = ['namespace', 'workload', 'identity'];

export const DEFAULT_METRICS_CONFIG: Readonly<MetricsConfig> = {
  contexts: [...DEFAULT_CONTEXTS],
  seriesLimit: 10_000,
  destinationPorts: [],
};

/** Value of every label of the series that takes label sets over the cardinality limit. */
export const OVERFLOW = 'overflow';

/** Codes the kernel side should never produce still get a label, not an exception. */
export const UNKNOWN = 'unknown';

const PROTOCOL_NAMES: Readonly<Record<number, string>> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 132: 'sctp' };

// IPPROTO is one byte: precomputed so a scrape renders protocols without allocating.
const PROTOCOLS: readonly string[] = Array.from({ length: 256 }, (_, n) => PROTOCOL_NAMES[n] ?? `ip-${n}`);

export function protocolLabel(protocol: number): string {
  return PROTOCOLS[protocol] ?? `ip-${protocol}`;
}

export function directionLabel(direction: number): string {
  return direction === 1 ? 'ingress' : direction === 2 ? 'egress' : UNKNOWN;
}

export function verdictLabel(verdict: number): string {
  return verdict === 1 ? 'forwarded' : verdict === 2 ? 'dropped' : UNKNOWN;
}

/** Index is the bit position in the TCP flags byte (FLOWLENS_TCP_* in bpf/flowlens.h). */
export const TCP_FLAGS: readonly string[] = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr'];

export function tcpFlagLabel(flag: number): string {
  return TCP_FLAGS[flag] ?? UNKNOWN;
}

export { DESTINATION_PORT_HELP, PORT_RANGES, PortFolder } from '../datapath/ports.js';

/** Label names of the context labels, source end first, in configured order. */
export function contextLabelNames(contexts: readonly ContextName[]): string[] {
  return [...contexts.map((c) => `source_${c}`), ...contexts.map((c) => `destination_${c}`)];
}

const CONTEXT_NAMES: ReadonlySet<string> = new Set<ContextName>(['identity', 'namespace', 'workload', 'workload_kind', 'app', 'pod']);

export function validateContexts(contexts: readonly string[]): asserts contexts is ContextName[] {
  const seen = new Set<string>();
  for (const c of contexts) {
    if (!CONTEXT_NAMES.has(c)) throw new RangeError(`unknown metrics context "${c}" (known: ${[...CONTEXT_NAMES].join(', ')})`);
    if (seen.has(c)) throw new RangeError(`metrics context "${c}" is listed twice`);
    seen.add(c);
  }
}
