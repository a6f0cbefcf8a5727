// The demo's pieces that need no kernel: the committed identity file, the
// generated demo rules, the Alertmanager configuration derived from the
// example, and the topology's names. test/e2e/demo.test.ts runs the demo.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { DEFAULT_CONFIG } from '../../alerts/src/config.js';
import { buildRuleGroups, isAlert } from '../../alerts/src/rules.js';
import { alertmanagerConfig, demoAlertsConfig, demoRuleFile, prometheusConfig } from '../../demo/alerting.js';
import { DEFAULT_NAMES, IDENTITIES_FILE, place, renderIdentities, validateNames, WORKLOADS } from '../../demo/topology.js';
import { parseStaticIdentities } from '../../src/identity/static-source.js';
import { promtool } from '../common/promql.js';

const tmp = mkdtempSync(join(tmpdir(), 'flowlens-demo-unit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('demo topology', () => {
  it('the committed identity file is what the topology writes for the default subnet', () => {
    expect(readFileSync(IDENTITIES_FILE, 'utf8')).toBe(renderIdentities(DEFAULT_NAMES));
  });

  it('the identity file loads as the exporter loads it: one identity per workload, the outsider in none', () => {
    const entries = parseStaticIdentities(renderIdentities({ name: 'x', subnet: '10.231' }), 'identities.yaml');
    expect(entries.length).toBe(WORKLOADS.length - 1);
    expect(entries.map((e) => `${e.identity.namespace}/${e.identity.workload} ${e.prefixes.map((c) => c.text).join(',')}`)).toEqual([
      'infra/dns 10.231.0.53/32',
      'backend/db 10.231.0.31/32',
      'backend/api 10.231.0.30/32',
      'frontend/web 10.231.0.20/32',
      'management/console 10.231.0.40/32',
      'client/shopper 10.231.0.10/32',
    ]);
    // every identity is distinct
    expect(new Set(entries.map((e) => e.identity.id)).size).toBe(6);
  });

  it('names fit Linux limits and move with the name and subnet', () => {
    const placed = place({ name: 'fldtabcdefg', subnet: '10.231' });
    for (const w of placed) expect(w.hostIf.length).toBeLessThanOrEqual(15);
    expect(placed.find((w) => w.role === 'outsider')).toMatchObject({ netns: 'fldtabcdefg-outsider', hostIf: 'fldtabcdefgout', address: '10.231.200.66' });
    expect(placed.find((w) => w.role === 'api')).toMatchObject({ netns: 'fldtabcdefg-backend-api', hostIf: 'fldtabcdefgapi', address: '10.231.0.30' });
    expect(() => validateNames({ name: 'fldtabcdefgh', subnet: '10.231' })).toThrow(/2 to 11/);
    expect(() => validateNames({ name: 'fldemo', subnet: '10.300' })).toThrow(/first two octets/);
    expect(() => validateNames({ name: 'fl-demo', subnet: '10.230' })).toThrow(/lower-case/);
  });
});

describe('demo alerting', () => {
  it('the demo rules are the shipped rules with demo windows, every `for:` 10 s, and frontend/web public-facing', () => {
    const shipped = buildRuleGroups(DEFAULT_CONFIG).flatMap((g) => g.rules);
    const demo = buildRuleGroups(demoAlertsConfig()).flatMap((g) => g.rules);
    expect(demo.map((r) => (isAlert(r) ? r.alert : r.record.replace(/(rate|count)1m/g, '$15m')))).toEqual(
      shipped.map((r) => (isAlert(r) ? r.alert : r.record)),
    );
    expect(new Set(demo.filter(isAlert).map((a) => a.for))).toEqual(new Set(['10s']));
    const drop = demo.filter(isAlert).find((a) => a.alert === 'FlowlensPolicyDropBurst')!;
    expect(drop.expr).toBe(
      'sum by (cluster, destination_namespace, destination_workload) (rate(flowlens_drops_total{job="flowlens", reason_class="policy", destination_workload!~"reserved:(world|unmanaged)"}[1m])) > 0.5',
    );
    const unknown = demo.filter(isAlert).find((a) => a.alert === 'FlowlensUnknownSourceToPrivateWorkload')!;
    expect(unknown.expr).toContain('unless on (cluster, destination_namespace, destination_workload) flowlens_unknown_source_flows_total{job="flowlens", destination_namespace="frontend", destination_workload="web"}');
  });

  it('promtool accepts the demo rule file and the Prometheus configuration', () => {
    writeFileSync(join(tmp, 'flowlens-demo.rules.yaml'), demoRuleFile());
    expect(promtool(['check', 'rules', join(tmp, 'flowlens-demo.rules.yaml')])).toMatch(/SUCCESS: \d+ rules found/);
    writeFileSync(join(tmp, 'prometheus.yml'), prometheusConfig({ exporter: '127.0.0.1:1', alertmanager: '127.0.0.1:2', ruleFile: 'flowlens-demo.rules.yaml' }));
    expect(promtool(['check', 'config', join(tmp, 'prometheus.yml')])).toMatch(/SUCCESS/);
  });

  it('the Alertmanager configuration is the example with its webhooks at the demo receiver, and routes pages there', () => {
    const text = alertmanagerConfig('alerts/alertmanager.example.yaml', 'http://127.0.0.1:9095');
    const config = YAML.parse(text) as { route: Record<string, unknown>; receivers: { name: string; webhook_configs?: { url: string }[] }[] };
    const example = YAML.parse(readFileSync('alerts/alertmanager.example.yaml', 'utf8')) as typeof config;
    expect(config.receivers.map((r) => [r.name, r.webhook_configs?.map((w) => w.url)])).toEqual([
      ['pager', ['http://127.0.0.1:9095/pager']],
      ['work-queue', ['http://127.0.0.1:9095/queue']],
      ['null', undefined],
    ]);
    expect({ ...config.route, group_wait: undefined, group_interval: undefined }).toEqual({ ...example.route, group_wait: undefined, group_interval: undefined });
    expect([config.route.group_wait, config.route.group_interval]).toEqual(['5s', '1m']);
    const file = join(tmp, 'alertmanager.yml');
    writeFileSync(file, text);
    execFileSync('amtool', ['check-config', file], { stdio: 'pipe' });
    const route = (...labels: string[]): string =>
      execFileSync('amtool', ['config', 'routes', 'test', `--config.file=${file}`, ...labels], { encoding: 'utf8' }).trim();
    expect(route('alertname=FlowlensPolicyDropBurst', 'severity=critical')).toBe('pager');
    expect(route('alertname=FlowlensHttpServerErrors', 'severity=warning')).toBe('work-queue');
  });
});
