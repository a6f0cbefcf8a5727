// Inputs of the metrics layer besides the datapath's records
// (src/datapath/records.ts) and identity contexts (src/identity/contexts.ts).
// Other modules implement these; the metrics code never touches maps or the
// addon directly, so it can be tested with plain objects.

export type ContextName = 'identity' | 'namespace' | 'workload' | 'workload_kind' | 'app' | 'pod';

export interface IdentitySourceStatus {
  source: string;
  up: boolean;
  identities: number;
  reloadFailures: number;
  /** Watch requests resumed after a disconnect, failure or relist (watching sources only). */
  watchRestarts?: number;
  /** Unix seconds of the last complete sync (watching sources only, once synced). */
  lastSyncSeconds?: number;
}

export interface IdentityStatus { sources(): IdentitySourceStatus[] }

export interface MetricsConfig { contexts: ContextName[]; seriesLimit: number; destinationPorts: number[]; identityTtlSeconds?: number }

/** The recent-flow store and its streams, for the flowlens_flow_* self-metrics. */
export interface FlowStoreStatus {
  store(): { capacity: number; records: number; received: number; evicted: number; bytes: number };
  streams(): number;
  streamSkipped(): number;
}

/** The event reader thread's scheduling (src/bpf/ring-reader.ts); undefined while it has not started. */
export type EventReaderStatus = () => { idle: boolean } | undefined;

/** Span export counters (SpanSink.stats in src/traces). */
export interface SpanStatus { readonly exported: number; readonly dropped: Readonly<Record<string, number>> }
