// Every PromQL query the dashboards run, kept apart from their layout
// (dashboards/src/dashboards.ts). Selectors come from the one alerts config,
// so rules and dashboards read the same series.

import { DEFAULT_CONFIG, type AlertsConfig } from '../../alerts/src/config.js';

/** Grafana's rate window: at least four scrape intervals, whatever the zoom. */
export const RATE = '$__rate_interval';

export class Queries {
  readonly node: string;
  private readonly job: string;

  constructor(private readonly config: AlertsConfig = DEFAULT_CONFIG) {
    this.node = config.nodeLabel;
    this.job = config.selector;
  }

  /** Series of this cluster and node selection. */
  scope(extra = ''): string {
    return `{${[this.job, 'cluster=~"$cluster"', `${this.node}=~"$node"`, extra].filter(Boolean).join(', ')}}`;
  }

  /** Flow families filtered by the destination workload (who receives). */
  dst(extra = ''): string {
    return this.scope(['destination_namespace=~"$namespace"', 'destination_workload=~"$workload"', extra].filter(Boolean).join(', '));
  }

  /** DNS and HTTP filtered by the client (source) workload. */
  src(extra = ''): string {
    return this.scope(['source_namespace=~"$namespace"', 'source_workload=~"$workload"', extra].filter(Boolean).join(', '));
  }

  readonly edge = 'source_namespace, source_workload, destination_namespace, destination_workload';

  // ── variables (label_values() selectors are checked like any query) ──
  variableClusters = (): string => `label_values(flowlens_build_info{${this.job}}, cluster)`;
  variableNodes = (): string => `label_values(flowlens_build_info{${this.job}, cluster=~"$cluster"}, ${this.node})`;
  variableNamespaces = (): string => `label_values(flowlens_flows_total${this.scope()}, destination_namespace)`;
  variableWorkloads = (): string =>
    `label_values(flowlens_flows_total${this.scope('destination_namespace=~"$namespace"')}, destination_workload)`;

  // ── flows ──
  flowsByVerdict = (): string => `sum by (verdict) (rate(flowlens_flows_total${this.dst()}[${RATE}]))`;
  packetsByVerdict = (): string => `sum by (verdict) (rate(flowlens_packets_total${this.dst()}[${RATE}]))`;
  topTalkers = (): string => `topk(10, sum by (${this.edge}) (rate(flowlens_bytes_total${this.dst()}[${RATE}])))`;
  unknownSources = (): string =>
    `sum by (destination_namespace, destination_workload, source_class, verdict) (rate(flowlens_unknown_source_flows_total${this.dst()}[${RATE}]))`;
  connectionOutcomes = (): string => `sum by (outcome) (rate(flowlens_tcp_connection_attempts_total${this.dst()}[${RATE}]))`;

  /** One frame of edges for the Node Graph panel: id, source, target, mainstat, color (dropped edges red). */
  serviceMapEdges = (): string => {
    const sum = (verdict: string): string =>
      `sum by (${this.edge}, verdict) (rate(flowlens_flows_total${this.dst(`verdict="${verdict}"`)}[${RATE}]))`;
    const colored = `label_replace(${sum('forwarded')}, "color", "green", "", "") or label_replace(${sum('dropped')}, "color", "red", "", "")`;
    const ends = `label_join(label_join(${colored}, "source", "/", "source_namespace", "source_workload"), "target", "/", "destination_namespace", "destination_workload")`;
    return `label_join(${ends}, "id", " ", "source", "target", "verdict")`;
  };

  // ── drops ──
  dropsByReasonClass = (): string => `sum by (reason_class) (rate(flowlens_drops_total${this.dst()}[${RATE}]))`;
  dropsByReason = (): string => `sum by (reason) (rate(flowlens_drops_total${this.dst()}[${RATE}]))`;
  dropsByEdge = (): string => `topk(20, sum by (${this.edge}, reason_class) (rate(flowlens_drops_total${this.dst()}[${RATE}])))`;
  policyDrops = (): string =>
    `sum by (${this.edge}, reason, protocol, direction) (increase(flowlens_drops_total${this.dst('reason_class="policy"')}[$__range])) > 0`;

  // ── DNS ──
  dnsQueriesByQtype = (): string => `sum by (qtype) (rate(flowlens_dns_queries_total${this.src()}[${RATE}]))`;
  dnsResponsesByRcode = (): string => `sum by (rcode) (rate(flowlens_dns_responses_total${this.src()}[${RATE}]))`;
  dnsErrorRatio = (): string =>
    `sum(rate(flowlens_dns_responses_total${this.src(`rcode!="${this.config.values.rcodeNoerror}"`)}[${RATE}])) / sum(rate(flowlens_dns_responses_total${this.src()}[${RATE}]))`;
  dnsLatencyHeatmap = (): string => `sum by (le) (rate(flowlens_dns_response_duration_seconds_bucket${this.src()}[${RATE}]))`;
  dnsTopFailingClients = (): string =>
    `topk(10, sum by (source_namespace, source_workload, rcode) (rate(flowlens_dns_responses_total${this.src(
      `rcode=~"${this.config.values.rcodeServfail}|${this.config.values.rcodeNxdomain}"`,
    )}[${RATE}])))`;

  // ── HTTP ──
  httpRequestsByEdge = (): string => `sum by (${this.edge}) (rate(flowlens_http_requests_total${this.src()}[${RATE}]))`;
  httpErrorRatio = (): string =>
    `sum(rate(flowlens_http_responses_total${this.src(`status=~"${this.config.values.httpServerErrorStatus}"`)}[${RATE}])) / sum(rate(flowlens_http_responses_total${this.src()}[${RATE}]))`;
  httpErrorRatioByEdge = (): string =>
    `sum by (${this.edge}) (rate(flowlens_http_responses_total${this.src(`status=~"${this.config.values.httpServerErrorStatus}"`)}[${RATE}])) / sum by (${this.edge}) (rate(flowlens_http_responses_total${this.src()}[${RATE}]))`;
  httpLatency = (quantile: number): string =>
    `histogram_quantile(${quantile}, sum by (${this.edge}, le) (rate(flowlens_http_request_duration_seconds_bucket${this.src()}[${RATE}])))`;
  httpResponsesByStatusClass = (): string =>
    `sum by (status_class) (rate(flowlens_http_request_duration_seconds_count${this.src()}[${RATE}]))`;

  // ── flowlens itself ──
  up = (): string => `up${this.scope()}`;
  attachedInterfaces = (): string => `sum by (${this.node}) (flowlens_attached_interfaces${this.scope()})`;
  eventsLost = (): string => `sum by (${this.node}, source, reason) (rate(flowlens_events_lost_total${this.scope()}[${RATE}]))`;
  mapPressure = (): string =>
    `max by (${this.node}, map) (flowlens_bpf_map_entries${this.scope()} / flowlens_bpf_map_capacity${this.scope()})`;
  mapUpdateErrors = (): string => `sum by (${this.node}, map) (rate(flowlens_bpf_map_update_errors_total${this.scope()}[${RATE}]))`;
  programNsPerRun = (): string =>
    `sum by (${this.node}, program) (rate(flowlens_bpf_program_run_seconds_total${this.scope()}[${RATE}])) / sum by (${this.node}, program) (rate(flowlens_bpf_program_runs_total${this.scope()}[${RATE}])) * 1e9`;
  seriesLimited = (): string => `sum by (${this.node}, family) (rate(flowlens_series_limited_total${this.scope()}[${RATE}]))`;
  identitySources = (): string => `min by (${this.node}, source) (flowlens_identity_source_up${this.scope()})`;
  identities = (): string => `max by (source) (flowlens_identities${this.scope()})`;
  spansDropped = (): string => `sum by (${this.node}) (rate(flowlens_spans_dropped_total${this.scope()}[${RATE}]))`;
  malformedPackets = (): string => `sum by (reason) (rate(flowlens_malformed_packets_total${this.scope()}[${RATE}]))`;
  residentMemory = (): string => `process_resident_memory_bytes${this.scope()}`;
  cpu = (): string => `rate(process_cpu_seconds_total${this.scope()}[${RATE}])`;
}
