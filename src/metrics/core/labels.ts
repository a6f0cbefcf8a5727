// Labels of the metrics layer: the context labels of each end, the overflow
// series' value, and the port folding it shares with the kernel. The
// kernel's numeric codes are named in src/datapath/code-names.ts.

import type { ContextName, MetricsConfig } from '../types.js';

export const DEFAULT_CONTEXTS: readonly ContextName[] = ['namespace', 'workload', 'identity'];

export const DEFAULT_METRICS_CONFIG: Readonly<MetricsConfig> = {
  contexts: [...DEFAULT_CONTEXTS],
  seriesLimit: 10_000,
  destinationPorts: [],
};

/** Value of every label of the series that takes label sets over the cardinality limit. */
export const OVERFLOW = 'overflow';

export { DESTINATION_PORT_HELP, PORT_RANGES, PortFolder } from '../../datapath/ports.js';

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
