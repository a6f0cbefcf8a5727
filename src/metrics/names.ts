// The name of every metric family flowlens exports, in one place: the family
// modules register under these, and alerts/src and dashboards/src build their
// queries from them, so a name cannot drift between the exporter and its rules.
// This module imports nothing, so the generators can import it alone.

// registered in build-info.ts
export const BUILD_INFO = 'flowlens_build_info';

// registered in flows.ts
export const FLOWS_TOTAL = 'flowlens_flows_total';

// registered in traffic.ts
export const PACKETS_TOTAL = 'flowlens_packets_total';
export const BYTES_TOTAL = 'flowlens_bytes_total';

// registered in tcp-flags.ts
export const TCP_FLAGS_TOTAL = 'flowlens_tcp_flags_total';

// registered in connections.ts
export const TCP_CONNECTION_ATTEMPTS_TOTAL = 'flowlens_tcp_connection_attempts_total';

// registered in retransmits.ts
export const TCP_RETRANSMITS_TOTAL = 'flowlens_tcp_retransmits_total';

// registered in unknown-sources.ts
export const UNKNOWN_SOURCE_FLOWS_TOTAL = 'flowlens_unknown_source_flows_total';

// registered in drops.ts
export const DROPS_TOTAL = 'flowlens_drops_total';

// registered in dns.ts
export const DNS_QUERIES_TOTAL = 'flowlens_dns_queries_total';
export const DNS_RESPONSES_TOTAL = 'flowlens_dns_responses_total';
export const DNS_RESPONSE_DURATION_SECONDS = 'flowlens_dns_response_duration_seconds';
export const DNS_MALFORMED_MESSAGES_TOTAL = 'flowlens_dns_malformed_messages_total';

// registered in dns-names.ts
export const DNS_QUERIES_BY_NAME_TOTAL = 'flowlens_dns_queries_by_name_total';

// registered in http.ts
export const HTTP_REQUESTS_TOTAL = 'flowlens_http_requests_total';
export const HTTP_RESPONSES_TOTAL = 'flowlens_http_responses_total';
export const HTTP_REQUEST_DURATION_SECONDS = 'flowlens_http_request_duration_seconds';
export const HTTP_UNMATCHED_MESSAGES_TOTAL = 'flowlens_http_unmatched_messages_total';

// registered in packet-parse.ts
export const MALFORMED_PACKETS_TOTAL = 'flowlens_malformed_packets_total';
export const NON_IP_PACKETS_TOTAL = 'flowlens_non_ip_packets_total';

// registered in datapath-status.ts
export const BPF_MAP_ENTRIES = 'flowlens_bpf_map_entries';
export const BPF_MAP_CAPACITY = 'flowlens_bpf_map_capacity';
export const BPF_MAP_UPDATE_ERRORS_TOTAL = 'flowlens_bpf_map_update_errors_total';
export const EVENTS_LOST_TOTAL = 'flowlens_events_lost_total';
export const BPF_PROGRAM_RUNS_TOTAL = 'flowlens_bpf_program_runs_total';
export const BPF_PROGRAM_RUN_SECONDS_TOTAL = 'flowlens_bpf_program_run_seconds_total';
export const ATTACHED_INTERFACES = 'flowlens_attached_interfaces';

// registered in identity-sources.ts
export const IDENTITIES = 'flowlens_identities';
export const IDENTITY_SOURCE_UP = 'flowlens_identity_source_up';
export const IDENTITY_RELOAD_FAILURES_TOTAL = 'flowlens_identity_reload_failures_total';
export const IDENTITY_WATCH_RESTARTS_TOTAL = 'flowlens_identity_watch_restarts_total';
export const IDENTITY_LAST_SYNC_TIMESTAMP_SECONDS = 'flowlens_identity_last_sync_timestamp_seconds';

// registered in series-limited.ts
export const SERIES_LIMITED_TOTAL = 'flowlens_series_limited_total';

// registered in flow-store.ts
export const FLOW_STORE_RECORDS = 'flowlens_flow_store_records';
export const FLOW_STORE_CAPACITY = 'flowlens_flow_store_capacity';
export const FLOW_STORE_MEMORY_BYTES = 'flowlens_flow_store_memory_bytes';
export const FLOW_STORE_RECORDS_TOTAL = 'flowlens_flow_store_records_total';
export const FLOW_STORE_EVICTED_TOTAL = 'flowlens_flow_store_evicted_total';
export const FLOW_STREAMS = 'flowlens_flow_streams';
export const FLOW_STREAM_SKIPPED_TOTAL = 'flowlens_flow_stream_skipped_total';

// registered in event-reader.ts
export const EVENT_READER_IDLE = 'flowlens_event_reader_idle';

// registered in spans.ts
export const SPANS_DROPPED_TOTAL = 'flowlens_spans_dropped_total';
export const SPANS_EXPORTED_TOTAL = 'flowlens_spans_exported_total';
export const FLOW_LOGS_DROPPED_TOTAL = 'flowlens_flow_logs_dropped_total';
export const FLOW_LOGS_EXPORTED_TOTAL = 'flowlens_flow_logs_exported_total';
