// The metrics contract of DESIGN.md ("Metrics contract"): every family it
// names, with its labels beyond the source_*/destination_* contexts. The
// tests check the exporter's registered families, the alert rules and the
// dashboards against this list.

export interface ContractFamily {
  labels: readonly string[];
  /** Carries source_* and destination_* context labels. */
  contexts: boolean;
  histogram?: boolean;
}

export const METRICS_CONTRACT: Readonly<Record<string, ContractFamily>> = {
  flowlens_flows_total: { labels: ['protocol', 'destination_port', 'direction', 'verdict'], contexts: true },
  flowlens_packets_total: { labels: ['protocol', 'direction', 'verdict'], contexts: true },
  flowlens_bytes_total: { labels: ['protocol', 'direction', 'verdict'], contexts: true },
  flowlens_drops_total: { labels: ['reason', 'reason_class', 'protocol', 'direction'], contexts: true },
  flowlens_dns_queries_total: { labels: ['qtype', 'reporter'], contexts: true },
  flowlens_dns_responses_total: { labels: ['qtype', 'rcode', 'reporter'], contexts: true },
  flowlens_dns_response_duration_seconds: { labels: ['qtype', 'rcode', 'reporter'], contexts: true, histogram: true },
  // off by default (dns.queryNames): DESIGN.md's "query names ... limited to a configured suffix list or top-N"
  flowlens_dns_queries_by_name_total: { labels: ['qname', 'qtype', 'rcode', 'reporter'], contexts: true },
  flowlens_http_requests_total: { labels: ['method', 'reporter'], contexts: true },
  flowlens_http_responses_total: { labels: ['method', 'status', 'reporter'], contexts: true },
  flowlens_http_request_duration_seconds: { labels: ['method', 'status_class', 'reporter'], contexts: true, histogram: true },
  flowlens_tcp_flags_total: { labels: ['flag'], contexts: true },
  flowlens_tcp_retransmits_total: { labels: [], contexts: true },
  flowlens_build_info: { labels: [], contexts: false },
  flowlens_bpf_map_entries: { labels: ['map'], contexts: false },
  flowlens_bpf_map_capacity: { labels: ['map'], contexts: false },
  flowlens_events_lost_total: { labels: ['source'], contexts: false },
  flowlens_bpf_program_runs_total: { labels: ['program'], contexts: false },
  flowlens_bpf_program_run_seconds_total: { labels: ['program'], contexts: false },
  flowlens_identities: { labels: ['source'], contexts: false },
  flowlens_identity_source_up: { labels: ['source'], contexts: false },
  flowlens_attached_interfaces: { labels: [], contexts: false },
  flowlens_series_limited_total: { labels: ['family'], contexts: false },
  flowlens_spans_dropped_total: { labels: [], contexts: false },
};

/** Context label names for every configurable context (DESIGN.md: identity, namespace, workload, app, pod). */
export const CONTEXT_LABELS: readonly string[] = ['identity', 'namespace', 'workload', 'app', 'pod'].flatMap((c) => [
  `source_${c}`,
  `destination_${c}`,
]);
