export type { ContextName, FlowStoreStatus, SpanStatus, IdentitySourceStatus, IdentityStatus, MetricsConfig } from './types.js';
export { createMetrics, type CreateMetricsOptions } from './core/registry.js';
export type { BuildInfo } from './build-info.js';
export { CONTENT_TYPES, negotiateFormat, renderExposition, type Exposition, type ExpositionFormat } from './core/exposition.js';
export { DEFAULT_CONTEXTS, DEFAULT_METRICS_CONFIG, OVERFLOW, PortFolder } from './core/labels.js';
export { renderBenchmark, benchmarkSnapshot, type RenderBenchmarkOptions, type RenderBenchmarkResult } from './bench.js';
export { DnsQueryNames } from './dns-names.js';
export { ExchangeExemplars } from './exemplars.js';
export { IdentityExpiry } from './core/identity-ttl.js';
export {
  ATTACHED_INTERFACES,
  BPF_MAP_CAPACITY,
  BPF_MAP_ENTRIES,
  BPF_PROGRAM_RUNS_TOTAL,
  BPF_PROGRAM_RUN_SECONDS_TOTAL,
  BUILD_INFO,
  BYTES_TOTAL,
  DNS_MALFORMED_MESSAGES_TOTAL,
  DNS_QUERIES_BY_NAME_TOTAL,
  DNS_QUERIES_TOTAL,
  DNS_RESPONSES_TOTAL,
  DNS_RESPONSE_DURATION_SECONDS,
  EVENTS_LOST_TOTAL,
  FLOWS_TOTAL,
  FLOW_LOGS_DROPPED_TOTAL,
  FLOW_LOGS_EXPORTED_TOTAL,
  FLOW_STORE_CAPACITY,
  FLOW_STORE_EVICTED_TOTAL,
  FLOW_STORE_MEMORY_BYTES,
  FLOW_STORE_RECORDS,
  FLOW_STORE_RECORDS_TOTAL,
  FLOW_STREAMS,
  FLOW_STREAM_SKIPPED_TOTAL,
  HTTP_REQUESTS_TOTAL,
  HTTP_REQUEST_DURATION_SECONDS,
  HTTP_RESPONSES_TOTAL,
  HTTP_UNMATCHED_MESSAGES_TOTAL,
  IDENTITIES,
  IDENTITY_LAST_SYNC_TIMESTAMP_SECONDS,
  IDENTITY_RELOAD_FAILURES_TOTAL,
  IDENTITY_SOURCE_UP,
  IDENTITY_WATCH_RESTARTS_TOTAL,
  MALFORMED_PACKETS_TOTAL,
  NON_IP_PACKETS_TOTAL,
  PACKETS_TOTAL,
  SERIES_LIMITED_TOTAL,
  SPANS_DROPPED_TOTAL,
  SPANS_EXPORTED_TOTAL,
  TCP_CONNECTION_ATTEMPTS_TOTAL,
  TCP_FLAGS_TOTAL,
} from './names.js';
