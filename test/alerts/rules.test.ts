// The shipped alert rules: generated files up to date, clean for promtool,
// every alert tested by promtool (firing and silent), written as the severity
// policy says, and every threshold taken from the one config.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { parser } from '@prometheus-io/lezer-promql';
import { DEFAULT_CONFIG, type AlertsConfig } from '../../alerts/src/config.js';
import { CHART_RULES_FILE, RULE_FILE, THRESHOLD_SECTIONS, renderAll, token } from '../../alerts/src/render.js';
import { buildRuleGroups, isAlert, PUBLIC_FACING_ALERT, type AlertRule, type RuleGroup } from '../../alerts/src/rules.js';
import { promtool } from '../common/promql.js';

const groups = buildRuleGroups(DEFAULT_CONFIG);
const alerts = groups.flatMap((g) => g.rules).filter(isAlert);
const alertNames = [...new Set(alerts.map((a) => a.alert))];
const TEST_DIR = 'alerts/tests';
const testFiles = readdirSync(TEST_DIR).filter((f) => f.endsWith('.test.yaml')).sort();

interface AlertRuleTest {
  eval_time: string;
  alertname: string;
  exp_alerts?: { exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }[];
}
const ruleTests: AlertRuleTest[] = testFiles.flatMap((f) => {
  const doc = YAML.parse(readFileSync(join(TEST_DIR, f), 'utf8')) as { tests: { alert_rule_test?: AlertRuleTest[] }[] };
  return doc.tests.flatMap((t) => t.alert_rule_test ?? []);
});

describe('generated rule files', () => {
  it('are what alerts/src generates (run `make alerts` after changing it)', () => {
    for (const [path, content] of renderAll(DEFAULT_CONFIG)) {
      expect(readFileSync(path, 'utf8'), `${path} is stale: run make alerts`).toBe(content);
    }
  });

  it('the chart\'s rule template is the rule file with a token for every threshold, and nothing else', () => {
    const ruleFile = YAML.parse(readFileSync(RULE_FILE, 'utf8')) as { groups: unknown };
    expect(ruleFile.groups).toEqual(JSON.parse(JSON.stringify(groups)));
    const template = YAML.parse(readFileSync(CHART_RULES_FILE, 'utf8')) as { publicFacingClause: string; groups: RuleGroup[] };
    // Substituting the defaults gives back the rule file, rule for rule.
    let text = JSON.stringify(template.groups);
    for (const section of THRESHOLD_SECTIONS) {
      for (const [key, value] of Object.entries(DEFAULT_CONFIG[section])) text = text.split(token(`${section}.${key}`)).join(String(value));
    }
    text = text.split(token('daemonSetSelector')).join(DEFAULT_CONFIG.daemonSetSelector.replace(/"/g, '\\"'));
    text = text.split(token('publicFacing')).join('');
    expect(text).not.toContain('@@');
    expect(JSON.parse(text)).toEqual(ruleFile.groups);
    expect(template.publicFacingClause).toBe(
      ` unless on (cluster, destination_namespace, destination_workload) flowlens_unknown_source_flows_total{job="flowlens", ${token('matchers')}}`,
    );
    const unknown = template.groups.flatMap((g) => g.rules).find((r) => isAlert(r) && r.alert === PUBLIC_FACING_ALERT)!;
    expect(unknown.expr.endsWith(token('publicFacing'))).toBe(true);
  });

  it('promtool check rules finds every rule and nothing to complain about', () => {
    const rules = groups.reduce((n, g) => n + g.rules.length, 0);
    expect(promtool(['check', 'rules', RULE_FILE])).toContain(`SUCCESS: ${rules} rules found`);
  });
});

describe('promtool test rules', () => {
  it('passes every test file in alerts/tests', () => {
    expect(testFiles).toEqual(['abnormal.test.yaml', 'health.test.yaml', 'security.test.yaml']);
    for (const f of testFiles) {
      const out = promtool(['test', 'rules', f], TEST_DIR);
      expect(out, f).toContain('SUCCESS');
      expect(out, f).not.toContain('FAILED');
    }
  });

  it.each(alertNames)('%s has a case where it fires and a case where it must stay silent', (name) => {
    const severities = alerts.filter((a) => a.alert === name).map((a) => a.labels.severity);
    const cases = ruleTests.filter((t) => t.alertname === name);
    expect(cases.some((t) => (t.exp_alerts ?? []).length === 0), `${name}: no silent case`).toBe(true);
    for (const severity of severities) {
      const firing = cases.flatMap((t) => t.exp_alerts ?? []).filter((a) => a.exp_labels?.severity === severity);
      expect(firing.length, `${name} (${severity}): no firing case`).toBeGreaterThan(0);
      for (const a of firing) {
        expect(Object.keys(a.exp_annotations ?? {}).sort()).toEqual(['description', 'runbook_url', 'summary']);
      }
    }
  });
});

describe('every alert', () => {
  const runbook = readFileSync('alerts/runbook.md', 'utf8');
  const sections = new Map(
    runbook
      .split(/^## /m)
      .slice(1)
      .map((s) => [s.slice(0, s.indexOf('\n')).trim(), s] as const),
  );

  it.each(alerts.map((a) => [`${a.alert} (${a.labels.severity})`, a] as const))('%s follows the policy', (_, a: AlertRule) => {
    expect(a.alert).toMatch(/^Flowlens[A-Z][A-Za-z0-9]+$/);
    expect(a.for).toMatch(/^[1-9][0-9]*[smhd]$/);
    expect(['critical', 'warning', 'info']).toContain(a.labels.severity);
    expect(Object.keys(a.labels)).toEqual(['severity']);
    expect(a.annotations.summary).not.toContain('{{');
    expect(a.annotations.description).toMatch(/\{\{ \$labels\.[a-z_]+ \}\}/);
    expect(a.annotations.runbook_url).toBe(`${DEFAULT_CONFIG.runbookBaseUrl}#${a.alert.toLowerCase()}`);
    const section = sections.get(a.alert);
    expect(section, `alerts/runbook.md has no "## ${a.alert}"`).toBeDefined();
    expect(section).toContain('flowlens observe');
    expect(section).toMatch(/\*\*What it means\*\*/);
    expect(section).toMatch(/\*\*Confirm\*\*/);
    expect(section).toMatch(/\*\*What to do\*\*/);
  });

  it('has a runbook section, and the runbook no section for an alert that does not exist', () => {
    const runbookAlerts = [...sections.keys()].filter((s) => s.startsWith('Flowlens'));
    expect(runbookAlerts.sort()).toEqual([...alertNames].sort());
  });

  it('pages (critical) only for policy drops and unknown sources into private workloads; heuristics go to the work queue', () => {
    const critical = [...new Set(alerts.filter((a) => a.labels.severity === 'critical').map((a) => a.alert))].sort();
    expect(critical).toEqual(['FlowlensPolicyDropBurst', 'FlowlensUnknownSourceToPrivateWorkload']);
    const severity = (name: string): string[] => alerts.filter((a) => a.alert === name).map((a) => a.labels.severity);
    for (const heuristic of ['FlowlensNewEdge', 'FlowlensDestinationFanout', 'FlowlensDnsNxdomainSpike']) expect(severity(heuristic)).toEqual(['warning']);
    expect(severity('FlowlensExporterAbsent')).toEqual(['warning']);
    expect(severity('FlowlensBpfMapPressure')).toEqual(['info', 'warning']);
    const bySeverity = (group: string): string[] => [
      ...new Set(groups.find((g) => g.name === group)!.rules.filter(isAlert).map((a) => a.labels.severity)),
    ];
    expect(bySeverity('flowlens.abnormal')).toEqual(['warning']);
  });

  it('judges exporter absence from the DaemonSet (kube-state-metrics desired vs ready), not from vanished targets', () => {
    const absent = alerts.find((a) => a.alert === 'FlowlensExporterAbsent')!;
    expect(absent.expr).toBe(
      'max by (cluster, namespace, daemonset) (kube_daemonset_status_desired_number_scheduled{daemonset="flowlens"}) ' +
        '- max by (cluster, namespace, daemonset) (kube_daemonset_status_number_ready{daemonset="flowlens"}) > 0',
    );
  });
});

describe('the cluster label', () => {
  /** Every aggregation's grouping and every binary operation's matching labels, as the PromQL grammar parses them. */
  function groupings(expr: string): { kind: string; text: string; labels: string[] | null }[] {
    const found: { kind: string; text: string; labels: string[] | null }[] = [];
    const cursor = parser.parse(expr).cursor();
    do {
      if (cursor.name === 'AggregateExpr') {
        const node = cursor.node;
        const modifier = node.getChild('AggregateModifier');
        const labels = modifier?.getChild('GroupingLabels')?.getChildren('LabelName').map((l) => expr.slice(l.from, l.to)) ?? null;
        const without = modifier?.getChild('Without') !== null && modifier !== null;
        found.push({ kind: without ? 'without' : 'by', text: expr.slice(node.from, node.to), labels });
      }
      if (cursor.name === 'MatchingModifierClause') {
        const node = cursor.node;
        const labels = node.getChild('GroupingLabels')?.getChildren('LabelName').map((l) => expr.slice(l.from, l.to)) ?? [];
        const ignoring = node.getChild('Ignoring') !== null;
        found.push({ kind: ignoring ? 'ignoring' : 'on', text: expr.slice(node.from, node.to), labels });
      }
    } while (cursor.next());
    return found;
  }

  it.each(groups.flatMap((g) => g.rules).map((r) => [isAlert(r) ? `${r.alert} (${r.labels.severity})` : r.record, r.expr]))(
    '%s keeps it in every aggregation and vector match',
    (_, expr) => {
      for (const g of groupings(expr)) {
        if (g.kind === 'without' || g.kind === 'ignoring') expect(g.labels, g.text).not.toContain('cluster');
        else expect(g.labels, g.text).toContain('cluster');
      }
    },
  );

  it('the check sees an aggregation or a match that drops it', () => {
    expect(groupings('sum by (node) (up)')).toEqual([{ kind: 'by', text: 'sum by (node) (up)', labels: ['node'] }]);
    expect(groupings('count(up)')[0]!.labels).toBeNull();
    expect(groupings('a and on () b')).toEqual([{ kind: 'on', text: 'on ()', labels: [] }]);
    expect(groupings('sum by (cluster, node) (up) / on (cluster) group_left sum by (cluster) (up)').map((g) => g.labels)).toEqual([
      ['cluster', 'node'],
      ['cluster'],
      ['cluster'],
    ]);
  });
});

describe('thresholds', () => {
  /** Every number literal of an expression that is not part of a duration. */
  function numbers(expr: string): number[] {
    const found: number[] = [];
    parser.parse(expr).iterate({
      enter(node) {
        if (node.name === 'NumberDurationLiteral') found.push(Number(expr.slice(node.from, node.to)));
      },
    });
    return found;
  }
  const configNumbers = (config: AlertsConfig): Set<number> =>
    new Set(
      [config.security, config.abnormal, config.health].flatMap((section) =>
        Object.values(section).filter((v): v is number => typeof v === 'number'),
      ),
    );

  it('appear in alert expressions only as values of the config (0 and 1 are comparisons with "none" and "up")', () => {
    const allowed = configNumbers(DEFAULT_CONFIG);
    for (const a of alerts) {
      for (const n of numbers(a.expr)) {
        expect(allowed.has(n) || n === 0 || n === 1, `${a.alert}: ${n} is not from alerts/src/config.ts`).toBe(true);
      }
    }
  });

  it('follow the config: changed values show up in the expressions and descriptions', () => {
    const changed: AlertsConfig = {
      ...DEFAULT_CONFIG,
      security: { ...DEFAULT_CONFIG.security, policyDropsPerSecond: 7.5, fanoutFactor: 11, unknownSourceFor: '9m' },
      abnormal: { ...DEFAULT_CONFIG.abnormal, httpServerErrorRatio: 0.125 },
      health: { ...DEFAULT_CONFIG.health, mapPressureWarning: 0.625 },
    };
    const find = (name: string, severity = ''): AlertRule =>
      buildRuleGroups(changed)
        .flatMap((g) => g.rules)
        .filter(isAlert)
        .find((a) => a.alert === name && (severity === '' || a.labels.severity === severity))!;
    expect(find('FlowlensPolicyDropBurst').expr).toMatch(/> 7\.5$/);
    expect(find('FlowlensPolicyDropBurst').annotations.description).toContain('(threshold 7.5/s)');
    expect(find('FlowlensDestinationFanout').expr).toContain('> 11 * source:flowlens_flow_destinations:count5m:avg1d');
    expect(find('FlowlensUnknownSourceToPrivateWorkload').for).toBe('9m');
    expect(find('FlowlensHttpServerErrors').expr).toContain('> 0.125');
    expect(find('FlowlensHttpServerErrors').annotations.description).toContain('(threshold {{ 0.125 | humanizePercentage }})');
    expect(find('FlowlensBpfMapPressure', 'warning').expr).toMatch(/> 0\.625$/);
  });

  it('public-facing declarations exempt exactly their label sets from the unknown-source alert', () => {
    const expr = (publicFacing: AlertsConfig['publicFacing']): string =>
      buildRuleGroups({ ...DEFAULT_CONFIG, publicFacing })
        .flatMap((g) => g.rules)
        .filter(isAlert)
        .find((a) => a.alert === 'FlowlensUnknownSourceToPrivateWorkload')!.expr;
    expect(expr([])).not.toContain('unless on');
    const two = expr([{ destination_namespace: 'ingress' }, { destination_namespace: 'shop', destination_workload: 'web "a"' }]);
    expect(two).toContain(
      ' unless on (cluster, destination_namespace, destination_workload) flowlens_unknown_source_flows_total{job="flowlens", destination_namespace="ingress"}' +
        ' unless on (cluster, destination_namespace, destination_workload) flowlens_unknown_source_flows_total{job="flowlens", destination_namespace="shop", destination_workload="web \\"a\\""}',
    );
  });
});

describe('alerts/alertmanager.example.yaml', () => {
  const CONFIG = 'alerts/alertmanager.example.yaml';
  const amtool = (...args: string[]): string => execFileSync('amtool', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

  it('is a valid Alertmanager configuration with both inhibitions', () => {
    const out = amtool('check-config', CONFIG);
    expect(out).toContain('SUCCESS');
    expect(out).toContain('2 inhibit rules');
  });

  it('routes by severity', () => {
    const route = (...labels: string[]): string => amtool('config', 'routes', 'test', `--config.file=${CONFIG}`, ...labels).trim();
    expect(route('severity=critical', 'alertname=FlowlensPolicyDropBurst')).toBe('pager');
    expect(route('severity=warning', 'alertname=FlowlensHttpServerErrors')).toBe('work-queue');
    expect(route('severity=info')).toBe('null');
  });

  it('inhibits warnings about the same workload, and about the same node', () => {
    const config = YAML.parse(readFileSync(CONFIG, 'utf8')) as { inhibit_rules: { equal: string[] }[] };
    expect(config.inhibit_rules.map((r) => r.equal)).toEqual([['destination_namespace', 'destination_workload'], ['instance']]);
  });
});
