// Rules and dashboards may only name metrics that exist: families the
// exporter registers (its own registry, built as `flowlens run` builds it),
// Prometheus's own `up`, and the recording rules defined in alerts/. A family
// that only the metrics contract (DESIGN.md) or README names does not count:
// an alert on it could never fire. Expressions are parsed with Prometheus's
// PromQL grammar, never matched with regular expressions, and label matchers
// are checked against the family's labels.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/index.js';
import { SuffixFolder } from '../../src/metrics/dns-name-folders.js';
import { DnsQueryNames } from '../../src/metrics/dns-names.js';
import { DEFAULT_CONFIG } from '../../alerts/src/config.js';
import { buildRuleGroups, isAlert } from '../../alerts/src/rules.js';
import { buildDashboards } from '../../dashboards/src/dashboards.js';
import { emptySnapshot, FakeDatapath, FakeIdentities, FakeIdentityStatus } from '../common/metrics-fakes.js';
import { CONTEXT_LABELS, METRICS_CONTRACT } from '../common/metrics-contract.js';
import { dashboardQueries } from '../common/dashboards.js';
import { selectors, substituteGrafanaVariables, syntaxErrors, type Selector } from '../common/promql.js';

/** Labels Prometheus attaches to every scraped series (the target's), not the exporter. */
const TARGET_LABELS = new Set(['job', 'instance', 'cluster', DEFAULT_CONFIG.nodeLabel]);

/** The exporter's own list of families, with their label names. */
function registryOf() {
  return createMetrics({
    config: { contexts: ['identity', 'namespace', 'workload', 'app', 'pod'], seriesLimit: 100, destinationPorts: [] },
    identities: new FakeIdentities(),
    datapath: new FakeDatapath(emptySnapshot()),
    identityStatus: new FakeIdentityStatus(),
    build: { version: '0', node: 'v20' },
    // the exporter always runs with a recent-flow store: its families are part of /metrics
    flowStore: {
      store: () => ({ capacity: 1, records: 0, received: 0, evicted: 0, bytes: 0 }),
      streams: () => 0,
      streamSkipped: () => 0,
    },
    // the running exporter always passes the reader thread's status (run.ts)
    eventReader: () => undefined,
    // off by default, documented like every family: registered here so both lists are complete
    dnsNames: new DnsQueryNames(new SuffixFolder(['example.com']), 100),
  });
}

function exporterFamilies(): Map<string, readonly string[]> {
  const registry = registryOf();
  return new Map(
    registry.getMetricsAsArray().map((m) => [m.name, (m as unknown as { labelNames?: readonly string[] }).labelNames ?? []] as const),
  );
}

/** The exporter's histogram families, whose _bucket, _sum and _count series belong to them. */
async function exporterHistograms(): Promise<Set<string>> {
  return new Set((await registryOf().getMetricsAsJSON()).filter((m) => String(m.type) === 'histogram').map((m) => m.name));
}

/** Family names in README's metrics reference table (first column, back-quoted). */
function readmeFamilies(): Set<string> {
  const readme = readFileSync('README.md', 'utf8');
  const start = readme.indexOf('## Metrics reference');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const names = new Set<string>();
  for (const line of section.split('\n')) {
    if (!line.startsWith('| `')) continue;
    for (const m of line.split('|')[1]!.matchAll(/`([a-z_:]+)`/g)) names.add(m[1]!);
  }
  return names;
}

const exporter = exporterFamilies();
const histograms = await exporterHistograms();
const readme = readmeFamilies();
const groups = buildRuleGroups(DEFAULT_CONFIG);
const recorded = new Set(groups.flatMap((g) => g.rules).flatMap((r) => (isAlert(r) ? [] : [r.record])));
const ruleExprs = groups.flatMap((g) => g.rules.map((r) => ({ where: isAlert(r) ? r.alert : r.record, expr: r.expr })));
const dashboardExprs = dashboardQueries(buildDashboards()).map((q) => ({ where: q.where, expr: substituteGrafanaVariables(q.expr) }));
const allExprs = [...ruleExprs, ...dashboardExprs];

/** The family a series name belongs to: a histogram's _bucket/_sum/_count series belong to the histogram. */
function familyOf(metric: string): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = metric.slice(0, -suffix.length);
    if (metric.endsWith(suffix) && histograms.has(base)) return base;
  }
  return metric;
}

/** process_* and nodejs_*: README says prom-client's process metrics are served; the registry has their names. */
const isProcessMetric = (name: string): boolean => /^(process|nodejs)_/.test(name) && exporter.has(name);

function unknownNames(expr: string): string[] {
  return selectors(expr)
    .map((s) => s.metric)
    .filter((m) => {
      const family = familyOf(m);
      return !(exporter.has(family) || recorded.has(m) || m === 'up' || isProcessMetric(m));
    });
}

function labelsOf(metric: string): Set<string> | undefined {
  const registered = exporter.get(familyOf(metric));
  if (!registered) return undefined;
  const labels = new Set<string>([...TARGET_LABELS, ...registered]);
  if (metric.endsWith('_bucket')) labels.add('le');
  return labels;
}

describe('metric names in rules and dashboards', () => {
  it('the expressions were found: every rule and every dashboard query', () => {
    expect(ruleExprs.length).toBe(groups.reduce((n, g) => n + g.rules.length, 0));
    expect(dashboardExprs.length).toBeGreaterThan(40);
  });

  it.each(allExprs.map((e) => [e.where, e.expr]))('%s parses and names only metrics that exist', (_, expr) => {
    expect(syntaxErrors(expr)).toEqual([]);
    expect(selectors(expr).length).toBeGreaterThan(0);
    expect(unknownNames(expr)).toEqual([]);
  });

  it.each(allExprs.map((e) => [e.where, e.expr]))('%s matches only labels its families have', (_, expr) => {
    for (const s of selectors(expr) as Selector[]) {
      const labels = labelsOf(s.metric);
      if (!labels) continue; // recording rules and `up`
      expect(s.matchers.map((m) => m.label).filter((l) => !labels.has(l)), s.metric).toEqual([]);
    }
  });

  it('catch a misspelt name and a label the family does not have', () => {
    expect(unknownNames('sum(rate(flowlens_flow_total{job="flowlens"}[5m]))')).toEqual(['flowlens_flow_total']);
    expect(unknownNames('edge:flowlens_flows:rate5m_typo > 0')).toEqual(['edge:flowlens_flows:rate5m_typo']);
    expect(unknownNames('rate(flowlens_dns_response_duration_seconds_bucket[5m]) + rate(flowlens_drops_total_bucket[5m])')).toEqual([
      'flowlens_drops_total_bucket',
    ]);
    expect(labelsOf('flowlens_drops_total')!.has('reason_class')).toBe(true);
    expect(labelsOf('flowlens_drops_total')!.has('rcode')).toBe(false);
    // a family nothing registers: an alert on it could never fire
    expect(unknownNames('rate(flowlens_tcp_syn_cookies_total[5m]) > 0')).toEqual(['flowlens_tcp_syn_cookies_total']);
  });
});

describe('the lists the check relies on', () => {
  it('README documents every family the exporter registers, and no other', () => {
    const registered = [...exporter.keys()].filter((n) => n.startsWith('flowlens_')).sort();
    expect([...readme].sort()).toEqual(registered);
  });

  it('the exporter registers every family of the contract, with its labels', () => {
    for (const [name, family] of Object.entries(METRICS_CONTRACT)) {
      const registered = exporter.get(name);
      expect(registered, name).toBeDefined();
      if (!registered) continue;
      const expected = [...family.labels, ...(family.contexts ? CONTEXT_LABELS : [])];
      expect(expected.filter((l) => !registered.includes(l)), name).toEqual([]);
    }
  });
});
