import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExporterProcess, ownedProgramIds, waitFor } from '../common/exporter.js';
import { inNs, ip, ipCounters, runTag, sh, TestNetwork, type TestHost } from '../common/netns.js';
import { sumOf, type Sample } from '../common/prom.js';

/**
 * The whole path on the real kernel: three network namespaces on veth pairs
 * ("cli" and "srv" with identities, "out" in none), a real HTTP server and
 * UDP traffic with known packet counts, the exporter started as a user would
 * start it, and /metrics scraped over HTTP.
 */

const HTTP_PORT = 8080;
const UDP_PORT = 9000;
const HTTP_CONNECTIONS = 5;
const UDP_DATAGRAMS = 20;
const OUTSIDER_DATAGRAMS = 7;
const NEWCOMER_DATAGRAMS = 3;
const ETH_HEADER = 14;

const tag = runTag();
const prefix = `fe${tag}`;
let net: TestNetwork;
let client: TestHost;
let server: TestHost;
let outsider: TestHost;
let exporter: ExporterProcess;
let tmp: string;

/** Runs a short node script inside a namespace and waits for it to finish. */
function nodeIn(ns: string, script: string): string {
  return inNs(ns, process.execPath, ['-e', script]);
}

function httpRequests(ns: string, address: string, count: number): void {
  // agent: false opens a new connection (one new TCP flow) per request
  nodeIn(
    ns,
    `const http = require('http');
     (async () => {
       for (let i = 0; i < ${count}; i++) {
         await new Promise((resolve, reject) => {
           http.get({ host: '${address}', port: ${HTTP_PORT}, path: '/', agent: false }, (res) => {
             res.resume(); res.on('end', resolve);
           }).on('error', reject);
         });
       }
     })().catch((e) => { console.error(e); process.exit(1); });`,
  );
}

function udpDatagrams(ns: string, address: string, count: number): void {
  // one socket, so all datagrams share one 5-tuple: one UDP flow
  nodeIn(
    ns,
    `const s = require('dgram').createSocket('udp4');
     let sent = 0;
     const next = () => {
       if (sent === ${count}) return s.close();
       s.send(Buffer.from('flowlens ' + sent), ${UDP_PORT}, '${address}', (err) => {
         if (err) { console.error(err); process.exit(1); }
         sent++; next();
       });
     };
     next();`,
  );
}

async function scrape(): Promise<Sample[]> {
  return exporter.samples();
}

const pair = (src: string, dst: string) => ({ source_workload: src, destination_workload: dst });

describe('exporter end to end (network namespaces, real kernel)', () => {
  beforeAll(async () => {
    net = new TestNetwork(prefix);
    client = net.addHost('cli', 2);
    server = net.addHost('srv', 3);
    outsider = net.addHost('out', 4);

    tmp = mkdtempSync(join(tmpdir(), 'flowlens-e2e-'));
    const identities = join(tmp, 'identities.yaml');
    writeFileSync(
      identities,
      `identities:
  - namespace: e2e
    workload: client
    labels: { app: client }
    addresses: [${client.address}/32]
  - namespace: e2e
    workload: server
    labels: { app: server }
    addresses: [${server.address}/32]
`,
    );

    const httpServer = net.spawnIn(server.ns, process.execPath, [
      '-e',
      `require('http').createServer((q, s) => s.end('hello')).listen(${HTTP_PORT}, '${server.address}', () => console.log('listening'));`,
    ]);
    const udpSink = net.spawnIn(server.ns, process.execPath, [
      '-e',
      `require('dgram').createSocket('udp4').bind(${UDP_PORT}, '${server.address}', () => console.log('listening'));`,
    ]);
    await Promise.all([httpServer, udpSink].map((c) => new Promise((r) => c.stdout!.once('data', r))));

    exporter = new ExporterProcess(['--interface', `${prefix}*`, '--identities', identities, '--log-level', 'debug']);
    await exporter.ready();
  });

  afterAll(() => {
    exporter?.kill();
    net?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('counts exact flows, packets and bytes per identity pair', async () => {
    const before = ipCounters(client.ns);
    httpRequests(client.ns, server.address, HTTP_CONNECTIONS);
    udpDatagrams(client.ns, server.address, UDP_DATAGRAMS);
    const after = ipCounters(client.ns);

    const m = await scrape();
    const cs = pair('client', 'server');
    // seen leaving the client (its veth's TC ingress) and entering the server (its veth's TC egress)
    for (const direction of ['egress', 'ingress']) {
      expect(sumOf(m, 'flowlens_flows_total', { ...cs, protocol: 'tcp', destination_port: '8080', direction })).toBe(
        HTTP_CONNECTIONS,
      );
      expect(sumOf(m, 'flowlens_flows_total', { ...cs, protocol: 'udp', direction })).toBe(1);
      expect(sumOf(m, 'flowlens_packets_total', { ...cs, protocol: 'udp', direction })).toBe(UDP_DATAGRAMS);
    }
    // the server answered each connection; no flow starts in its direction
    expect(sumOf(m, 'flowlens_flows_total', pair('server', 'client'))).toBe(0);
    expect(sumOf(m, 'flowlens_packets_total', { ...pair('server', 'client'), protocol: 'tcp' })).toBeGreaterThan(0);

    // every IPv4 packet the client's stack sent is counted once at each end, with its bytes plus Ethernet
    const sent = after.outRequests - before.outRequests;
    const sentBytes = after.outOctets - before.outOctets;
    expect(sent).toBeGreaterThan(HTTP_CONNECTIONS * 3 + UDP_DATAGRAMS);
    for (const direction of ['egress', 'ingress']) {
      expect(sumOf(m, 'flowlens_packets_total', { ...cs, direction })).toBe(sent);
      expect(sumOf(m, 'flowlens_bytes_total', { ...cs, direction })).toBe(sentBytes + ETH_HEADER * sent);
    }
    // the SYNs of five connections, each seen at both interfaces
    expect(sumOf(m, 'flowlens_tcp_flags_total', { ...cs, flag: 'syn' })).toBe(2 * HTTP_CONNECTIONS);
  });

  it('labels a source in no identity entry as reserved:world', async () => {
    udpDatagrams(outsider.ns, server.address, OUTSIDER_DATAGRAMS);
    httpRequests(outsider.ns, server.address, 1);
    const m = await scrape();
    const ws = { source_identity: 'reserved:world', destination_workload: 'server' };
    for (const direction of ['egress', 'ingress']) {
      expect(sumOf(m, 'flowlens_packets_total', { ...ws, protocol: 'udp', direction })).toBe(OUTSIDER_DATAGRAMS);
      expect(sumOf(m, 'flowlens_flows_total', { ...ws, protocol: 'tcp', destination_port: '8080', direction })).toBe(1);
    }
    // the stranger's flows, counted once each where they entered the server: one TCP, one UDP
    const unknown = { source_class: 'world', destination_workload: 'server', verdict: 'forwarded' };
    expect(sumOf(m, 'flowlens_unknown_source_flows_total', { ...unknown, destination_port: '8080' })).toBe(1);
    expect(sumOf(m, 'flowlens_unknown_source_flows_total', unknown)).toBe(2);
  });

  it('attaches to an interface created while running, and counts its traffic', async () => {
    const m0 = await scrape();
    const attachedBefore = sumOf(m0, 'flowlens_attached_interfaces');
    expect(attachedBefore).toBe(3);
    const newcomer = net.addHost('new', 9);
    await waitFor('attachment of the new interface', 30_000, () => exporter.output, async () =>
      sumOf(await scrape(), 'flowlens_attached_interfaces') === 4 ? true : undefined,
    );
    udpDatagrams(newcomer.ns, server.address, NEWCOMER_DATAGRAMS);
    const m = await scrape();
    const ws = { source_identity: 'reserved:world', destination_workload: 'server', protocol: 'udp', direction: 'egress' };
    expect(sumOf(m, 'flowlens_packets_total', ws)).toBe(OUTSIDER_DATAGRAMS + NEWCOMER_DATAGRAMS);

    // the interface goes away (as a deleted pod's veth does): forgotten without a warning or error
    ip('link', 'del', newcomer.hostIf);
    await waitFor('the vanished interface to be forgotten', 30_000, () => exporter.output, async () =>
      sumOf(await scrape(), 'flowlens_attached_interfaces') === 3 ? true : undefined,
    );
    expect(exporter.output).toContain(`interface ${newcomer.hostIf}`);
    expect(exporter.output).not.toMatch(/ (warn|error) /);
  });

  it('removes every attachment on SIGTERM and exits 0', async () => {
    const ours = ownedProgramIds(exporter.pid);
    expect(ours.length).toBeGreaterThanOrEqual(2);
    expect(await exporter.terminate()).toBe(0);
    for (const dev of [client.hostIf, server.hostIf, outsider.hostIf]) {
      expect(sh('tc', ['filter', 'show', 'dev', dev, 'ingress'])).toBe('');
      expect(sh('tc', ['filter', 'show', 'dev', dev, 'egress'])).toBe('');
    }
    // a program still attached anywhere (tc filter or tcx link) would still exist
    const remaining = new Set(programIds());
    expect(ours.filter((id) => remaining.has(id))).toEqual([]);
  });
});

function programIds(): number[] {
  return (JSON.parse(sh('bpftool', ['prog', 'show', '-j'])) as Array<{ id: number }>).map((p) => p.id);
}

