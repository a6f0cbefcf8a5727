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
import { PROMETHEUS_RULE_FILE, RULE_FILE, renderAll } from '../../alerts/src/render.js';
import { buildRuleGroups, isAlert, type AlertRule } from '../../alerts/src/rules.js';
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

  it('the PrometheusRule carries exactly the rule file groups', () => {
    const ruleFile = YAML.parse(readFileSync(RULE_FILE, 'utf8')) as { groups: unknown };
    const manifest = YAML.parse(readFileSync(PROMETHEUS_RULE_FILE, 'utf8')) as { apiVersion: string; kind: string; spec: { groups: unknown } };
    expect(manifest.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(manifest.kind).toBe('PrometheusRule');
    expect(manifest.spec.groups).toEqual(ruleFile.groups);
    expect(ruleFile.groups).toEqual(JSON.parse(JSON.stringify(groups)));
  });

  it('promtool check rules finds every rule and nothing to complain about', () => {
    const rules = groups.reduce((n, g) => n + g.rules.length, 0);
    expect(promtool(['check', 'rules', RULE_FILE])).toContain(`SUCCESS: ${rules} rules found`);
    // The PrometheusRule's groups, as a rule file of their own.
    const dir = mkdtempSync(join(tmpdir(), 'flowlens-rules-'));
    try {
      const manifest = YAML.parse(readFileSync(PROMETHEUS_RULE_FILE, 'utf8')) as { spec: { groups: unknown } };
      writeFileSync(join(dir, 'spec.rules.yaml'), YAML.stringify({ groups: manifest.spec.groups }));
      expect(promtool(['check', 'rules', join(dir, 'spec.rules.yaml')])).toContain(`SUCCESS: ${rules} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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

  it('security alerts page, abnormal ones go to the work queue', () => {
    const bySeverity = (group: string): string[] => [
      ...new Set(groups.find((g) => g.name === group)!.rules.filter(isAlert).map((a) => a.labels.severity)),
    ];
    expect(bySeverity('flowlens.security')).toEqual(['critical']);
    expect(bySeverity('flowlens.abnormal')).toEqual(['warning']);
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
    expect(find('FlowlensHttpServerErrors').annotations.description).toContain('(threshold 12.5%)');
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
      ' unless on (destination_namespace, destination_workload) flowlens_unknown_source_flows_total{job="flowlens", destination_namespace="ingress"}' +
        ' unless on (destination_namespace, destination_workload) flowlens_unknown_source_flows_total{job="flowlens", destination_namespace="shop", destination_workload="web \\"a\\""}',
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
