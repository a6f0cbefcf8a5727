import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfObject, enableBpfStats, type TcAttachment } from '../src/bpf/index.js';
import { FlowDatapath, FLOW_OBJECT_PATH } from '../src/datapath/flow.js';
import { REPO, waitFor } from '../test/common/exporter.js';
import { parseCidr } from '../src/net/cidr.js';
import { inNs, runTag, TestNetwork, type TestHost } from '../test/common/netns.js';
import { report } from './report.js';
import { nginxConfig } from './servers.js';

/**
 * Kernel cost of HTTP/1.x parsing per exchange (issue 15, target 4): wrk in
 * one namespace against nginx in another, both ends on this node, so every
 * exchange passes all four hooks (request: client's egress, server's
 * ingress; response: server's egress, client's ingress). Arms, alternating
 * their order from round to round, on the same load:
 * - flow.bpf.o with HTTP parsing on, and the same object with it off
 *   (http_enabled false): BPF ns per exchange = (run time of both programs
 *   on - off) / the exchanges wrk completed, from bpf_stats;
 * - the empty TC program (bench/empty.bpf.c) on the same four hooks, for
 *   flow.bpf.c's ns per packet as a multiple of it (target <= 3).
 * The programs are loaded here, as the exporter loads them (FlowDatapath,
 * default settings, the ring read every 100 ms), with no exporter process,
 * so an arm needs no start-up settling and rounds are short.
 *
 * FLOWLENS_BENCH_OBJECTS="name=path,name=path" compares other builds of
 * flow.bpf.o side by side (each gets its own on and off arms), for A/B steps;
 * by default the tree's own object. FLOWLENS_BENCH_PREFIX and
 * FLOWLENS_BENCH_SUBNET set the namespace prefix and the /24 (three octets).
 */

const ROUNDS = Number(process.env.FLOWLENS_BENCH_ROUNDS ?? 8);
const SECONDS = Number(process.env.FLOWLENS_BENCH_SECONDS ?? 3);
const CONNECTIONS = 8;
const SERVER_PORT = 8080;
// wrk (the client) on CPU 0, nginx on CPU 1: the request and the response run on different CPUs, as in http.bench.ts
const CLIENT_CPU = '0';
const SERVER_CPU = '1';
const CLIENT_IDENTITY = 4101;
const SERVER_IDENTITY = 4102;

interface Variant {
  name: string;
  path: string;
}

function variants(): Variant[] {
  const spec = process.env.FLOWLENS_BENCH_OBJECTS;
  if (!spec) return [{ name: 'tree', path: FLOW_OBJECT_PATH }];
  return spec.split(',').map((item) => {
    const [name, path] = item.split('=');
    if (!name || !path) throw new Error(`FLOWLENS_BENCH_OBJECTS: '${item}' is not name=path`);
    return { name, path };
  });
}

const WRK_FIGURES = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests":%d,"errors":%d}\\n', summary.requests,
    e.connect + e.read + e.write + e.status + e.timeout))
end
`;

/** Exchanges wrk completed in a saturated run (closed loop, CONNECTIONS in flight). */
function wrk(client: TestHost, url: string, script: string, seconds: number): number {
  const out = execFileSync(
    'ip',
    ['netns', 'exec', client.ns, 'taskset', '-c', CLIENT_CPU, 'wrk', '-t', '1', '-c', String(CONNECTIONS), '-d', `${seconds}s`, '-s', script, url],
    { encoding: 'utf8', timeout: (seconds + 15) * 1000 },
  );
  const line = out.split('\n').find((l) => l.startsWith('WRK '));
  if (!line) throw new Error(`no figures from wrk:\n${out}`);
  const r = JSON.parse(line.slice(4)) as { requests: number; errors: number };
  if (r.errors !== 0 || r.requests === 0) throw new Error(`wrk saw ${r.errors} errors in ${r.requests} requests:\n${out}`);
  return r.requests;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ifindexOf = (h: TestHost) => Number(readFileSync(`/sys/class/net/${h.hostIf}/ifindex`, 'utf8'));

interface Run {
  /** BPF run time of all attached programs, ns */
  ns: number;
  /** program runs (packets times hooks) */
  runs: number;
  exchanges: number;
}

let net: TestNetwork | undefined;
let tmp: string | undefined;
const loaded: FlowDatapath[] = [];
let empty: BpfObject | undefined;

describe('HTTP kernel cost', () => {
  afterAll(() => {
    for (const dp of loaded) dp.close();
    empty?.close();
    net?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('BPF ns per HTTP exchange over flow counting alone, and flow.bpf.c ns per packet against an empty program', async () => {
    const prefix = process.env.FLOWLENS_BENCH_PREFIX || `fk${runTag()}`;
    net = new TestNetwork(prefix, process.env.FLOWLENS_BENCH_SUBNET || '10.233.0');
    const client = net.addHost('cli', 2);
    const server = net.addHost('srv', 3);
    tmp = mkdtempSync(join(tmpdir(), 'flowlens-http-kernel-'));
    const script = join(tmp, 'figures.lua');
    writeFileSync(script, WRK_FIGURES);
    writeFileSync(join(tmp, 'nginx.conf'), nginxConfig(tmp, SERVER_PORT, '', '    location / {\n      default_type text/plain;\n      return 200 "flowlens bench\\n";\n    }'));
    const nginx: ChildProcess = net.spawnIn(server.ns, 'taskset', ['-c', SERVER_CPU, 'nginx', '-p', tmp, '-c', join(tmp, 'nginx.conf'), '-e', join(tmp, 'nginx-error.log')]);
    let stderr = '';
    nginx.stderr!.on('data', (d) => (stderr += d));
    await waitFor(`nginx on port ${SERVER_PORT}`, 10_000, () => stderr, async () =>
      inNs(server.ns, 'ss', ['-Hltn', `sport = :${SERVER_PORT}`]).trim() ? true : undefined,
    );
    const url = `http://${server.address}:${SERVER_PORT}/`;
    wrk(client, url, script, 1); // warm-up: ARP, caches, nginx's first connections

    const stats = enableBpfStats();
    try {
      /** One loaded flow.bpf.o, as the exporter loads it, with the two hosts' identities in its ipcache. */
      const load = (path: string, http: boolean): FlowDatapath => {
        const dp = FlowDatapath.load({
          objectPath: path,
          pinPath: null,
          attachMode: 'tcx',
          flowIdleTimeoutSeconds: 30,
          eventsPerSecond: 1000,
          ringBufferBytes: 256 * 1024,
          mapEntries: 16384,
          destinationPorts: [SERVER_PORT],
          http,
        });
        loaded.push(dp);
        const writer = dp.ipcacheWriter();
        writer.set(parseCidr(`${client.address}/32`), CLIENT_IDENTITY);
        writer.set(parseCidr(`${server.address}/32`), SERVER_IDENTITY);
        return dp;
      };
      const hosts = [client, server].map((h) => ({ name: h.hostIf, ifindex: ifindexOf(h) }));
      /** Runs wrk with dp attached to both endpoints' interfaces; its programs' run time over the run. */
      const measureFlow = (dp: FlowDatapath): Run => {
        const links = hosts.map((h) => dp.attach(h, 'endpoint'));
        try {
          wrk(client, url, script, 1); // the arm's own warm-up: its maps' first entries
          const before = dp.snapshot(2).programs;
          const exchanges = wrk(client, url, script, SECONDS);
          const after = dp.snapshot(2).programs;
          const sum = (ps: typeof before, f: (p: (typeof before)[number]) => number) => ps.reduce((s, p) => s + f(p), 0);
          return {
            ns: (sum(after, (p) => p.runSeconds) - sum(before, (p) => p.runSeconds)) * 1e9,
            runs: sum(after, (p) => p.runs) - sum(before, (p) => p.runs),
            exchanges,
          };
        } finally {
          for (const l of links) l.detach();
        }
      };
      empty = BpfObject.open(join(REPO, 'bpf', '.output', 'empty.bpf.o'));
      empty.load();
      const measureEmpty = (): Run => {
        const program = empty!.program('empty');
        const links: TcAttachment[] = hosts.flatMap((h) => [program.attachTc(h.ifindex, 'ingress', { mode: 'tcx' }), program.attachTc(h.ifindex, 'egress', { mode: 'tcx' })]);
        try {
          wrk(client, url, script, 1);
          const before = program.info();
          const exchanges = wrk(client, url, script, SECONDS);
          const after = program.info();
          return { ns: Number(after.runTimeNs - before.runTimeNs), runs: Number(after.runCount - before.runCount), exchanges };
        } finally {
          for (const l of links) l.detach();
        }
      };

      const vs = variants();
      const arms = vs.flatMap((v) => [
        { name: `${v.name} on`, dp: load(v.path, true) },
        { name: `${v.name} off`, dp: load(v.path, false) },
      ]);
      const runs = new Map<string, Run[]>([...arms.map((a) => [a.name, []] as [string, Run[]]), ['empty', []]]);
      const steps: Array<() => void> = [
        ...arms.map((a) => () => void runs.get(a.name)!.push(measureFlow(a.dp))),
        () => void runs.get('empty')!.push(measureEmpty()),
      ];
      for (let round = 0; round < ROUNDS; round++) {
        for (const step of round % 2 === 0 ? steps : [...steps].reverse()) step();
      }

      const perExchange = (r: Run) => r.ns / r.exchanges;
      const perPacket = (r: Run) => r.ns / r.runs;
      const emptyRuns = runs.get('empty')!;
      report(`wrk ${CONNECTIONS} conns, ${SECONDS} s x ${ROUNDS} rounds: exchanges/s (empty arm, median)`, (median(emptyRuns.map((r) => r.exchanges)) / SECONDS).toFixed(0));
      report('empty TC program ns per packet (median)', median(emptyRuns.map(perPacket)).toFixed(1));
      const extra = new Map<string, number>();
      for (const v of vs) {
        const on = runs.get(`${v.name} on`)!;
        const off = runs.get(`${v.name} off`)!;
        // each round's arms ran back to back: per-round differences cancel the VM's drift
        const perRound = on.map((r, i) => perExchange(r) - perExchange(off[i]!));
        extra.set(v.name, median(perRound));
        report(`${v.name}: BPF ns per exchange, HTTP on / off (median)`, `${median(on.map(perExchange)).toFixed(0)} / ${median(off.map(perExchange)).toFixed(0)}`);
        report(`${v.name}: HTTP's BPF ns per exchange, on - off (target <= 600)`, `${median(perRound).toFixed(0)} (rounds ${Math.min(...perRound).toFixed(0)}-${Math.max(...perRound).toFixed(0)})`);
        const ratioOn = on.map((r, i) => perPacket(r) / perPacket(emptyRuns[i]!));
        const ratioOff = off.map((r, i) => perPacket(r) / perPacket(emptyRuns[i]!));
        report(`${v.name}: flow.bpf.c / empty per packet, HTTP on / off (target <= 3)`, `${median(ratioOn).toFixed(2)} / ${median(ratioOff).toFixed(2)}`);
        expect(Number.isFinite(median(perRound))).toBe(true);
      }
      if (vs.length > 1) {
        const first = extra.get(vs[0]!.name)!;
        for (const v of vs.slice(1)) report(`${v.name} / ${vs[0]!.name}: HTTP's ns per exchange`, (extra.get(v.name)! / first).toFixed(3));
      }
    } finally {
      stats.disable();
    }
  }, 30 * 60_000);
});
