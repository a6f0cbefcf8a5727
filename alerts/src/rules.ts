// Every recording rule and alert flowlens ships, built from one config
// (alerts/src/config.ts). `make alerts` writes them as a Prometheus rule file
// and as the chart's PrometheusRule (alerts/src/main.ts).

import type { AlertsConfig, LabelSet } from './config.js';
import { BPF_MAP_CAPACITY, BPF_MAP_ENTRIES, BPF_MAP_UPDATE_ERRORS_TOTAL, DNS_QUERIES_TOTAL, DNS_RESPONSES_TOTAL, DROPS_TOTAL, EVENTS_LOST_TOTAL, FLOWS_TOTAL, HTTP_REQUEST_DURATION_SECONDS, HTTP_RESPONSES_TOTAL, IDENTITY_SOURCE_UP, FLOW_LOGS_DROPPED_TOTAL, SERIES_LIMITED_TOTAL, SPANS_DROPPED_TOTAL, TCP_FLAGS_TOTAL, TCP_RETRANSMITS_TOTAL, UNKNOWN_SOURCE_FLOWS_TOTAL } from '../../src/metrics/names.js';

/** critical pages someone now; warning goes to a work queue; info is context for other alerts. */
export type Severity = 'critical' | 'warning' | 'info';

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: Severity };
  annotations: { summary: string; description: string; runbook_url: string };
}

export interface RecordingRule {
  record: string;
  expr: string;
}

export type Rule = AlertRule | RecordingRule;

export interface RuleGroup {
  name: string;
  rules: Rule[];
}

export function isAlert(rule: Rule): rule is AlertRule {
  return 'alert' in rule;
}

/** The anchor GitHub gives a runbook heading `## Name`. */
export function runbookUrl(config: AlertsConfig, alert: string): string {
  return `${config.runbookBaseUrl}#${alert.toLowerCase()}`;
}

export function buildRuleGroups(config: AlertsConfig): RuleGroup[] {
  const c = config;
  const w = c.rateWindow;
  const b = c.baselineWindow;
  /** `[1d] offset 1h`: the range of a baseline. */
  const past = `[${b}] offset ${c.baselineOffset}`;
  const node = c.nodeLabel;
  const SRC = c.edgeContexts.map((x) => `source_${x}`);
  const DST = c.edgeContexts.map((x) => `destination_${x}`);
  const EDGE = [...SRC, ...DST];
  // Every aggregation and every vector match keeps the cluster label, so that
  // one Prometheus can hold several clusters without adding them together.
  const by = (labels: readonly string[]): string => `by (${[c.clusterLabel, ...labels].join(', ')})`;
  const on = (labels: readonly string[]): string => `on (${[c.clusterLabel, ...labels].join(', ')})`;
  /** A ratio threshold as Prometheus prints it in a description (`0.05` -> `5%`), so the number stays a plain token of the config. */
  const percent = (ratio: number): string => `{{ ${ratio} | humanizePercentage }}`;
  /** A flowlens series selector: the scrape selector plus extra matchers. */
  const s = (metric: string, matchers = ''): string => `${metric}{${[c.selector, matchers].filter(Boolean).join(', ')}}`;
  const src = SRC.map((l) => `{{ $labels.${l} }}`).join('/');
  const dst = DST.map((l) => `{{ $labels.${l} }}`).join('/');
  const alert = (
    name: string,
    severity: Severity,
    forDuration: string,
    expr: string,
    summary: string,
    description: string,
  ): AlertRule => ({
    alert: name,
    expr,
    for: forDuration,
    labels: { severity },
    annotations: { summary, description, runbook_url: runbookUrl(c, name) },
  });

  // ── recording rules: baselines and the dashboards' heavy queries ──
  const edgeFlows = `edge:flowlens_flows:rate${w}`;
  const edgeRecords: RecordingRule[] = [
    { record: edgeFlows, expr: `sum ${by([...EDGE, 'verdict'])} (rate(${s(FLOWS_TOTAL)}[${w}]))` },
    { record: `${edgeFlows}:avg${b}`, expr: `avg_over_time(${edgeFlows}${past})` },
    { record: `${edgeFlows}:stddev${b}`, expr: `stddev_over_time(${edgeFlows}${past})` },
    {
      record: `${edgeFlows}:zscore${b}`,
      expr: `(${edgeFlows} - ${edgeFlows}:avg${b}) / ${edgeFlows}:stddev${b}`,
    },
  ];
  const fanout = `source:flowlens_flow_destinations:count${w}`;
  const fanoutRecords: RecordingRule[] = [
    {
      record: fanout,
      expr:
        `count ${by(SRC)} (sum ${by([...SRC, ...DST, 'destination_port'])} ` +
        `(increase(${s(FLOWS_TOTAL)}[${w}])) > 0)`,
    },
    { record: `${fanout}:avg${b}`, expr: `avg_over_time(${fanout}${past})` },
  ];
  const dnsResponsesBySource = `source:flowlens_dns_responses:rate${w}`;
  const nxdomainRatio = `source:flowlens_dns_nxdomain:ratio_rate${w}`;
  const dnsRecords: RecordingRule[] = [
    { record: dnsResponsesBySource, expr: `sum ${by(SRC)} (rate(${s(DNS_RESPONSES_TOTAL)}[${w}]))` },
    {
      // A source without a single NXDOMAIN has ratio 0, not no ratio, so its baseline exists.
      record: nxdomainRatio,
      expr:
        `(sum ${by(SRC)} (rate(${s(DNS_RESPONSES_TOTAL, `rcode="${c.values.rcodeNxdomain}"`)}[${w}])) ` +
        `or 0 * ${dnsResponsesBySource}) / ${dnsResponsesBySource}`,
    },
    { record: `${nxdomainRatio}:avg${b}`, expr: `avg_over_time(${nxdomainRatio}${past})` },
    { record: `edge:flowlens_dns_queries:rate${w}`, expr: `sum ${by(EDGE)} (rate(${s(DNS_QUERIES_TOTAL)}[${w}]))` },
    { record: `edge:flowlens_dns_responses:rate${w}`, expr: `sum ${by(EDGE)} (rate(${s(DNS_RESPONSES_TOTAL)}[${w}]))` },
    {
      // Unanswered queries count as failures too: queries minus responses, never below 0.
      record: `edge:flowlens_dns_failures:ratio_rate${w}`,
      expr:
        `((sum ${by(EDGE)} (rate(${s(DNS_RESPONSES_TOTAL, `rcode="${c.values.rcodeServfail}"`)}[${w}])) ` +
        `or 0 * edge:flowlens_dns_queries:rate${w}) ` +
        `+ clamp_min(edge:flowlens_dns_queries:rate${w} - (edge:flowlens_dns_responses:rate${w} or 0 * edge:flowlens_dns_queries:rate${w}), 0)) ` +
        `/ edge:flowlens_dns_queries:rate${w}`,
    },
  ];
  const httpRecords: RecordingRule[] = [
    { record: `edge:flowlens_http_responses:rate${w}`, expr: `sum ${by(EDGE)} (rate(${s(HTTP_RESPONSES_TOTAL)}[${w}]))` },
    {
      record: `edge:flowlens_http_server_errors:ratio_rate${w}`,
      expr:
        `(sum ${by(EDGE)} (rate(${s(HTTP_RESPONSES_TOTAL, `status=~"${c.values.httpServerErrorStatus}"`)}[${w}])) ` +
        `or 0 * edge:flowlens_http_responses:rate${w}) / edge:flowlens_http_responses:rate${w}`,
    },
    ...[0.5, 0.99].map((q) => ({
      record: `edge:flowlens_http_request_duration_seconds:p${q * 100}_rate${w}`,
      expr: `histogram_quantile(${q}, sum ${by([...EDGE, 'le'])} (rate(${s(`${HTTP_REQUEST_DURATION_SECONDS}_bucket`)}[${w}])))`,
    })),
  ];
  const tcpRecords: RecordingRule[] = [
    { record: `edge:flowlens_tcp_resets:rate${w}`, expr: `sum ${by(EDGE)} (rate(${s(TCP_FLAGS_TOTAL, 'flag="rst"')}[${w}]))` },
    { record: `edge:flowlens_tcp_resets:rate${w}:avg${b}`, expr: `avg_over_time(edge:flowlens_tcp_resets:rate${w}${past})` },
    { record: `edge:flowlens_tcp_retransmits:rate${w}`, expr: `sum ${by(EDGE)} (rate(${s(TCP_RETRANSMITS_TOTAL)}[${w}]))` },
    {
      record: `edge:flowlens_tcp_retransmits:rate${w}:avg${b}`,
      expr: `avg_over_time(edge:flowlens_tcp_retransmits:rate${w}${past})`,
    },
  ];

  // ── security: the two pages users asked for (policy drops, unknown sources
  // into private workloads) are critical; the heuristics go to the work queue ──
  const sec = c.security;
  // Both ends unknown (world to world, as the host-wide drop tracer sees it) is not about a workload.
  const toWorkload = `destination_workload!~"reserved:(world|unmanaged)"`;
  const unknownNew =
    `sum ${by([...DST, 'source_class'])} (increase(${s(UNKNOWN_SOURCE_FLOWS_TOTAL, toWorkload)}[${w}])) > 0 ` +
    `or sum ${by([...DST, 'source_class'])} (${s(UNKNOWN_SOURCE_FLOWS_TOTAL, toWorkload)} unless ${s(UNKNOWN_SOURCE_FLOWS_TOTAL, toWorkload)} offset ${w})`;
  const publicFacing = c.publicFacing.map((set) => publicFacingClause(c, matchers(set))).join('');
  const security: AlertRule[] = [
    alert(
      'FlowlensPolicyDropBurst',
      'critical',
      sec.policyDropsFor,
      `sum ${by(DST)} (rate(${s(DROPS_TOTAL, `reason_class="policy", ${toWorkload}`)}[${w}])) > ${sec.policyDropsPerSecond}`,
      'Network policy is dropping a burst of packets towards a workload.',
      `{{ printf "%.3g" $value }} packets/s towards ${dst} are being dropped by policy (threshold ${sec.policyDropsPerSecond}/s).`,
    ),
    alert(
      PUBLIC_FACING_ALERT,
      'critical',
      sec.unknownSourceFor,
      `(${unknownNew})${publicFacing}`,
      'A workload that is not public-facing received connections from an unknown source.',
      `${dst} received {{ printf "%.3g" $value }} new flows from {{ $labels.source_class }} sources in the last ${w}; it is not declared public-facing.`,
    ),
    alert(
      'FlowlensNewEdge',
      'warning',
      sec.newEdgeFor,
      `${edgeFlows}{verdict="forwarded"} unless ${on(EDGE)} max_over_time(${edgeFlows}{verdict="forwarded"}[${sec.newEdgeLearningWindow}] offset ${sec.newEdgeAlertWindow}) ` +
        `and ${on([])} count ${by([])} (${edgeFlows} offset ${sec.newEdgeMinHistory}) > 0`,
      'Two identities that never talked before started talking.',
      `${src} started talking to ${dst} ({{ printf "%.3g" $value }} new flows/s); this pair was not seen in the ${sec.newEdgeLearningWindow} before.`,
    ),
    alert(
      'FlowlensDestinationFanout',
      'warning',
      sec.fanoutFor,
      `${fanout} > ${sec.fanoutFactor} * ${fanout}:avg${b} and ${fanout} >= ${sec.fanoutMinDestinations}`,
      'One identity suddenly contacts far more destinations than it usually does (scanning).',
      `${src} contacted {{ $value }} distinct destinations (workload and port) in the last ${w}, more than ${sec.fanoutFactor} times its ${b} average.`,
    ),
    alert(
      'FlowlensDnsNxdomainSpike',
      'warning',
      sec.nxdomainFor,
      `${nxdomainRatio} > ${sec.nxdomainFactor} * ${nxdomainRatio}:avg${b} and ${nxdomainRatio} > ${sec.nxdomainMinRatio} ` +
        `and ${dnsResponsesBySource} > ${sec.nxdomainMinResponsesPerSecond}`,
      'One identity gets far more NXDOMAIN answers than it usually does.',
      `{{ $value | humanizePercentage }} of the DNS answers to ${src} are NXDOMAIN, more than ${sec.nxdomainFactor} times its ${b} average.`,
    ),
  ];

  // ── abnormal but not hostile: work queue ──
  const ab = c.abnormal;
  const abnormal: AlertRule[] = [
    alert(
      'FlowlensEdgeConnectionRateAnomaly',
      'warning',
      ab.connectionRateFor,
      `abs(${edgeFlows}:zscore${b}) > ${ab.connectionRateZScore} ` +
        `and (${edgeFlows} > ${ab.connectionRateMinPerSecond} or ${edgeFlows}:avg${b} > ${ab.connectionRateMinPerSecond})`,
      'The connection rate of an edge is far outside its own baseline.',
      `The rate of {{ $labels.verdict }} flows from ${src} to ${dst} is {{ printf "%.3g" $value }} standard deviations from its ${b} average.`,
    ),
    alert(
      'FlowlensHttpServerErrors',
      'warning',
      ab.httpFor,
      `edge:flowlens_http_server_errors:ratio_rate${w} > ${ab.httpServerErrorRatio} ` +
        `and edge:flowlens_http_responses:rate${w} > ${ab.httpMinResponsesPerSecond}`,
      'An edge has a high ratio of HTTP 5xx responses.',
      `{{ $value | humanizePercentage }} of the HTTP responses from ${dst} to ${src} are 5xx (threshold ${percent(ab.httpServerErrorRatio)}).`,
    ),
    alert(
      'FlowlensDnsFailures',
      'warning',
      ab.dnsFor,
      `edge:flowlens_dns_failures:ratio_rate${w} > ${ab.dnsFailureRatio} and edge:flowlens_dns_queries:rate${w} > ${ab.dnsMinQueriesPerSecond}`,
      'DNS queries of an edge fail (SERVFAIL or no answer).',
      `{{ $value | humanizePercentage }} of the DNS queries from ${src} to ${dst} got SERVFAIL or no answer (threshold ${percent(ab.dnsFailureRatio)}).`,
    ),
    ...(
      [
        ['FlowlensTcpResetsRising', 'resets', 'TCP resets on an edge are rising.', 'TCP resets'],
        ['FlowlensTcpRetransmitsRising', 'retransmits', 'TCP retransmits on an edge are rising.', 'TCP retransmits'],
      ] as const
    ).map(([name, what, summary, noun]) =>
      alert(
        name,
        'warning',
        ab.tcpFor,
        `edge:flowlens_tcp_${what}:rate${w} > ${ab.tcpRiseFactor} * edge:flowlens_tcp_${what}:rate${w}:avg${b} ` +
          `and edge:flowlens_tcp_${what}:rate${w} > ${ab.tcpMinPerSecond}`,
        summary,
        `${noun} between ${src} and ${dst} run at {{ printf "%.3g" $value }}/s, more than ${ab.tcpRiseFactor} times their ${b} average.`,
      ),
    ),
  ];

  // ── flowlens itself ──
  const h = c.health;
  const nodeRef = `{{ $labels.${node} }}`;
  const health: AlertRule[] = [
    alert(
      'FlowlensExporterDown',
      'warning',
      h.exporterDownFor,
      `${s('up')} == 0`,
      'A flowlens exporter is not answering scrapes.',
      `flowlens on ${nodeRef} has not answered scrapes for ${h.exporterDownFor}: traffic on this node is not observed and its security alerts cannot fire.`,
    ),
    // Judged from the DaemonSet (kube-state-metrics), not from vanished
    // targets: a node that is scaled down lowers the desired count too, so it
    // never looks like a missing exporter.
    alert(
      'FlowlensExporterAbsent',
      'warning',
      h.exporterAbsentFor,
      `max ${by(['namespace', 'daemonset'])} (kube_daemonset_status_desired_number_scheduled{${c.daemonSetSelector}}) ` +
        `- max ${by(['namespace', 'daemonset'])} (kube_daemonset_status_number_ready{${c.daemonSetSelector}}) > 0`,
      'Nodes that should run a flowlens exporter have none ready.',
      `{{ $value }} of the nodes DaemonSet {{ $labels.namespace }}/{{ $labels.daemonset }} should run on have no ready flowlens exporter: traffic on them is not observed and their security alerts cannot fire.`,
    ),
    alert(
      'FlowlensEventsLost',
      'warning',
      h.eventsLostFor,
      `sum ${by([node, 'source', 'reason'])} (rate(${s(EVENTS_LOST_TOTAL)}[${w}])) > ${h.eventsLostPerSecond}`,
      'flowlens is losing events.',
      `flowlens on ${nodeRef} loses {{ printf "%.3g" $value }} {{ $labels.source }} events/s ({{ $labels.reason }}).`,
    ),
    ...(
      [
        ['info', h.mapPressureInfo],
        ['warning', h.mapPressureWarning],
      ] as const
    ).map(([severity, limit]) =>
      alert(
        'FlowlensBpfMapPressure',
        severity,
        h.mapPressureFor,
        `max ${by([node, 'map'])} (${s(BPF_MAP_ENTRIES)} / ${s(BPF_MAP_CAPACITY)}) > ${limit}`,
        'A flowlens BPF map is nearly full.',
        `BPF map {{ $labels.map }} on ${nodeRef} is {{ $value | humanizePercentage }} full (threshold ${percent(limit)}); when full, new keys are counted under its overflow key, without their identities.`,
      ),
    ),
    alert(
      'FlowlensBpfMapUpdateErrors',
      'warning',
      h.mapUpdateErrorsFor,
      `sum ${by([node, 'map'])} (rate(${s(BPF_MAP_UPDATE_ERRORS_TOTAL)}[${w}])) > 0`,
      'A full flowlens BPF map refuses new keys.',
      `BPF map {{ $labels.map }} on ${nodeRef} refuses {{ printf "%.3g" $value }} new keys/s: those packets are not counted by identity pair.`,
    ),
    alert(
      'FlowlensSeriesLimited',
      'warning',
      h.seriesLimitedFor,
      `sum ${by([node, 'family'])} (rate(${s(SERIES_LIMITED_TOTAL)}[${w}])) > 0`,
      'flowlens folds label sets into the overflow series.',
      `{{ $labels.family }} on ${nodeRef} is over metrics.seriesLimit: {{ printf "%.3g" $value }} label sets/s are folded into its overflow series.`,
    ),
    alert(
      'FlowlensIdentitySourceDown',
      'warning',
      h.identitySourceDownFor,
      `${s(IDENTITY_SOURCE_UP)} == 0`,
      'A flowlens identity source is failing.',
      `Identity source {{ $labels.source }} on ${nodeRef} failed its last load: identities may be stale, and new workloads show as world or unmanaged.`,
    ),
    alert(
      'FlowlensSpansDropped',
      'warning',
      h.spansDroppedFor,
      `sum ${by([node])} (rate(${s(SPANS_DROPPED_TOTAL)}[${w}])) > 0`,
      'flowlens drops spans.',
      `flowlens on ${nodeRef} drops {{ printf "%.3g" $value }} spans/s before export.`,
    ),
    alert(
      'FlowlensFlowLogsDropped',
      'warning',
      h.flowLogsDroppedFor,
      `sum ${by([node])} (rate(${s(FLOW_LOGS_DROPPED_TOTAL)}[${w}])) > 0`,
      'flowlens drops flow logs.',
      `flowlens on ${nodeRef} drops {{ printf "%.3g" $value }} flow records/s before their export as OTLP log records.`,
    ),
    alert(
      'FlowlensNoFlows',
      'warning',
      h.noFlowsFor,
      `max ${by([node])} (${s('up')}) == 1 unless ${on([node])} (sum ${by([node])} (increase(${s(FLOWS_TOTAL)}[${h.noFlowsWindow}])) > 0)`,
      'A flowlens exporter sees no flows at all.',
      `flowlens on ${nodeRef} is up but has seen no new flow for ${h.noFlowsWindow} (plus ${h.noFlowsFor} pending): check its attached interfaces.`,
    ),
  ];

  return [
    { name: 'flowlens.records', rules: [...edgeRecords, ...fanoutRecords, ...dnsRecords, ...httpRecords, ...tcpRecords] },
    { name: 'flowlens.security', rules: security },
    { name: 'flowlens.abnormal', rules: abnormal },
    { name: 'flowlens.health', rules: health },
  ];
}

/** The alert whose expression ends in one publicFacingClause per public-facing label set. */
export const PUBLIC_FACING_ALERT = 'FlowlensUnknownSourceToPrivateWorkload';

/**
 * ` unless on (cluster, destination_*) flowlens_unknown_source_flows_total{job="flowlens", <matchers>}`:
 * exempts the destinations that match the matchers from PUBLIC_FACING_ALERT.
 */
export function publicFacingClause(c: AlertsConfig, matcherText: string): string {
  const dst = [c.clusterLabel, ...c.edgeContexts.map((x) => `destination_${x}`)];
  return ` unless on (${dst.join(', ')}) ${UNKNOWN_SOURCE_FLOWS_TOTAL}{${[c.selector, matcherText].filter(Boolean).join(', ')}}`;
}

/** `a="x", b="y"`: exact matchers for a label set, in label-name order (as the chart renders them). */
export function matchers(set: LabelSet): string {
  return Object.entries(set)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
    .join(', ');
}
