// Every PromQL query the dashboards run, kept apart from their layout
// (dashboards/src/dashboards.ts). Selectors come from the one alerts config,
// so rules and dashboards read the same series.

import { DEFAULT_CONFIG, type AlertsConfig } from '../../alerts/src/config.js';
import { ATTACHED_INTERFACES, BPF_MAP_CAPACITY, BPF_MAP_ENTRIES, BPF_MAP_UPDATE_ERRORS_TOTAL, BPF_PROGRAM_RUNS_TOTAL, BPF_PROGRAM_RUN_SECONDS_TOTAL, BUILD_INFO, BYTES_TOTAL, DNS_QUERIES_TOTAL, DNS_RESPONSES_TOTAL, DNS_RESPONSE_DURATION_SECONDS, DROPS_TOTAL, EVENTS_LOST_TOTAL, FLOWS_TOTAL, HTTP_REQUESTS_TOTAL, HTTP_REQUEST_DURATION_SECONDS, HTTP_RESPONSES_TOTAL, IDENTITIES, IDENTITY_SOURCE_UP, MALFORMED_PACKETS_TOTAL, PACKETS_TOTAL, SERIES_LIMITED_TOTAL, SPANS_DROPPED_TOTAL, TCP_CONNECTION_ATTEMPTS_TOTAL, UNKNOWN_SOURCE_FLOWS_TOTAL } from '../../src/metrics/names.js';

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
  variableClusters = (): string => `label_values(${BUILD_INFO}{${this.job}}, cluster)`;
  variableNodes = (): string => `label_values(${BUILD_INFO}{${this.job}, cluster=~"$cluster"}, ${this.node})`;
  variableNamespaces = (): string => `label_values(${FLOWS_TOTAL}${this.scope()}, destination_namespace)`;
  variableWorkloads = (): string =>
    `label_values(${FLOWS_TOTAL}${this.scope('destination_namespace=~"$namespace"')}, destination_workload)`;

  // ── flows ──
  flowsByVerdict = (): string => `sum by (verdict) (rate(${FLOWS_TOTAL}${this.dst()}[${RATE}]))`;
  packetsByVerdict = (): string => `sum by (verdict) (rate(${PACKETS_TOTAL}${this.dst()}[${RATE}]))`;
  topTalkers = (): string => `topk(10, sum by (${this.edge}) (rate(${BYTES_TOTAL}${this.dst()}[${RATE}])))`;
  unknownSources = (): string =>
    `sum by (destination_namespace, destination_workload, source_class, verdict) (rate(${UNKNOWN_SOURCE_FLOWS_TOTAL}${this.dst()}[${RATE}]))`;
  connectionOutcomes = (): string => `sum by (outcome) (rate(${TCP_CONNECTION_ATTEMPTS_TOTAL}${this.dst()}[${RATE}]))`;

  /** One frame of edges for the Node Graph panel: id, source, target, mainstat, color (dropped edges red). */
  serviceMapEdges = (): string => {
    const sum = (verdict: string): string =>
      `sum by (${this.edge}, verdict) (rate(${FLOWS_TOTAL}${this.dst(`verdict="${verdict}"`)}[${RATE}]))`;
    const colored = `label_replace(${sum('forwarded')}, "color", "green", "", "") or label_replace(${sum('dropped')}, "color", "red", "", "")`;
    const ends = `label_join(label_join(${colored}, "source", "/", "source_namespace", "source_workload"), "target", "/", "destination_namespace", "destination_workload")`;
    return `label_join(${ends}, "id", " ", "source", "target", "verdict")`;
  };

  // ── drops ──
  dropsByReasonClass = (): string => `sum by (reason_class) (rate(${DROPS_TOTAL}${this.dst()}[${RATE}]))`;
  dropsByReason = (): string => `sum by (reason) (rate(${DROPS_TOTAL}${this.dst()}[${RATE}]))`;
  dropsByEdge = (): string => `topk(20, sum by (${this.edge}, reason_class) (rate(${DROPS_TOTAL}${this.dst()}[${RATE}])))`;
  policyDrops = (): string =>
    `sum by (${this.edge}, reason, protocol, direction) (increase(${DROPS_TOTAL}${this.dst('reason_class="policy"')}[$__range])) > 0`;

  // ── DNS ──
  dnsQueriesByQtype = (): string => `sum by (qtype) (rate(${DNS_QUERIES_TOTAL}${this.src()}[${RATE}]))`;
  dnsResponsesByRcode = (): string => `sum by (rcode) (rate(${DNS_RESPONSES_TOTAL}${this.src()}[${RATE}]))`;
  dnsErrorRatio = (): string =>
    `sum(rate(${DNS_RESPONSES_TOTAL}${this.src(`rcode!="${this.config.values.rcodeNoerror}"`)}[${RATE}])) / sum(rate(${DNS_RESPONSES_TOTAL}${this.src()}[${RATE}]))`;
  dnsLatencyHeatmap = (): string => `sum by (le) (rate(${DNS_RESPONSE_DURATION_SECONDS}_bucket${this.src()}[${RATE}]))`;
  dnsTopFailingClients = (): string =>
    `topk(10, sum by (source_namespace, source_workload, rcode) (rate(${DNS_RESPONSES_TOTAL}${this.src(
      `rcode=~"${this.config.values.rcodeServfail}|${this.config.values.rcodeNxdomain}"`,
    )}[${RATE}])))`;

  // ── HTTP ──
  httpRequestsByEdge = (): string => `sum by (${this.edge}) (rate(${HTTP_REQUESTS_TOTAL}${this.src()}[${RATE}]))`;
  httpErrorRatio = (): string =>
    `sum(rate(${HTTP_RESPONSES_TOTAL}${this.src(`status=~"${this.config.values.httpServerErrorStatus}"`)}[${RATE}])) / sum(rate(${HTTP_RESPONSES_TOTAL}${this.src()}[${RATE}]))`;
  httpErrorRatioByEdge = (): string =>
    `sum by (${this.edge}) (rate(${HTTP_RESPONSES_TOTAL}${this.src(`status=~"${this.config.values.httpServerErrorStatus}"`)}[${RATE}])) / sum by (${this.edge}) (rate(${HTTP_RESPONSES_TOTAL}${this.src()}[${RATE}]))`;
  httpLatency = (quantile: number): string =>
    `histogram_quantile(${quantile}, sum by (${this.edge}, le) (rate(${HTTP_REQUEST_DURATION_SECONDS}_bucket${this.src()}[${RATE}])))`;
  httpResponsesByStatusClass = (): string =>
    `sum by (status_class) (rate(${HTTP_REQUEST_DURATION_SECONDS}_count${this.src()}[${RATE}]))`;

  // ── flowlens itself ──
  up = (): string => `up${this.scope()}`;
  attachedInterfaces = (): string => `sum by (${this.node}) (${ATTACHED_INTERFACES}${this.scope()})`;
  eventsLost = (): string => `sum by (${this.node}, source, reason) (rate(${EVENTS_LOST_TOTAL}${this.scope()}[${RATE}]))`;
  mapPressure = (): string =>
    `max by (${this.node}, map) (${BPF_MAP_ENTRIES}${this.scope()} / ${BPF_MAP_CAPACITY}${this.scope()})`;
  mapUpdateErrors = (): string => `sum by (${this.node}, map) (rate(${BPF_MAP_UPDATE_ERRORS_TOTAL}${this.scope()}[${RATE}]))`;
  programNsPerRun = (): string =>
    `sum by (${this.node}, program) (rate(${BPF_PROGRAM_RUN_SECONDS_TOTAL}${this.scope()}[${RATE}])) / sum by (${this.node}, program) (rate(${BPF_PROGRAM_RUNS_TOTAL}${this.scope()}[${RATE}])) * 1e9`;
  seriesLimited = (): string => `sum by (${this.node}, family) (rate(${SERIES_LIMITED_TOTAL}${this.scope()}[${RATE}]))`;
  identitySources = (): string => `min by (${this.node}, source) (${IDENTITY_SOURCE_UP}${this.scope()})`;
  identities = (): string => `max by (source) (${IDENTITIES}${this.scope()})`;
  spansDropped = (): string => `sum by (${this.node}) (rate(${SPANS_DROPPED_TOTAL}${this.scope()}[${RATE}]))`;
  malformedPackets = (): string => `sum by (reason) (rate(${MALFORMED_PACKETS_TOTAL}${this.scope()}[${RATE}]))`;
  residentMemory = (): string => `process_resident_memory_bytes${this.scope()}`;
  cpu = (): string => `rate(process_cpu_seconds_total${this.scope()}[${RATE}])`;
}
