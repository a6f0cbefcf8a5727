export type { ContextName, FlowStoreStatus, SpanStatus, IdentitySourceStatus, IdentityStatus, MetricsConfig } from './types.js';
export { createMetrics, type CreateMetricsOptions } from './registry.js';
export type { BuildInfo } from './build-info.js';
export { CONTENT_TYPES, negotiateFormat, renderExposition, type Exposition, type ExpositionFormat } from './exposition.js';
export { DEFAULT_CONTEXTS, DEFAULT_METRICS_CONFIG, OVERFLOW, PortFolder } from './labels.js';
export { renderBenchmark, benchmarkSnapshot, type RenderBenchmarkOptions, type RenderBenchmarkResult } from './bench.js';
export { FLOWS_TOTAL } from './flows.js';
export { DNS_MALFORMED_MESSAGES_TOTAL, DNS_QUERIES_TOTAL, DNS_RESPONSE_DURATION_SECONDS, DNS_RESPONSES_TOTAL } from './dns.js';
export {
  DNS_QUERIES_BY_NAME_TOTAL,
  DnsQueryNames,
} from './dns-names.js';
export { TCP_CONNECTION_ATTEMPTS_TOTAL } from './connections.js';
export {
  HTTP_REQUESTS_TOTAL,
  HTTP_RESPONSES_TOTAL,
  HTTP_REQUEST_DURATION_SECONDS,
  HTTP_UNMATCHED_MESSAGES_TOTAL,
} from './http.js';
export { PACKETS_TOTAL, BYTES_TOTAL } from './traffic.js';
export { TCP_FLAGS_TOTAL } from './tcp-flags.js';
export { SERIES_LIMITED_TOTAL } from './series-limited.js';
export { BUILD_INFO } from './build-info.js';
export {
  ATTACHED_INTERFACES,
  BPF_MAP_CAPACITY,
  BPF_MAP_ENTRIES,
  BPF_PROGRAM_RUN_SECONDS_TOTAL,
  BPF_PROGRAM_RUNS_TOTAL,
  EVENTS_LOST_TOTAL,
} from './datapath-status.js';
export { MALFORMED_PACKETS_TOTAL, NON_IP_PACKETS_TOTAL } from './packet-parse.js';
export {
  IDENTITIES,
  IDENTITY_LAST_SYNC_TIMESTAMP_SECONDS,
  IDENTITY_RELOAD_FAILURES_TOTAL,
  IDENTITY_SOURCE_UP,
  IDENTITY_WATCH_RESTARTS_TOTAL,
} from './identity-sources.js';
export { IdentityExpiry } from './identity-ttl.js';
export {
  FLOW_STORE_CAPACITY,
  FLOW_STORE_EVICTED_TOTAL,
  FLOW_STORE_MEMORY_BYTES,
  FLOW_STORE_RECORDS,
  FLOW_STORE_RECORDS_TOTAL,
  FLOW_STREAM_SKIPPED_TOTAL,
  FLOW_STREAMS,
} from './flow-store.js';
export { SPANS_DROPPED_TOTAL, SPANS_EXPORTED_TOTAL } from './spans.js';
