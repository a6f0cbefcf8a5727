import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, withShortWindows, type AlertsConfig } from '../../alerts/src/config.js';
import { renderRuleFile } from '../../alerts/src/render.js';
import { buildRuleGroups, isAlert } from '../../alerts/src/rules.js';
import { buildDashboards } from '../../dashboards/src/dashboards.js';
import { dashboardQueries } from '../common/dashboards.js';
import { dig, startDnsmasq } from '../common/dnsmasq.js';
import { ExporterProcess, waitFor, writeIdentities } from '../common/exporter.js';
import { inNs, runTag, TestNetwork, type TestHost } from '../common/netns.js';
import { selectors } from '../common/promql.js';
import { connects, dropTcpPort, tcpListener } from '../common/traffic.js';

/**
 * The shipped rules and dashboards against the real thing: Prometheus (Debian's
 * package) scrapes an exporter that watches network-namespace traffic with a
 * policy drop and connections from an unknown source; the rules are the
 * generated ones with short windows and `for:` durations. Through Prometheus's
 * HTTP API: the policy-drop and unknown-source alerts fire with real values in
 * their descriptions, a public-facing workload reached from world does not
 * alert, no health alert is active, every rule evaluates without error, and
 * every dashboard query returns series (DNS from dnsmasq and HTTP traffic included).
 */

const OPEN_PORT = 8080;
const HTTP_PORT = 8081;
const FILTERED_PORT = 7777;
const ZONE = 'alerts.test';
const RATE_WINDOW = '20s';
const FOR = '3s';

/** The default config with test windows: 1 s scrapes, 20 s rates, 3 s `for:`. */
function testConfig(): AlertsConfig {
  const short = withShortWindows(DEFAULT_CONFIG, { rateWindow: RATE_WINDOW, forDuration: FOR });
  return {
    ...short,
    publicFacing: [{ destination_namespace: 'e2e', destination_workload: 'web' }],
    security: { ...short.security, policyDropsPerSecond: 0.1 },
  };
}

interface ApiAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  value: string;
}

const tag = runTag();
const prefix = `fa${tag}`;
let net: TestNetwork;
let client: TestHost;
let server: TestHost;
let web: TestHost;
let dns: TestHost;
let stranger: TestHost;
let exporter: ExporterProcess;
let prometheus: ChildProcess;
let prometheusOutput = '';
let promBase: string;
let tmp: string;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function api<T>(path: string): Promise<T> {
  const res = await fetch(`${promBase}${path}`);
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${path}: ${body.error ?? res.status}`);
  return body.data;
}

async function alerts(): Promise<ApiAlert[]> {
  return (await api<{ alerts: ApiAlert[] }>('/api/v1/alerts')).alerts;
}

/** One round of the traffic the alerts are about: policy-dropped SYNs and world connections. */
function traffic(): void {
  expect(connects(client, server, FILTERED_PORT, 2)).toBe('timeout,timeout');
  expect(connects(stranger, server, OPEN_PORT, 1)).toBe('connected');
  expect(connects(stranger, web, OPEN_PORT, 1)).toBe('connected');
  expect(connects(client, server, OPEN_PORT, 1)).toBe('connected');
}

describe('alert rules and dashboards against Prometheus and a real exporter (network namespaces)', () => {
  beforeAll(async () => {
    net = new TestNetwork(prefix, '10.228.0');
    client = net.addHost('cli', 2);
    server = net.addHost('srv', 3);
    web = net.addHost('web', 4);
    stranger = net.addHost('str', 5); // in no identity entry: reserved:world
    dns = net.addHost('dns', 6);
    tmp = mkdtempSync(join(tmpdir(), 'flowlens-alerts-'));
    const identities = join(tmp, 'identities.yaml');
    writeIdentities(identities, { client, server, web, dns });
    dropTcpPort(server, FILTERED_PORT);
    const listening = [server, web].map((h) => tcpListener(net, h, OPEN_PORT));
    // HTTP for the dashboards' HTTP panels: /ok answers 200, anything else 500
    const http = net.spawnIn(server.ns, process.execPath, [
      '-e',
      `require('http').createServer((q, r) => { r.statusCode = q.url === '/ok' ? 200 : 500; r.end(); }).listen(${HTTP_PORT}, '${server.address}', () => console.log('up'));`,
    ]);
    listening.push(new Promise((r) => http.stdout!.once('data', () => r())));
    await startDnsmasq(net, dns, { zone: ZONE, records: { [`www.${ZONE}`]: ['10.228.0.50'] }, from: client, probe: `www.${ZONE}` });
    await Promise.all(listening);

    exporter = new ExporterProcess(['--interface', `${prefix}*`, '--identities', identities]);
    await exporter.ready();

    writeFileSync(join(tmp, 'flowlens.rules.yaml'), renderRuleFile(testConfig()));
    writeFileSync(
      join(tmp, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'rule_files: [flowlens.rules.yaml]',
        'scrape_configs:',
        '  - job_name: flowlens',
        `    static_configs: [{ targets: ["127.0.0.1:${exporter.port}"] }]`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    promBase = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(tmp, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(tmp, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout!.on('data', (d) => (prometheusOutput += d));
    prometheus.stderr!.on('data', (d) => (prometheusOutput += d));
    await waitFor('prometheus /-/ready', 30_000, () => prometheusOutput, async () => {
      if (prometheus.exitCode !== null) throw new Error(`prometheus exited with ${prometheus.exitCode}:\n${prometheusOutput}`);
      const res = await fetch(`${promBase}/-/ready`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    });
    // Scraped at least twice, so that rates exist.
    await waitFor('two scrapes of the exporter', 30_000, () => prometheusOutput, async () => {
      const r = await api<{ result: unknown[] }>(`/api/v1/query?query=${encodeURIComponent('count_over_time(up{job="flowlens"}[1m]) >= 2')}`);
      return r.result.length === 1 ? true : undefined;
    });
  }, 90_000);

  afterAll(() => {
    if (prometheus && prometheus.exitCode === null && prometheus.signalCode === null) process.kill(prometheus.pid!, 'SIGKILL');
    exporter?.kill();
    net?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('fires the policy-drop and unknown-source alerts, with real values, and nothing else', async () => {
    // Traffic in rounds until both alerts fire (each round takes about a second; at most 40).
    let active: ApiAlert[] = [];
    for (let round = 0; round < 40; round++) {
      traffic();
      active = await alerts();
      const firing = new Set(active.filter((a) => a.state === 'firing').map((a) => a.labels.alertname));
      if (firing.has('FlowlensPolicyDropBurst') && firing.has('FlowlensUnknownSourceToPrivateWorkload')) break;
    }

    const drop = active.find((a) => a.labels.alertname === 'FlowlensPolicyDropBurst');
    expect(drop, JSON.stringify(active)).toBeDefined();
    expect(drop!.state).toBe('firing');
    expect(drop!.labels).toEqual({
      alertname: 'FlowlensPolicyDropBurst',
      severity: 'critical',
      destination_namespace: 'e2e',
      destination_workload: 'server',
    });
    expect(Number(drop!.value)).toBeGreaterThan(0.1);
    expect(drop!.annotations).toEqual({
      summary: 'Network policy is dropping a burst of packets towards a workload.',
      description: `${Number(Number(drop!.value).toPrecision(3))} packets/s towards e2e/server are being dropped by policy (threshold 0.1/s).`,
      runbook_url: `${DEFAULT_CONFIG.runbookBaseUrl}#flowlenspolicydropburst`,
    });

    const unknown = active.filter((a) => a.labels.alertname === 'FlowlensUnknownSourceToPrivateWorkload');
    // e2e/web is declared public-facing: the stranger's connections to it do not alert.
    expect(unknown.map((a) => a.labels)).toEqual([
      {
        alertname: 'FlowlensUnknownSourceToPrivateWorkload',
        severity: 'critical',
        destination_namespace: 'e2e',
        destination_workload: 'server',
        source_class: 'world',
      },
    ]);
    expect(unknown[0]!.state).toBe('firing');
    expect(Number(unknown[0]!.value)).toBeGreaterThanOrEqual(1);
    expect(unknown[0]!.annotations.description).toBe(
      `e2e/server received ${Number(Number(unknown[0]!.value).toPrecision(3))} new flows from world sources in the last ${RATE_WINDOW}; it is not declared public-facing.`,
    );

    // Nothing about flowlens itself, and nothing else: no edge is new after a day of history
    // that does not exist, and nothing abnormal against baselines that need an hour. (The
    // drop tracer sees the whole host, including other tests' drops between addresses no
    // identity names: world to world is no workload's business and does not alert.)
    // The drop tracer's own event budget can run out while other processes on this machine flood
    // drops (their losses are real, and FlowlensEventsLost{source="drop"} rightly says so); the flow
    // program's events, from this test's few connections, are never lost.
    const others = active.filter((a) => !(a.labels.alertname === 'FlowlensEventsLost' && a.labels.source === 'drop'));
    expect(others.map((a) => a.labels.alertname).sort()).toEqual(['FlowlensPolicyDropBurst', 'FlowlensUnknownSourceToPrivateWorkload']);
  });

  it('evaluates every rule without error', async () => {
    const data = await api<{ groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[] }>(
      '/api/v1/rules',
    );
    const rules = data.groups.flatMap((g) => g.rules);
    expect(rules.length).toBe(buildRuleGroups(testConfig()).reduce((n, g) => n + g.rules.length, 0));
    expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`)).toEqual([]);
    const healthAlerts = buildRuleGroups(testConfig())
      .find((g) => g.name === 'flowlens.health')!
      .rules.filter(isAlert)
      .map((a) => a.alert);
    expect(healthAlerts.length).toBeGreaterThan(8);
  });

  it('every dashboard query returns series', async () => {
    traffic();
    // DNS and HTTP for their panels, errors included (their ratios are panels too)
    expect([dig(client, dns, `www.${ZONE}`, 'A'), dig(client, dns, `missing.${ZONE}`, 'A')]).toEqual(['NOERROR', 'NXDOMAIN']);
    const statuses = inNs(client.ns, 'sh', [
      '-c',
      `for p in ok fail; do ${process.execPath} -e "require('http').get('http://${server.address}:${HTTP_PORT}/$p', (r) => { console.log(r.statusCode); r.resume(); })"; done`,
    ]);
    expect(statuses.trim().split('\n')).toEqual(['200', '500']);
    // scraped twice more, so that rates over the new series exist
    const scrapes = async () => (await api<{ result: Array<{ value: [number, string] }> }>(`/api/v1/query?query=${encodeURIComponent('count_over_time(up{job="flowlens"}[10m])')}`)).result[0]!.value[1];
    const before = Number(await scrapes());
    await waitFor('two more scrapes', 30_000, () => prometheusOutput, async () => (Number(await scrapes()) >= before + 2 ? true : undefined));
    const served = new Set((await exporter.samples()).map((s) => s.name.replace(/_(bucket|sum|count)$/, '')));
    const queries = dashboardQueries(buildDashboards()).filter((q) => q.kind === 'panel');
    const pending: string[] = [];
    const empty: string[] = [];
    for (const q of queries) {
      const families = selectors(q.expr).map((s) => s.metric.replace(/_(bucket|sum|count)$/, ''));
      if (!families.every((f) => served.has(f) || f === 'up')) {
        pending.push(q.where);
        continue;
      }
      const expr = q.expr
        .replace(/\$__rate_interval/g, RATE_WINDOW)
        .replace(/\$__range/g, '1m')
        .replace(/\$(cluster|node|namespace|workload)/g, '.*');
      const r = await api<{ result: unknown[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
      if (r.result.length === 0) empty.push(q.where);
    }
    expect(empty).toEqual([]);
    // every family a panel reads is one the exporter serves
    expect(pending).toEqual([]);
  });
});
