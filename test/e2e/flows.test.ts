import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ExporterProcess, REPO, waitFor, writeIdentities } from '../common/exporter.js';
import { runTag, TestNetwork, type TestHost } from '../common/netns.js';
import { connects, dropTcpPort, tcpListener, udpDatagrams, udpListener } from '../common/traffic.js';
import { deriveIdentityId } from '../../src/identity/identity.js';
import type { FlowRecord } from '../../src/flows/record.js';
import type { ServiceGraph } from '../../src/flows/graph.js';

/**
 * The flows API, `flowlens observe` and the UI against a running exporter,
 * with real traffic between three workloads and one unknown source: an
 * accepted, a refused and an nftables-dropped TCP connection, a UDP datagram.
 * drop.bpf.c sees every drop on the machine (other tests' too), so every
 * query is narrowed to this test's subnet, with the filters under test.
 */

const SUBNET = '10.225.0.0/16';
const OPEN = 8080;
const CLOSED = 7000;
const FILTERED = 7777;
const UDP = 9000;
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(REPO, 'test-artifacts');

const tag = runTag();
const prefix = `fl${tag}`;
let net: TestNetwork;
let client: TestHost;
let server: TestHost;
let other: TestHost;
let stranger: TestHost;
let exporter: ExporterProcess;
let tmp: string;
/** Source ports of each connection, from the records: the kernel picks them. */
const id = (workload: string) => deriveIdentityId('e2e', { app: workload }, []);

async function flows(query: string): Promise<FlowRecord[]> {
  const res = await fetch(`${exporter.base}/api/flows?from_ip=${SUBNET}&limit=10000&${query}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { flows: FlowRecord[] }).flows;
}

/** What a test asserts of a record: type, detail, direction, verdict, ends and destination port. */
const shape = (r: FlowRecord) =>
  [r.type, r.tcp?.outcome ?? r.drop?.reason ?? r.tcpFlags?.join(',') ?? '', r.direction, r.verdict, r.source.workload, r.destination.workload, r.destination.port].join(' ');

const sorted = (lines: string[]) => [...lines].sort();

function observe(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [join(REPO, 'dist', 'cli.js'), 'observe', '--server', exporter.base, ...args], { timeout: 20_000 });
}

describe('flows API, observe and UI (network namespaces, real kernel)', () => {
  beforeAll(async () => {
    net = new TestNetwork(prefix, '10.225.0');
    client = net.addHost('cli', 2);
    server = net.addHost('srv', 3);
    other = net.addHost('oth', 4);
    stranger = net.addHost('str', 9); // in no identity entry, no cluster CIDR: reserved:world
    tmp = mkdtempSync(join(tmpdir(), 'flowlens-flows-'));
    const identities = join(tmp, 'identities.yaml');
    writeIdentities(identities, { client, server, other });
    // other tests' drops share the event budget: keep it out of the way
    const config = join(tmp, 'flowlens.yaml');
    writeFileSync(config, 'datapath:\n  eventsPerSecond: 1000000\napi:\n  requestsPerSecond: 0\n');
    dropTcpPort(server, FILTERED);
    await Promise.all([tcpListener(net, server, OPEN), udpListener(net, server, UDP)]);
    exporter = new ExporterProcess(['--config', config, '--interface', `${prefix}*`, '--identities', identities]);
    await exporter.ready();

    expect(connects(client, server, OPEN, 1)).toBe('connected');
    expect(connects(client, server, CLOSED, 1)).toBe('ECONNREFUSED');
    expect(connects(client, server, FILTERED, 1)).toBe('timeout');
    udpDatagrams(client, server, UDP, 1);
    expect(connects(other, server, OPEN, 1)).toBe('connected');
    expect(connects(stranger, server, OPEN, 1)).toBe('connected');
    // the filtered attempt is unanswered once the sweep finds it (3 s timeout)
    await waitFor('the unanswered outcome', 30_000, () => exporter.output, async () =>
      (await flows(`to_port=${FILTERED}&type=tcp`)).length === 2 ? true : undefined);
  });

  afterAll(() => {
    exporter?.kill();
    net?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('GET /api/flows has exactly the records of the accepted connections, with both ends resolved', async () => {
    const records = await flows(`to_port=${OPEN}`);
    expect(sorted(records.map(shape))).toEqual(sorted(
      ['client', 'other', 'reserved:world'].flatMap((src) => [
        `flow SYN egress forwarded ${src} server ${OPEN}`,
        `flow SYN ingress forwarded ${src} server ${OPEN}`,
        `tcp established egress forwarded ${src} server ${OPEN}`,
        `tcp established ingress forwarded ${src} server ${OPEN}`,
      ]),
    ));
    const fromClient = records.find((r) => r.source.workload === 'client')!;
    expect(fromClient.source).toMatchObject({ identity: id('client'), identityName: String(id('client')), namespace: 'e2e', labels: { app: 'client' }, ip: client.address });
    expect(fromClient.destination).toMatchObject({ identity: id('server'), namespace: 'e2e', workload: 'server', ip: server.address, port: OPEN });
    const fromWorld = records.find((r) => r.source.identity === 2)!;
    expect(fromWorld.source).toMatchObject({ identityName: 'reserved:world', namespace: '', ip: stranger.address });
    // one connection keeps one 5-tuple across its records
    expect(new Set(records.filter((r) => r.source.workload === 'client').map((r) => r.source.port)).size).toBe(1);
  });

  it('filters: verdict, protocol, identity, type', async () => {
    expect(sorted((await flows('verdict=dropped')).map(shape))).toEqual(sorted([
      `tcp refused egress dropped client server ${CLOSED}`,
      `tcp refused ingress dropped client server ${CLOSED}`,
      `drop no_socket ingress dropped client server ${CLOSED}`,
      `drop netfilter_drop ingress dropped client server ${FILTERED}`,
      `tcp unanswered egress dropped client server ${FILTERED}`,
      `tcp unanswered ingress dropped client server ${FILTERED}`,
    ]));
    expect(sorted((await flows('protocol=udp')).map(shape))).toEqual([
      `flow  egress forwarded client server ${UDP}`,
      `flow  ingress forwarded client server ${UDP}`,
    ]);
    expect((await flows('from_identity=reserved:world')).map((r) => r.source.ip)).toEqual(Array(4).fill(stranger.address));
    expect(sorted((await flows(`to_identity=${id('server')}&type=flow&from_workload=other`)).map(shape))).toEqual([
      `flow SYN egress forwarded other server ${OPEN}`,
      `flow SYN ingress forwarded other server ${OPEN}`,
    ]);
  });

  it('`flowlens observe --verdict DROPPED -o json` prints exactly the dropped flows', async () => {
    const { stdout } = await observe(['--verdict', 'DROPPED', '--from-ip', SUBNET, '--last', '100', '-o', 'json']);
    const printed = JSON.parse(stdout) as FlowRecord[];
    expect(sorted(printed.map(shape))).toEqual(sorted((await flows('verdict=dropped')).map(shape)));
    expect(printed).toHaveLength(6);
    // in time order
    expect(printed.map((r) => r.time)).toEqual(printed.map((r) => r.time).sort());
  });

  it('`flowlens observe -o table` prints one line per record, without colours off a terminal', async () => {
    const { stdout } = await observe(['--from-workload', 'other', '--type', 'flow', '--from-ip', SUBNET]);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\S+ e2e/other ${other.address}:\\d+ -> e2e/server ${server.address}:${OPEN} tcp (egress|ingress) flow FORWARDED new flow, TCP flags SYN$`));
    }
    expect(stdout).not.toContain('\x1b[');
  });

  it('follow=true streams a new connection as it happens (`flowlens observe --follow` too)', async () => {
    const child: ChildProcess = spawn(process.execPath, [join(REPO, 'dist', 'cli.js'), 'observe', '--server', exporter.base, '--follow',
      '-o', 'jsonl', '--from-ip', SUBNET, '--type', 'flow', '--to-port', String(OPEN)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    const res = await fetch(`${exporter.base}/api/flows?follow=true&from_ip=${SUBNET}&type=flow&to_port=${OPEN}`);
    const reader = res.body!.getReader();
    let sse = '';
    try {
      // both streams open (the exporter counts them) before the connection is made
      await waitFor('two live streams', 30_000, () => exporter.output, async () => {
        const streams = (await exporter.samples()).find((x) => x.name === 'flowlens_flow_streams');
        return streams?.value === 2 ? true : undefined;
      });
      expect(connects(client, server, OPEN, 1)).toBe('connected');
      const sent = Date.now();
      // both ends' interfaces report the new flow; the issue asks for it within 1 s
      const within = async (what: string, seen: () => boolean) =>
        waitFor(what, 1000, () => `${what}: ${seen()}`, async () => (seen() ? Date.now() - sent : undefined));
      const readUntil = async () => {
        while ((sse.match(/event: flow/g) ?? []).length < 2) {
          const { value, done } = await reader.read();
          if (done) break;
          sse += new TextDecoder().decode(value);
        }
      };
      const reading = readUntil();
      await within('the SSE records', () => (sse.match(/event: flow/g) ?? []).length >= 2);
      await reading;
      await within('observe --follow output', () => out.trim().split('\n').filter(Boolean).length >= 2);
      const streamed = sse.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)) as FlowRecord);
      expect(sorted(streamed.map(shape))).toEqual([`flow SYN egress forwarded client server ${OPEN}`, `flow SYN ingress forwarded client server ${OPEN}`]);
      const printed = out.trim().split('\n').map((l) => JSON.parse(l) as FlowRecord);
      expect(printed.map((r) => r.seq).sort()).toEqual(streamed.map((r) => r.seq).sort());
    } finally {
      await reader.cancel();
      child.kill('SIGINT');
    }
    const code = await new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', r)));
    expect(code).toBe(0);
  });

  it('GET /api/graph has exactly the expected nodes and edges, with forwarded and dropped counts', async () => {
    const res = await fetch(`${exporter.base}/api/graph?window=10m&ip=${SUBNET}`);
    const g = (await res.json()) as ServiceGraph;
    expect(g.nodes.map((n) => [n.name, n.identity, n.unknownSource])).toEqual([
      ['e2e/client', id('client'), false],
      ['e2e/other', id('other'), false],
      ['e2e/server', id('server'), false],
      ['reserved:world', 2, true],
    ]);
    // client -> server: 8080 twice (once more in the follow test), 7000 refused, 7777 dropped, UDP 9000
    expect(g.edges.map((e) => [e.source, e.destination, e.flows, e.forwarded, e.dropped])).toEqual([
      [id('client'), id('server'), 5, 3, 2],
      [id('other'), id('server'), 1, 1, 0],
      [2, id('server'), 1, 1, 0],
    ]);
    const cs = g.edges[0]!;
    expect(cs.dropReasons).toEqual({ no_socket: 1, netfilter_drop: 1 });
    expect(cs.ports).toEqual([CLOSED, FILTERED, OPEN, UDP].sort((a, b) => a - b));
    expect(cs.protocols).toEqual(['tcp', 'udp']);
  });

  describe('the UI in headless Chromium', () => {
    let browser: Browser;
    let page: Page;
    beforeAll(async () => {
      mkdirSync(ARTIFACTS, { recursive: true });
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
      page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('shows the service map with the dropped edge and the unknown source, and fills the flows table live', async () => {
      await page.goto(`${exporter.base}/`);
      // the namespace picker narrows map and table to this test's workloads (drops elsewhere on the machine stay out);
      // it lists the namespaces the map has shown
      await page.locator('#f-namespace option[value="e2e"]').waitFor({ state: 'attached', timeout: 10_000 });
      await page.selectOption('#f-namespace', 'e2e');
      const edge = page.locator('g.edge[data-source="e2e/client"][data-destination="e2e/server"]');
      await edge.waitFor({ timeout: 10_000 });
      // this test's workloads and the stranger; the drop tracer sees the whole machine, so a drop elsewhere that
      // touches an e2e address may add a node (once in five runs: a reserved:unknown one), never remove one
      expect(await page.locator('g.node').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-name')).sort())).toEqual(
        expect.arrayContaining(['e2e/client', 'e2e/other', 'e2e/server', 'reserved:world']),
      );
      expect(await page.locator('g.node.unknown').getAttribute('data-name')).toBe('reserved:world');
      expect(await edge.getAttribute('class')).toBe('edge dropped');
      expect([await edge.getAttribute('data-forwarded'), await edge.getAttribute('data-dropped')]).toEqual(['3', '2']);
      expect(await page.locator('g.edge.dropped[data-source^="e2e/"]').count()).toBe(1);
      expect(await page.locator('g.edge[data-source="reserved:world"]').getAttribute('data-destination')).toBe('e2e/server');
      expect(await page.locator('#node-count').textContent()).toBe('1');

      const rows = page.locator('#flows tbody tr');
      await waitFor('history rows', 30_000, () => '', async () => ((await rows.count()) > 0 ? true : undefined));
      const before = await page.locator('#flows tbody tr', { hasText: 'e2e/other' }).count();
      expect(connects(other, server, OPEN, 1)).toBe('connected');
      // the new connection: 2 flow + 2 outcome records
      await waitFor('live rows', 30_000, () => '', async () =>
        (await page.locator('#flows tbody tr', { hasText: 'e2e/other' }).count()) >= before + 4 ? true : undefined);
      await page.screenshot({ path: join(ARTIFACTS, 'ui-live.png'), fullPage: true });
    });

    it('filtering by verdict leaves only dropped rows', async () => {
      await page.selectOption('#f-verdict', 'dropped');
      // the client -> server records (a drop elsewhere on the machine may add rows of its own)
      const rows = page.locator('#flows tbody tr', { hasText: 'e2e/client' }).filter({ hasText: 'e2e/server' });
      await waitFor('dropped rows', 30_000, () => '', async () => ((await rows.count()) === 6 ? true : undefined));
      expect(await page.locator('#flows tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-verdict')))).not.toContain('forwarded');
      expect(await rows.count()).toBe(6);
      expect(await page.locator('g.edge[data-source^="e2e/"]').count()).toBe(1);
      expect(await page.locator('g.edge[data-source^="e2e/"]').getAttribute('data-dropped')).toBe('2');
      await page.screenshot({ path: join(ARTIFACTS, 'ui-dropped.png'), fullPage: true });
    });
  });
});
