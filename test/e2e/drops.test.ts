import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfObject, type TcAttachment } from '../../src/bpf/index.js';
import { ExporterProcess, writeIdentities, REPO } from '../common/exporter.js';
import { runTag, TestNetwork, type TestHost } from '../common/netns.js';
import { connects, dropTcpPort, tcpListener, tcpRetransmits, udpDatagrams, udpListener } from '../common/traffic.js';
import { sumOf, type Sample } from '../common/prom.js';

/**
 * Drops counted exactly, by the kernel's own reason, whatever dropped them: a
 * closed port (no_socket), an nftables rule (netfilter_drop) and a TC program
 * (tc_ingress), with the identities of both ends; traffic that was delivered
 * adds no drop.
 */

const CLOSED_PORT = 7000;
const FILTERED_PORT = 7777;
const OPEN_PORT = 8080;
const UDP_PORT = 9000;
const REFUSED = 4;
const FILTERED = 3;
const SHOT = 5;
const DELIVERED = 6;
/** Dropped SYNs of the retry test, for the totals checked after it. */
let FILTERED_EXTRA = 0;

const tag = runTag();
const prefix = `fd${tag}`;
let net: TestNetwork;
let client: TestHost;
let server: TestHost;
let blocked: TestHost;
let exporter: ExporterProcess;
let tmp: string;

async function scrape(): Promise<Sample[]> {
  return exporter.samples();
}

describe('drops by kernel reason (network namespaces, real kernel)', () => {
  beforeAll(async () => {
    net = new TestNetwork(prefix, '10.218.0');
    client = net.addHost('cli', 2);
    server = net.addHost('srv', 3);
    blocked = net.addHost('blk', 4);
    tmp = mkdtempSync(join(tmpdir(), 'flowlens-drops-'));
    const identities = join(tmp, 'identities.yaml');
    writeIdentities(identities, { client, server, blocked });
    dropTcpPort(server, FILTERED_PORT);

    await Promise.all([tcpListener(net, server, OPEN_PORT), udpListener(net, server, UDP_PORT)]);

    exporter = new ExporterProcess(['--interface', `${prefix}*`, '--identities', identities]);
    await exporter.ready();
  });

  afterAll(() => {
    exporter?.kill();
    net?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('counts refused connections as no_socket, exactly', async () => {
    expect(connects(client, server, CLOSED_PORT, REFUSED)).toBe(Array(REFUSED).fill('ECONNREFUSED').join(','));
    const m = await scrape();
    const sel = { source_workload: 'client', destination_workload: 'server', protocol: 'tcp' };
    expect(sumOf(m, 'flowlens_drops_total', { ...sel, reason: 'no_socket', reason_class: 'no_socket' })).toBe(REFUSED);
  });

  it('counts SYNs dropped by an nftables rule as netfilter_drop, policy, and their flows as dropped', async () => {
    const before = tcpRetransmits(client);
    expect(connects(client, server, FILTERED_PORT, FILTERED)).toBe(Array(FILTERED).fill('timeout').join(','));
    expect(tcpRetransmits(client) - before).toBe(0);
    const m = await scrape();
    const sel = { source_workload: 'client', destination_workload: 'server', protocol: 'tcp' };
    expect(sumOf(m, 'flowlens_drops_total', { ...sel, reason: 'netfilter_drop', reason_class: 'policy' })).toBe(FILTERED);
    // the refused attempts of the test before were dropped too, as no_socket
    expect(sumOf(m, 'flowlens_flows_total', { ...sel, verdict: 'dropped' })).toBe(FILTERED + REFUSED);
  });

  it('counts a dropped SYN the client retried as one dropped flow, and each SYN as a drop', async () => {
    const sel = { source_workload: 'client', destination_workload: 'server', protocol: 'tcp' };
    const before = await scrape();
    const retransmitsBefore = tcpRetransmits(client);
    // 1.5 s: the kernel retries the SYN once, 1 s after the first
    expect(connects(client, server, FILTERED_PORT, 1, 1500)).toBe('timeout');
    const retries = tcpRetransmits(client) - retransmitsBefore;
    expect(retries).toBe(1);
    const m = await scrape();
    const delta = (name: string, labels: Record<string, string>) => sumOf(m, name, labels) - sumOf(before, name, labels);
    expect(delta('flowlens_drops_total', { ...sel, reason: 'netfilter_drop' })).toBe(1 + retries);
    expect(delta('flowlens_flows_total', { ...sel, verdict: 'dropped' })).toBe(1);
    // one forwarded flow at each end's interface, not one per SYN
    expect(delta('flowlens_flows_total', { ...sel, verdict: 'forwarded', direction: 'egress' })).toBe(1);
    expect(delta('flowlens_flows_total', { ...sel, verdict: 'forwarded', direction: 'ingress' })).toBe(1);
    FILTERED_EXTRA += 1 + retries;
  });

  it('counts packets a TC program shot on ingress as tc_ingress, policy', async () => {
    const policy = BpfObject.open(join(REPO, 'bpf', '.output', 'drop_saddr.bpf.o'));
    let link: TcAttachment | undefined;
    try {
      policy.setGlobal('blocked_saddr', Buffer.from(blocked.address.split('.').map(Number)).readUInt32LE(0));
      policy.load();
      const ifindex = Number(readFileSync(`/sys/class/net/${blocked.hostIf}/ifindex`, 'utf8'));
      link = policy.program('drop_saddr').attachTc(ifindex, 'ingress', { mode: 'tcx' });
      udpDatagrams(blocked, server, UDP_PORT, SHOT);
    } finally {
      link?.detach();
      policy.close();
    }
    const m = await scrape();
    const sel = { source_workload: 'blocked', destination_workload: 'server', protocol: 'udp' };
    expect(sumOf(m, 'flowlens_drops_total', { ...sel, reason: 'tc_ingress', reason_class: 'policy' })).toBe(SHOT);
  });

  it('adds no drop for traffic that was delivered', async () => {
    expect(connects(client, server, OPEN_PORT, DELIVERED)).toBe(Array(DELIVERED).fill('connected').join(','));
    udpDatagrams(client, server, UDP_PORT, DELIVERED);
    const m = await scrape();
    expect(sumOf(m, 'flowlens_drops_total', { source_workload: 'client', destination_workload: 'server' })).toBe(REFUSED + FILTERED + FILTERED_EXTRA);
    expect(sumOf(m, 'flowlens_drops_total', { source_workload: 'client', destination_workload: 'server', protocol: 'udp' })).toBe(0);
    expect(sumOf(m, 'flowlens_drops_total', { source_workload: 'server', destination_workload: 'client' })).toBe(0);
  });
});

describe('drops of IPv6 packets (network namespaces, real kernel)', () => {
  const prefix6 = `fe${tag}`;
  let net6: TestNetwork;
  let client6: TestHost;
  let server6: TestHost;
  let exporter6: ExporterProcess;
  let tmp6: string;

  beforeAll(async () => {
    net6 = new TestNetwork(prefix6, 'fd00:218:0:0', 6);
    client6 = net6.addHost('cli', 2);
    server6 = net6.addHost('srv', 3);
    tmp6 = mkdtempSync(join(tmpdir(), 'flowlens-drops6-'));
    const identities = join(tmp6, 'identities.yaml');
    writeIdentities(identities, { client: client6, server: server6 });
    dropTcpPort(server6, FILTERED_PORT);
    exporter6 = new ExporterProcess(['--interface', `${prefix6}*`, '--identities', identities]);
    await exporter6.ready();
  });

  afterAll(() => {
    exporter6?.kill();
    net6?.cleanup();
    if (tmp6) rmSync(tmp6, { recursive: true, force: true });
  });

  it('reads IPv6 headers of dropped packets: no_socket and netfilter_drop counted exactly, by identity', async () => {
    expect(connects(client6, server6, CLOSED_PORT, REFUSED)).toBe(Array(REFUSED).fill('ECONNREFUSED').join(','));
    const before = tcpRetransmits(client6);
    expect(connects(client6, server6, FILTERED_PORT, FILTERED)).toBe(Array(FILTERED).fill('timeout').join(','));
    expect(tcpRetransmits(client6) - before).toBe(0);
    const m = await exporter6.samples();
    const sel = { source_workload: 'client', destination_workload: 'server', protocol: 'tcp' };
    expect(sumOf(m, 'flowlens_drops_total', { ...sel, reason: 'no_socket', reason_class: 'no_socket' })).toBe(REFUSED);
    expect(sumOf(m, 'flowlens_drops_total', { ...sel, reason: 'netfilter_drop', reason_class: 'policy' })).toBe(FILTERED);
    expect(sumOf(m, 'flowlens_flows_total', { ...sel, verdict: 'dropped' })).toBe(FILTERED + REFUSED);
  });
});
