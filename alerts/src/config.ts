// The one place for what an operator tunes: selectors, thresholds, `for:`
// durations, baseline windows and the public-facing declaration. Rules are
// generated from this (alerts/src/rules.ts); expressions never repeat a number
// that lives here. Change a value, then `make alerts` regenerates
// alerts/flowlens.rules.yaml and the chart's PrometheusRule.

/** A set of label matchers on the destination contexts, e.g. { destination_namespace: 'shop', destination_workload: 'frontend' }. */
export type LabelSet = Readonly<Record<string, string>>;

export interface AlertsConfig {
  /** Label matchers every flowlens series carries (the scrape job). */
  selector: string;
  /** Label that tells one node's exporter from another's. */
  nodeLabel: string;
  /**
   * Label that tells one cluster from another when one Prometheus holds
   * several: every aggregation and every vector match keeps it, so no sum adds
   * two clusters together. A series without it aggregates as before.
   */
  clusterLabel: string;
  /**
   * kube-state-metrics matchers that pick flowlens's DaemonSet out of
   * kube_daemonset_status_* (the chart fills in its namespace and name).
   */
  daemonSetSelector: string;
  /** Labels that name one end of an edge: source_* and destination_* of these. */
  edgeContexts: readonly string[];
  /** runbook_url = runbookBaseUrl + '#' + lower-case alert name. */
  runbookBaseUrl: string;
  /**
   * Workloads that may receive connections from world or unmanaged sources.
   * Each entry is a set of exact label values on the destination contexts;
   * a workload matching every label of one entry is public-facing.
   */
  publicFacing: readonly LabelSet[];
  /** Label values the DNS and HTTP families use: rcodes are IANA's mnemonics, status the 3-digit code (a regex here). */
  values: { rcodeNoerror: string; rcodeNxdomain: string; rcodeServfail: string; httpServerErrorStatus: string };
  /** Window of the rates that rules and alerts compare. */
  rateWindow: string;
  /** Window an edge's or identity's own baseline is averaged over... */
  baselineWindow: string;
  /** ...ending this long ago, so an anomaly does not become its own baseline while it is being alerted on. */
  baselineOffset: string;
  security: {
    /** Policy-dropped packets per second towards one workload. */
    policyDropsPerSecond: number;
    policyDropsFor: string;
    /** Any new flow from world/unmanaged into a non-public workload. */
    unknownSourceFor: string;
    /** An identity pair not seen in this window that starts talking... */
    newEdgeLearningWindow: string;
    /** ...is new for this long (then it counts as learnt and the alert resolves). */
    newEdgeAlertWindow: string;
    /** New-edge alerts wait until flowlens has recorded edges for this long, so a fresh install does not page for every edge. */
    newEdgeMinHistory: string;
    newEdgeFor: string;
    /** Distinct destinations (workload and port) one identity contacts per rateWindow, against its own baseline. */
    fanoutFactor: number;
    fanoutMinDestinations: number;
    fanoutFor: string;
    /** NXDOMAIN share of one identity's DNS responses, against its own baseline. */
    nxdomainFactor: number;
    nxdomainMinRatio: number;
    nxdomainMinResponsesPerSecond: number;
    nxdomainFor: string;
  };
  abnormal: {
    /** |z-score| of an edge's connection rate against its own baseline. */
    connectionRateZScore: number;
    connectionRateMinPerSecond: number;
    connectionRateFor: string;
    httpServerErrorRatio: number;
    httpMinResponsesPerSecond: number;
    httpFor: string;
    /** SERVFAIL plus unanswered queries, as a share of queries. */
    dnsFailureRatio: number;
    dnsMinQueriesPerSecond: number;
    dnsFor: string;
    /** TCP resets and retransmits per edge, against their own baseline. */
    tcpRiseFactor: number;
    tcpMinPerSecond: number;
    tcpFor: string;
  };
  health: {
    exporterDownFor: string;
    /** The DaemonSet has fewer ready exporters than nodes it should run on (kube-state-metrics), for this long. */
    exporterAbsentFor: string;
    eventsLostPerSecond: number;
    eventsLostFor: string;
    /** Fill ratio of a BPF map worth knowing about (info)... */
    mapPressureInfo: number;
    /** ...and one that needs a person (warning): beyond it new keys soon go to the overflow key. */
    mapPressureWarning: number;
    mapPressureFor: string;
    mapUpdateErrorsFor: string;
    seriesLimitedFor: string;
    identitySourceDownFor: string;
    spansDroppedFor: string;
    /** How long flow records must be dropped before export (flowLogs.enabled) before alerting. */
    flowLogsDroppedFor: string;
    /** No new flow at all from a node for noFlowsWindow + noFlowsFor. */
    noFlowsWindow: string;
    noFlowsFor: string;
  };
}

export const DEFAULT_CONFIG: AlertsConfig = {
  selector: 'job="flowlens"',
  nodeLabel: 'instance',
  clusterLabel: 'cluster',
  daemonSetSelector: 'daemonset="flowlens"',
  edgeContexts: ['namespace', 'workload'],
  runbookBaseUrl: 'https://github.com/flowlens/flowlens/blob/main/alerts/runbook.md',
  // None by default: every workload counts as private until declared here (or
  // in the chart's prometheusRule.publicFacing). The demo declares its own.
  publicFacing: [],
  values: { rcodeNoerror: 'NOERROR', rcodeNxdomain: 'NXDOMAIN', rcodeServfail: 'SERVFAIL', httpServerErrorStatus: '5..' },
  rateWindow: '5m',
  baselineWindow: '1d',
  baselineOffset: '1h',
  security: {
    policyDropsPerSecond: 1,
    policyDropsFor: '2m',
    unknownSourceFor: '1m',
    newEdgeLearningWindow: '7d',
    newEdgeAlertWindow: '1h',
    newEdgeMinHistory: '1d',
    newEdgeFor: '2m',
    fanoutFactor: 4,
    fanoutMinDestinations: 20,
    fanoutFor: '5m',
    nxdomainFactor: 5,
    nxdomainMinRatio: 0.2,
    nxdomainMinResponsesPerSecond: 0.1,
    nxdomainFor: '10m',
  },
  abnormal: {
    connectionRateZScore: 4,
    connectionRateMinPerSecond: 1,
    connectionRateFor: '15m',
    httpServerErrorRatio: 0.05,
    httpMinResponsesPerSecond: 0.1,
    httpFor: '10m',
    dnsFailureRatio: 0.1,
    dnsMinQueriesPerSecond: 0.1,
    dnsFor: '10m',
    tcpRiseFactor: 3,
    tcpMinPerSecond: 1,
    tcpFor: '15m',
  },
  health: {
    exporterDownFor: '5m',
    exporterAbsentFor: '10m',
    eventsLostPerSecond: 0,
    eventsLostFor: '10m',
    mapPressureInfo: 0.8,
    mapPressureWarning: 0.98,
    mapPressureFor: '10m',
    mapUpdateErrorsFor: '5m',
    seriesLimitedFor: '10m',
    identitySourceDownFor: '5m',
    spansDroppedFor: '10m',
    flowLogsDroppedFor: '10m',
    noFlowsWindow: '5m',
    noFlowsFor: '5m',
  },
};

/** Every `*For` duration of a config section replaced by one value. */
function everyFor<T extends object>(section: T, forDuration: string): T {
  return Object.fromEntries(Object.entries(section).map(([k, v]) => [k, k.endsWith('For') ? forDuration : v])) as T;
}

export interface ShortWindows {
  /** Replaces rateWindow and health.noFlowsWindow. */
  rateWindow: string;
  /** Replaces every `for:` duration. */
  forDuration: string;
}

/**
 * The same rules with short windows and `for:` durations, for places where
 * waiting minutes is not the point: the demo (`make demo`) and the end-to-end
 * tests. Baselines, learning windows and thresholds stay as they are; callers
 * override thresholds by spreading the result.
 */
export function withShortWindows(base: AlertsConfig, short: ShortWindows): AlertsConfig {
  return {
    ...base,
    rateWindow: short.rateWindow,
    security: everyFor(base.security, short.forDuration),
    abnormal: everyFor(base.abnormal, short.forDuration),
    health: { ...everyFor(base.health, short.forDuration), noFlowsWindow: short.rateWindow },
  };
}
