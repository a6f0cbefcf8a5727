/**
 * drop.bpf.c on the real kernel: two network namespaces joined by a veth
 * pair, real TCP connection attempts dropped by the server's stack (no
 * socket) and by an nftables rule, and unrelated successful connections in
 * the same window. Other drops happen on the machine meanwhile (the tracer
 * sees them all), so only keys carrying this test's identities are asserted.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Direction, Family, Verdict, type DropEvent } from '../../src/bpf/codecs.js';
import { DropDatapath, type DropSnapshot } from '../../src/datapath/drop.js';
import { FlowDatapath } from '../../src/datapath/flow.js';
import { parseCidr } from '../../src/net/cidr.js';
import { inNs, ip, runTag } from '../common/netns.js';

const TAG = runTag();
const CLIENT_NS = `fldrop-${TAG}-c`;
const SERVER_NS = `fldrop-${TAG}-s`;
const CLIENT_IF = `fldc${TAG}`;
const SERVER_IF = `flds${TAG}`;
const CLIENT_ADDR = '10.217.0.1';
const SERVER_ADDR = '10.217.0.2';
const CLIENT_ID = 47101;
const SERVER_ID = 47102;

const CLOSED_PORT = 7000;
const FILTERED_PORT = 7777;
const OPEN_PORT = 8080;
/** Ports keyed by themselves (metrics.destinationPorts); any other port is keyed by its range. */
const COUNTED_PORTS = [CLOSED_PORT, FILTERED_PORT, OPEN_PORT];
const REFUSED_ATTEMPTS = 5;
const FILTERED_ATTEMPTS = 4;

/** enum skb_drop_reason of the running kernel, name -> value, from its BTF (the numbering varies by version). */
function kernelDropReasons(): Map<string, number> {
  const text = execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'raw'], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  const start = text.indexOf("ENUM 'skb_drop_reason'");
  if (start < 0) throw new Error('enum skb_drop_reason not in the kernel BTF');
  const reasons = new Map<string, number>();
  for (const line of text.slice(start).split('\n').slice(1)) {
    const m = /^\s+'(\w+)' val=(\d+)$/.exec(line);
    if (!m) break;
    reasons.set(m[1]!, Number(m[2]));
  }
  return reasons;
}

/*
 * Client modes, one connection at a time:
 * refused  - connect until ECONNREFUSED (the server's stack answers the SYN with RST)
 * silent   - connect, give up after 300 ms, well before the first SYN retransmit (1 s)
 * echo     - connect, send, read the echo back, close cleanly
 */
const CLIENT = `
const net = require('node:net');
const [mode, host, port, count] = process.argv.slice(1);
function once() {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port: Number(port) });
    if (mode === 'silent') {
      const timer = setTimeout(() => { s.destroy(); resolve(); }, 300);
      s.on('connect', () => { clearTimeout(timer); s.destroy(); reject(new Error('connected')); });
      s.on('error', (e) => { clearTimeout(timer); reject(e); });
    } else if (mode === 'refused') {
      s.on('connect', () => { s.destroy(); reject(new Error('connected')); });
      s.on('error', (e) => (e.code === 'ECONNREFUSED' ? resolve() : reject(e)));
    } else {
      let got = '';
      s.on('connect', () => s.write('ping'));
      s.on('data', (d) => { got += d; if (got === 'ping') s.end(); });
      s.on('close', () => (got === 'ping' ? resolve() : reject(new Error('echo: ' + got))));
      s.on('error', reject);
    }
  });
}
(async () => { for (let i = 0; i < Number(count); i++) await once(); })().catch((e) => { console.error(e.message); process.exit(1); });
`;

function client(mode: 'refused' | 'silent' | 'echo', port: number, count: number): void {
  inNs(CLIENT_NS, process.execPath, ['-e', CLIENT, mode, SERVER_ADDR, String(port), String(count)]);
}

/** Tcp counters of a namespace's stack (/proc/net/snmp). */
function tcpCounters(ns: string): Record<string, number> {
  const lines = inNs(ns, 'cat', ['/proc/net/snmp']).split('\n').filter((l) => l.startsWith('Tcp:'));
  const names = lines[0]!.split(/\s+/).slice(1);
  const values = lines[1]!.split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(names.map((n, i) => [n, values[i]!]));
}

function ours(snapshot: DropSnapshot): DropSnapshot['drops'] {
  return snapshot.drops.filter((d) => [CLIENT_ID, SERVER_ID].includes(d.srcIdentity) || [CLIENT_ID, SERVER_ID].includes(d.dstIdentity));
}

/** Polls until check passes: kfree_skb runs in softirq, and events arrive on the event loop. */
async function eventually(check: () => void): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

let flow: FlowDatapath;
let drop: DropDatapath;
let server: ChildProcess | undefined;
const events: DropEvent[] = [];

beforeAll(async () => {
  ip('netns', 'add', CLIENT_NS);
  ip('netns', 'add', SERVER_NS);
  ip('link', 'add', CLIENT_IF, 'netns', CLIENT_NS, 'type', 'veth', 'peer', 'name', SERVER_IF, 'netns', SERVER_NS);
  for (const [ns, dev, addr] of [
    [CLIENT_NS, CLIENT_IF, CLIENT_ADDR],
    [SERVER_NS, SERVER_IF, SERVER_ADDR],
  ] as const) {
    // no IPv6: router solicitations and MLD reports would be traffic the test did not make
    inNs(ns, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    inNs(ns, 'ip', ['link', 'set', 'lo', 'up']);
    inNs(ns, 'ip', ['addr', 'add', `${addr}/24`, 'dev', dev]);
    inNs(ns, 'ip', ['link', 'set', dev, 'up']);
  }
  inNs(SERVER_NS, 'nft', ['add', 'table', 'inet', 't']);
  inNs(SERVER_NS, 'nft', ['add', 'chain', 'inet', 't', 'input', '{ type filter hook input priority 0; policy accept; }']);
  inNs(SERVER_NS, 'nft', ['add', 'rule', 'inet', 't', 'input', 'tcp', 'dport', String(FILTERED_PORT), 'drop']);

  server = spawn(
    'ip',
    ['netns', 'exec', SERVER_NS, process.execPath, '-e', `require('node:net').createServer((s) => s.pipe(s)).listen(${OPEN_PORT}, () => console.log('ready'))`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await once(server.stdout!, 'data');

  flow = FlowDatapath.load({
    pinPath: null,
    attachMode: 'auto',
    flowIdleTimeoutSeconds: 30,
    eventsPerSecond: 1000,
    ringBufferBytes: 256 * 1024,
    mapEntries: 16384,
    destinationPorts: COUNTED_PORTS,
  });
  drop = DropDatapath.load({
    identityMaps: flow.identityMaps(),
    eventsPerSecond: 1000,
    ringBufferBytes: 256 * 1024,
    mapEntries: 16384,
    destinationPorts: COUNTED_PORTS,
    onDropEvent: (e) => events.push(e),
  });
  // written through the flow object: the drop program reads the same trie
  const ipcache = flow.ipcacheWriter();
  ipcache.set(parseCidr(`${CLIENT_ADDR}/32`), CLIENT_ID);
  ipcache.set(parseCidr(`${SERVER_ADDR}/32`), SERVER_ID);
});

afterAll(() => {
  drop?.close();
  flow?.close();
  if (server?.pid && server.exitCode === null) server.kill('SIGKILL');
  // the veth pair and the nft table go with the namespaces
  for (const ns of [CLIENT_NS, SERVER_NS]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // never created
    }
  }
});

describe('DropDatapath', () => {
  it('counts each dropped connection attempt by reason, identities and port, and nothing of the traffic that got through', async () => {
    const reasons = kernelDropReasons();
    const noSocket = reasons.get('SKB_DROP_REASON_NO_SOCKET');
    const netfilterDrop = reasons.get('SKB_DROP_REASON_NETFILTER_DROP');
    expect(noSocket).toBeDefined();
    expect(netfilterDrop).toBeDefined();

    client('echo', OPEN_PORT, 3);
    client('refused', CLOSED_PORT, REFUSED_ATTEMPTS);
    client('echo', OPEN_PORT, 3);
    const before = tcpCounters(CLIENT_NS);
    client('silent', FILTERED_PORT, FILTERED_ATTEMPTS);
    const after = tcpCounters(CLIENT_NS);
    client('echo', OPEN_PORT, 3);
    // every SYN the client sent to the filtered port, retransmits included (none expected, but counted)
    const filteredSyns = after.ActiveOpens! - before.ActiveOpens! + (after.RetransSegs! - before.RetransSegs!);
    expect(filteredSyns).toBeGreaterThanOrEqual(FILTERED_ATTEMPTS);

    const toServer = { srcIdentity: CLIENT_ID, dstIdentity: SERVER_ID, protocol: 6, direction: Direction.INGRESS };
    const expected = [
      { ...toServer, reason: noSocket!, dstPort: CLOSED_PORT, packets: REFUSED_ATTEMPTS },
      { ...toServer, reason: netfilterDrop!, dstPort: FILTERED_PORT, packets: filteredSyns },
    ];
    const byPort = (a: { dstPort: number }, b: { dstPort: number }) => a.dstPort - b.dstPort;
    await eventually(() => expect(ours(drop.snapshot()).sort(byPort)).toEqual(expected));

    const snapshot = drop.snapshot();
    const startKey = { ...toServer, verdict: Verdict.DROPPED };
    expect(snapshot.droppedFlows.filter((s) => s.srcIdentity === CLIENT_ID || s.dstIdentity === CLIENT_ID).sort(byPort)).toEqual([
      { ...startKey, dstPort: CLOSED_PORT, flows: REFUSED_ATTEMPTS },
      { ...startKey, dstPort: FILTERED_PORT, flows: filteredSyns },
    ]);
    expect(snapshot.mapErrors).toBe(0);
    expect(snapshot.maps.find((m) => m.map === 'drops')).toMatchObject({ capacity: 16384 });
    expect(snapshot.maps.find((m) => m.map === 'drops')!.entries).toBeGreaterThanOrEqual(2);

    // one event per drop, with the addresses and ports the identities were resolved from
    await eventually(() =>
      expect(events.filter((e) => e.srcIdentity === CLIENT_ID).length).toBe(REFUSED_ATTEMPTS + filteredSyns),
    );
    const serverIfindex = Number(inNs(SERVER_NS, 'cat', [`/sys/class/net/${SERVER_IF}/ifindex`]).trim());
    for (const e of events.filter((ev) => ev.srcIdentity === CLIENT_ID)) {
      expect(e).toMatchObject({
        type: 2,
        family: Family.IPV4,
        protocol: 6,
        direction: Direction.INGRESS,
        ifindex: serverIfindex,
        dstIdentity: SERVER_ID,
        saddr: Buffer.from([10, 217, 0, 1]),
        daddr: Buffer.from([10, 217, 0, 2]),
        reason: e.dport === CLOSED_PORT ? noSocket : netfilterDrop,
      });
      expect([CLOSED_PORT, FILTERED_PORT]).toContain(e.dport);
      expect(e.sport).toBeGreaterThanOrEqual(1024);
    }
    expect(events.filter((e) => e.srcIdentity === CLIENT_ID && e.dport === CLOSED_PORT)).toHaveLength(REFUSED_ATTEMPTS);
    // still exactly these: nothing of the echo traffic showed up later
    expect(ours(drop.snapshot()).sort(byPort)).toEqual(expected);
  });

  it('resolves identities through the shared ipcache as it changes', async () => {
    // a write through the flow object after load is seen by the drop program at once
    const moved = 47199;
    flow.ipcacheWriter().set(parseCidr(`${CLIENT_ADDR}/32`), moved);
    client('refused', CLOSED_PORT, 2);
    await eventually(() =>
      expect(drop.snapshot().drops.filter((d) => d.srcIdentity === moved)).toEqual([
        expect.objectContaining({ dstIdentity: SERVER_ID, dstPort: CLOSED_PORT, packets: 2 }),
      ]),
    );
  });
});
