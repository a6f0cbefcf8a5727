import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfObject, enableBpfStats } from '../src/bpf/index.js';
import { ExporterProcess, REPO, writeIdentities } from '../test/common/exporter.js';
import { runTag, TestNetwork, type TestHost } from '../test/common/netns.js';
import { sumOf, type Sample } from '../test/common/prom.js';
import { programTime, scrapeWhile } from './cost.js';
import { report, reportTargets, type TargetResult } from './report.js';
import { startBackend, startFrontendNginx, startSidecar, startTinyNginx } from './servers.js';
import { cpuSeconds, settled } from './settle.js';
import { wrk, writeWrkScripts, type WrkResult, type WrkScripts } from './wrk.js';

/**
 * What the exporter costs HTTP workloads, against the bare path and against a
 * sidecar proxy, as ratios measured side by side in one run (issue 15's
 * targets 1, 2, 3, 4's per-exchange BPF time, 6 and 7). Two workloads:
 * - tiny: wrk in one namespace against nginx answering a 15-byte body in
 *   another, the cheapest request there is, so the exporter's share is as
 *   large as it gets;
 * - service: wrk against a frontend (nginx as a reverse proxy, keep-alive
 *   upstream connections) in front of a Node.js backend that builds a ~2 KiB
 *   JSON answer for each request (bench/service-backend.mjs), each in its own
 *   namespace on its own veth.
 * Arms of each workload:
 * - bare: nothing attached;
 * - HTTP off: the exporter with `http.enabled: false` (flow counting only);
 * - defaults: the exporter with its defaults (HTTP parsing on);
 * - sidecar: no exporter, the requests go through haproxy in the server's
 *   (frontend's) namespace and on its CPU, forwarding over loopback: a sidecar
 *   stand-in;
 * - tiny only, empty hooks: an empty TC program on the exporter's four hooks.
 * The exporter is measured once past its start-up work (settle.ts), attached
 * to every veth of the run. Every arm runs a 1 s warm-up, then saturated (wrk's
 * connections each send the next request as soon as the answer arrives) for
 * requests/s and saturated p99, then paced (each connection waits after each
 * answer, well under every arm's capacity) for p50 and p99, so that p99 is the
 * path's own latency rather than the queueing of a saturated closed loop. The
 * ratios are medians of the per-round ratios, the arms alternating their order
 * from round to round.
 * The exporter arms then run two more saturated runs, kept out of the figures
 * above because they change what they measure:
 * - cost: with kernel bpf_stats on, the exporter process's CPU (utime + stime)
 *   plus the run time of its BPF programs, per 1,000 requests (= vCPU per
 *   1,000 requests/s); the sidecar arm's haproxy CPU comes from its saturated run;
 * - scrapes (defaults only): GET /metrics every 100 ms, whole answer timed.
 */

/** FLOWLENS_BENCH_ROUNDS overrides both workloads' rounds, for quick runs (figures get noisier). */
function rounds(defaultRounds: number): number {
  const env = process.env.FLOWLENS_BENCH_ROUNDS;
  if (env === undefined || env === '') return defaultRounds;
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1) throw new Error(`FLOWLENS_BENCH_ROUNDS must be a positive integer, not ${env}`);
  return n;
}
const TINY_ROUNDS = rounds(8);
// each round ~73 s (two exporter starts settling ~15 s each): 5 rounds ~6 min
const SERVICE_ROUNDS = rounds(5);
const SECONDS = 3;
const WARM_UP_SECONDS = 1;
// wrk is closed-loop: this many connections, each with one request in flight
const CONNECTIONS = 8;
// paced runs: each connection waits this long after an answer before its next
// request: ~6,800 requests/s on the tiny workload, ~1,700 on the service
// (whose sidecar arm saturates at ~9,000)
const TINY_PACE_MS = 1;
const SERVICE_PACE_MS = 4;
const APP_PORT = 8080;
const SIDECAR_PORT = 8081;
const BACKEND_PORT = 9090;
// after the exporter exits the kernel still frees its maps and programs (RCU,
// workqueues): the arms without it wait for that, or they would pay for it
const TEARDOWN_SETTLE_MS = 2000;
// wrk (the client) on CPU 0; the servers and the sidecar on CPU 1, as a sidecar shares its pod's CPUs
const CLIENT_CPU = '0';
const SERVER_CPU = '1';
const SCRAPE_EVERY_MS = 100;
// Istio 1.24's published sidecar cost: 0.20 vCPU per 1,000 requests/s through the proxy
const SIDECAR_ANCHOR_VCPU = 0.2;
// The run's network: host-side veths are `${PREFIX}<name>`, namespaces `${PREFIX}-<name>`,
// addresses SUBNET.2-5/24. Overridable for machines where these are taken.
const PREFIX = process.env.FLOWLENS_BENCH_PREFIX || `fw${runTag()}`;
const SUBNET = process.env.FLOWLENS_BENCH_SUBNET || '10.232.0';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)]!;

/** One arm's measurements, one entry per round. */
interface Arm {
  label: string;
  saturated: WrkResult[];
  paced: WrkResult[];
  /** CPU-seconds per 1,000 requests (= vCPU per 1,000 requests/s): process, BPF programs, both */
  processPer1000: number[];
  bpfPer1000: number[];
  cpuPer1000: number[];
  bpfNsPerRequest: number[];
  /** /metrics latencies (ms) of every round's scrape run */
  scrapeMs: number[];
}
const newArm = (label: string): Arm => ({ label, saturated: [], paced: [], processPer1000: [], bpfPer1000: [], cpuPer1000: [], bpfNsPerRequest: [], scrapeMs: [] });

interface Workload {
  name: 'tiny' | 'service';
  client: TestHost;
  direct: string;
  proxied: string;
  scripts: WrkScripts;
  paceMs: number;
  sidecarPid: number;
  /**
   * Exchanges the exporter counted at the servers' side, one count per server
   * wrk's requests reach (the frontend and the backend count one each).
   */
  counted: (m: Sample[]) => number[];
}

let net: TestNetwork;
let hosts: { client: TestHost; server: TestHost; frontend: TestHost; backend: TestHost };
let exporter: ExporterProcess | undefined;
let empty: BpfObject | undefined;
let tmp: string;
let identities: string;
let noHttp: string;
/** Targets by id, filled by the workloads' tests, printed by the last test. */
const targets = new Map<string, TargetResult>();

const load = (w: Workload, url: string, kind: 'saturated' | 'paced', seconds = SECONDS) =>
  wrk(w.client, url, w.scripts[kind], { connections: CONNECTIONS, seconds, cpu: CLIENT_CPU });

/** Requests wrk completed in an arm's runs, and how many runs (each may leave one request per connection in flight). */
interface Completed {
  requests: number;
  runs: number;
}

/** Warm-up, saturated and paced runs against `url`; with `sidecarPid`, that process's CPU over the saturated run. */
async function measure(w: Workload, into: Arm, url: string, sidecarPid?: number): Promise<Completed> {
  // a warm-up first, so that no arm starts after a long idle (the exporter's settling)
  const warmUp = await load(w, url, 'saturated', WARM_UP_SECONDS);
  const cpu0 = sidecarPid === undefined ? 0 : cpuSeconds(sidecarPid);
  const saturated = await load(w, url, 'saturated');
  if (sidecarPid !== undefined) {
    const per1000 = (cpuSeconds(sidecarPid) - cpu0) / (saturated.requests / 1000);
    into.processPer1000.push(per1000);
    into.cpuPer1000.push(per1000);
  }
  into.saturated.push(saturated);
  const paced = await load(w, url, 'paced');
  into.paced.push(paced);
  return { requests: warmUp.requests + saturated.requests + paced.requests, runs: 3 };
}

/**
 * An exporter arm: start, settle, measure, then the cost run (bpf_stats on)
 * and, with `scrapes`, the scrape run; then stop and let the kernel free
 * what it held. Returns what wrk completed and what the exporter counted.
 */
async function measureExporter(w: Workload, into: Arm, args: string[], scrapes: boolean): Promise<Completed & { counted: number[] }> {
  exporter = new ExporterProcess(['--interface', `${PREFIX}*`, '--identities', identities, ...args]);
  const pid = exporter.pid;
  await exporter.ready();
  // start-up work (loading, the memory reducer's full GC) is not steady-state cost
  await settled(pid);
  const completed = await measure(w, into, w.direct);

  const stats = enableBpfStats();
  try {
    const bpf0 = programTime(pid);
    const cpu0 = cpuSeconds(pid);
    const r = await load(w, w.direct, 'saturated');
    const processSeconds = cpuSeconds(pid) - cpu0;
    const bpfNs = programTime(pid).runTimeNs - bpf0.runTimeNs;
    const thousands = r.requests / 1000;
    into.processPer1000.push(processSeconds / thousands);
    into.bpfPer1000.push(bpfNs / 1e9 / thousands);
    into.cpuPer1000.push((processSeconds + bpfNs / 1e9) / thousands);
    into.bpfNsPerRequest.push(bpfNs / r.requests);
    completed.requests += r.requests;
    completed.runs++;
  } finally {
    stats.disable();
  }

  if (scrapes) {
    const run = load(w, w.direct, 'saturated');
    into.scrapeMs.push(...(await scrapeWhile(`${exporter.base}/metrics`, SCRAPE_EVERY_MS, run)));
    completed.requests += (await run).requests;
    completed.runs++;
  }

  const counted = w.counted(await exporter.samples());
  expect(await exporter.terminate()).toBe(0);
  exporter = undefined;
  await sleep(TEARDOWN_SETTLE_MS);
  return { ...completed, counted };
}

/** Runs `arms` for `n` rounds, alternating their order so that drift in the VM's speed favours none. */
async function alternate(n: number, arms: (() => Promise<unknown>)[]): Promise<void> {
  for (let round = 0; round < n; round++) {
    for (const run of round % 2 === 0 ? arms : [...arms].reverse()) await run();
  }
}

const rps = (r: WrkResult) => r.requestsPerSecond;
const p50 = (r: WrkResult) => r.p50Us;
const p99 = (r: WrkResult) => r.p99Us;
const sat = (a: Arm) => a.saturated;
const pace = (a: Arm) => a.paced;
/** Median over rounds of `of`'s figure over `base`'s, each round's pair measured back to back. */
const ratio = (runs: (a: Arm) => WrkResult[], of: Arm, base: Arm, f: (r: WrkResult) => number) =>
  median(runs(of).map((r, i) => f(r) / f(runs(base)[i]!)));

/** The workload's BENCH lines and its entries of the target table. */
function reportWorkload(w: Workload, n: number, bare: Arm, arms: Arm[], httpOff: Arm, defaults: Arm, sidecar: Arm): void {
  const all = [bare, ...arms];
  const names = all.map((a) => a.label).join(' / ');
  const figures = (runs: (a: Arm) => WrkResult[], f: (r: WrkResult) => number, fmt: (x: number) => string) =>
    all.map((a) => fmt(median(runs(a).map(f)))).join(' / ');
  const perSecond = (x: number) => x.toFixed(0);
  const ms = (us: number) => (us / 1000).toFixed(3);
  const spread = (a: Arm) => `${Math.min(...a.saturated.map(rps)).toFixed(0)}-${Math.max(...a.saturated.map(rps)).toFixed(0)}`;
  const ratios = (runs: (a: Arm) => WrkResult[], f: (r: WrkResult) => number, base = bare) =>
    arms.map((a) => ratio(runs, a, base, f).toFixed(3)).join(' / ');
  const W = w.name;
  report(`${W}: arms`, `${names} (${n} rounds)`);
  report(`${W}: saturated, ${CONNECTIONS} conns: requests/s (median)`, figures(sat, rps, perSecond));
  report(`${W}: saturated: requests/s range over the rounds`, all.map(spread).join(' / '));
  // each round's figures: a ratio whose rounds disagree says the machine drifted, not the arm
  for (const a of all) report(`${W}: saturated: requests/s by round, ${a.label} (thousands)`, a.saturated.map((r) => (rps(r) / 1000).toFixed(1)).join(' '));
  report(`${W}: saturated: p99 latency (ms, median)`, figures(sat, p99, ms));
  report(`${W}: paced, ${CONNECTIONS} conns x 1 per ${w.paceMs} ms: requests/s`, figures(pace, rps, perSecond));
  report(`${W}: paced: p50 latency (ms, median)`, figures(pace, p50, ms));
  report(`${W}: paced: p99 latency (ms, median)`, figures(pace, p99, ms));
  report(`${W}: ratios to bare: requests/s, saturated`, ratios(sat, rps));
  report(`${W}: ratios to bare: p50, paced`, ratios(pace, p50));
  report(`${W}: ratios to bare: p99, paced`, ratios(pace, p99));
  report(`${W}: ratios to bare: p99, saturated`, ratios(sat, p99));
  const vsSidecar = {
    rps: ratio(sat, defaults, sidecar, rps),
    p50: ratio(pace, defaults, sidecar, p50),
    pacedP99: ratio(pace, defaults, sidecar, p99),
    saturatedP99: ratio(sat, defaults, sidecar, p99),
  };
  report(
    `${W}: defaults / sidecar: requests/s, p50, paced p99, sat. p99`,
    [vsSidecar.rps, vsSidecar.p50, vsSidecar.pacedP99, vsSidecar.saturatedP99].map((x) => x.toFixed(3)).join(' / '),
  );
  const vcpu = (xs: number[]) => median(xs).toFixed(4);
  report(`${W}: vCPU per 1,000 req/s, defaults: process + BPF = total`, `${vcpu(defaults.processPer1000)} + ${vcpu(defaults.bpfPer1000)} = ${vcpu(defaults.cpuPer1000)}`);
  report(`${W}: vCPU per 1,000 req/s, HTTP off: process + BPF = total`, `${vcpu(httpOff.processPer1000)} + ${vcpu(httpOff.bpfPer1000)} = ${vcpu(httpOff.cpuPer1000)}`);
  report(`${W}: vCPU per 1,000 req/s, sidecar (haproxy process)`, vcpu(sidecar.cpuPer1000));
  report(`${W}: vCPU per 1,000 req/s, sidecar anchor (Istio 1.24)`, SIDECAR_ANCHOR_VCPU.toFixed(2));
  // each round's two exporters ran the same load: their difference is what HTTP parsing adds
  const extraNs = median(defaults.bpfNsPerRequest.map((d, i) => d - httpOff.bpfNsPerRequest[i]!));
  report(
    `${W}: BPF ns per request: defaults / HTTP off / difference`,
    `${median(defaults.bpfNsPerRequest).toFixed(0)} / ${median(httpOff.bpfNsPerRequest).toFixed(0)} / ${extraNs.toFixed(0)}`,
  );
  const scrapes = defaults.scrapeMs;
  const scrapeP99 = percentile(scrapes, 99);
  report(
    `${W}: /metrics every ${SCRAPE_EVERY_MS} ms, saturated: n, p50 / p99 / max (ms)`,
    `${scrapes.length}, ${percentile(scrapes, 50).toFixed(1)} / ${scrapeP99.toFixed(1)} / ${Math.max(...scrapes).toFixed(1)}`,
  );

  const better = vsSidecar.rps > 1 && vsSidecar.p50 < 1 && vsSidecar.pacedP99 < 1 && vsSidecar.saturatedP99 < 1;
  targets.set(`3 ${W}`, {
    id: '3',
    what: `${W}: defaults/sidecar: req/s, p50, p99 paced, sat.`,
    figure: [vsSidecar.rps, vsSidecar.p50, vsSidecar.pacedP99, vsSidecar.saturatedP99].map((x) => x.toFixed(2)).join('/'),
    target: 'req/s > 1, latencies < 1',
    met: better,
  });
  if (W === 'tiny') {
    // one HTTP exchange per request on this workload: per request is per exchange
    targets.set('4 tiny', { id: '4', what: 'tiny: BPF ns per exchange, defaults - HTTP off', figure: extraNs.toFixed(0), target: '<= 600', met: extraNs <= 600 });
  }
  const total = median(defaults.cpuPer1000);
  const sidecarCpu = median(sidecar.cpuPer1000);
  targets.set(`6 ${W}`, {
    id: '6',
    what: `${W}: vCPU per 1,000 req/s, exporter (sidecar arm)`,
    figure: `${total.toFixed(4)} (${sidecarCpu.toFixed(4)})`,
    target: `< ${SIDECAR_ANCHOR_VCPU.toFixed(2)} and < sidecar arm`,
    met: total < SIDECAR_ANCHOR_VCPU && total < sidecarCpu,
  });
  targets.set(`7 ${W}`, { id: '7', what: `${W}: /metrics p99 while saturated (ms)`, figure: scrapeP99.toFixed(1), target: '<= 100', met: scrapeP99 <= 100 });
}

/** A ratio target: `figure` against `limit`, `atLeast` or at most. */
function ratioTarget(key: string, what: string, figure: number, limit: number, atLeast: boolean): void {
  targets.set(key, {
    id: key.split(' ')[0]!,
    what,
    figure: figure.toFixed(3),
    target: `${atLeast ? '>=' : '<='} ${limit}`,
    met: atLeast ? figure >= limit : figure <= limit,
  });
}

/** Every exchange was counted: at each server, wrk's completed requests plus at most one in flight per connection and run. */
function expectCounted(counted: number[], completed: Completed): void {
  for (const c of counted) {
    expect(c).toBeGreaterThanOrEqual(completed.requests);
    expect(c).toBeLessThanOrEqual(completed.requests + completed.runs * CONNECTIONS);
  }
}

describe('HTTP workloads: the exporter against the bare path and a sidecar', () => {
  beforeAll(() => {
    net = new TestNetwork(PREFIX, SUBNET);
    hosts = { client: net.addHost('cli', 2), server: net.addHost('srv', 3), frontend: net.addHost('fe', 4), backend: net.addHost('be', 5) };
    tmp = mkdtempSync(join(tmpdir(), 'flowlens-http-bench-'));
    identities = join(tmp, 'identities.yaml');
    writeIdentities(identities, hosts);
    noHttp = join(tmp, 'no-http.yaml');
    writeFileSync(noHttp, 'http:\n  enabled: false\n');
  });

  afterAll(() => {
    exporter?.kill();
    empty?.close();
    net?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('tiny requests: wrk against nginx with a 15-byte body', async () => {
    const { client, server } = hosts;
    await startTinyNginx(net, server, join(tmp, 'tiny-nginx'), APP_PORT, SERVER_CPU);
    const sidecar = await startSidecar(net, server, join(tmp, 'tiny-haproxy'), SIDECAR_PORT, APP_PORT, SERVER_CPU);
    const w: Workload = {
      name: 'tiny',
      client,
      direct: `http://${server.address}:${APP_PORT}/`,
      proxied: `http://${server.address}:${SIDECAR_PORT}/`,
      scripts: writeWrkScripts(tmp, 'tiny', TINY_PACE_MS),
      paceMs: TINY_PACE_MS,
      sidecarPid: sidecar.pid!,
      counted: (m) => [sumOf(m, 'flowlens_http_requests_total', { method: 'GET', reporter: 'server', destination_workload: 'server' })],
    };
    // warm-up: ARP, caches, both servers' first connections
    await load(w, w.direct, 'saturated', WARM_UP_SECONDS);
    await load(w, w.proxied, 'saturated', WARM_UP_SECONDS);

    const bare = newArm('bare');
    const hooks = newArm('empty hooks');
    const httpOff = newArm('HTTP off');
    const defaults = newArm('defaults');
    const proxy = newArm('sidecar');
    // the empty program where the exporter attaches: egress of each endpoint is ingress of its host-side veth
    empty = BpfObject.open(join(REPO, 'bpf', '.output', 'empty.bpf.o'));
    empty.load();
    const measureHooksOnly = async () => {
      const program = empty!.program('empty');
      const links = [client, server].flatMap((h) => {
        const ifindex = Number(readFileSync(`/sys/class/net/${h.hostIf}/ifindex`, 'utf8'));
        return [program.attachTc(ifindex, 'ingress', { mode: 'tcx' }), program.attachTc(ifindex, 'egress', { mode: 'tcx' })];
      });
      try {
        await measure(w, hooks, w.direct);
      } finally {
        for (const link of links) link.detach();
      }
    };
    const completed: Completed = { requests: 0, runs: 0 };
    let counted = 0;
    await alternate(TINY_ROUNDS, [
      () => measure(w, bare, w.direct),
      () => measure(w, proxy, w.proxied, w.sidecarPid),
      measureHooksOnly,
      () => measureExporter(w, httpOff, ['--config', noHttp], false),
      // defaults, so HTTP parsing is on (http.enabled: true)
      async () => {
        const r = await measureExporter(w, defaults, [], true);
        completed.requests += r.requests;
        completed.runs += r.runs;
        counted += r.counted[0]!;
      },
    ]);

    reportWorkload(w, TINY_ROUNDS, bare, [hooks, httpOff, defaults, proxy], httpOff, defaults, proxy);
    report('tiny: defaults / HTTP off: requests/s, saturated', ratio(sat, defaults, httpOff, rps).toFixed(3));
    ratioTarget('1 rps', 'tiny: requests/s, defaults / bare', ratio(sat, defaults, bare, rps), 0.92, true);
    ratioTarget('1 rps-off', 'tiny: requests/s, defaults / HTTP off', ratio(sat, defaults, httpOff, rps), 0.96, true);
    ratioTarget('1 paced', 'tiny: p99 paced, defaults / bare', ratio(pace, defaults, bare, p99), 1.15, false);
    ratioTarget('1 saturated', 'tiny: p99 saturated, defaults / bare', ratio(sat, defaults, bare, p99), 1.5, false);

    // the exporter parsed every exchange it was attached for
    expect(completed.requests).toBeGreaterThan(0);
    expectCounted([counted], completed);
  }, TINY_ROUNDS * 120_000 + 60_000); // five arms, two exporter starts settling ~15 s each: ~85 s a round

  it('service-shaped: wrk against an nginx frontend proxying to a Node.js backend', async () => {
    const { client, frontend, backend } = hosts;
    await startBackend(net, backend, BACKEND_PORT, SERVER_CPU);
    await startFrontendNginx(net, frontend, join(tmp, 'service-nginx'), APP_PORT, { address: backend.address, port: BACKEND_PORT }, SERVER_CPU);
    const sidecar = await startSidecar(net, frontend, join(tmp, 'service-haproxy'), SIDECAR_PORT, APP_PORT, SERVER_CPU);
    const w: Workload = {
      name: 'service',
      client,
      direct: `http://${frontend.address}:${APP_PORT}/api/catalog`,
      proxied: `http://${frontend.address}:${SIDECAR_PORT}/api/catalog`,
      scripts: writeWrkScripts(tmp, 'service', SERVICE_PACE_MS),
      paceMs: SERVICE_PACE_MS,
      sidecarPid: sidecar.pid!,
      counted: (m) =>
        ['frontend', 'backend'].map((server) =>
          sumOf(m, 'flowlens_http_requests_total', { method: 'GET', reporter: 'server', destination_workload: server }),
        ),
    };
    await load(w, w.direct, 'saturated', WARM_UP_SECONDS);
    await load(w, w.proxied, 'saturated', WARM_UP_SECONDS);

    const bare = newArm('bare');
    const httpOff = newArm('HTTP off');
    const defaults = newArm('defaults');
    const proxy = newArm('sidecar');
    const completed: Completed = { requests: 0, runs: 0 };
    const counted = [0, 0];
    await alternate(SERVICE_ROUNDS, [
      () => measure(w, bare, w.direct),
      () => measure(w, proxy, w.proxied, w.sidecarPid),
      () => measureExporter(w, httpOff, ['--config', noHttp], false),
      async () => {
        const r = await measureExporter(w, defaults, [], true);
        completed.requests += r.requests;
        completed.runs += r.runs;
        r.counted.forEach((c, i) => (counted[i]! += c));
      },
    ]);

    reportWorkload(w, SERVICE_ROUNDS, bare, [httpOff, defaults, proxy], httpOff, defaults, proxy);
    ratioTarget('2 rps', 'service: requests/s, defaults / bare', ratio(sat, defaults, bare, rps), 0.97, true);
    ratioTarget('2 paced', 'service: p99 paced, defaults / bare', ratio(pace, defaults, bare, p99), 1.1, false);

    // the exporter parsed every exchange, at the frontend and at the backend
    expect(completed.requests).toBeGreaterThan(0);
    expectCounted(counted, completed);
  }, SERVICE_ROUNDS * 100_000 + 60_000); // four arms, two exporter starts: ~75 s a round

  it('target table', () => {
    const order: [string, string][] = [
      ['1 rps', 'tiny: requests/s, defaults / bare'],
      ['1 rps-off', 'tiny: requests/s, defaults / HTTP off'],
      ['1 paced', 'tiny: p99 paced, defaults / bare'],
      ['1 saturated', 'tiny: p99 saturated, defaults / bare'],
      ['2 rps', 'service: requests/s, defaults / bare'],
      ['2 paced', 'service: p99 paced, defaults / bare'],
      ['3 tiny', 'tiny: defaults/sidecar: req/s, p50, p99 paced, sat.'],
      ['3 service', 'service: defaults/sidecar: req/s, p50, p99 paced, sat.'],
      ['4 tiny', 'tiny: BPF ns per exchange, defaults - HTTP off'],
      ['6 tiny', 'tiny: vCPU per 1,000 req/s, exporter (sidecar arm)'],
      ['6 service', 'service: vCPU per 1,000 req/s, exporter (sidecar arm)'],
      ['7 tiny', 'tiny: /metrics p99 while saturated (ms)'],
      ['7 service', 'service: /metrics p99 while saturated (ms)'],
    ];
    reportTargets(
      'issue 15 targets of this file (4: flow.bpf.c/empty and 5 in datapath.bench.ts)',
      order.map(([key, what]) => targets.get(key) ?? { id: key.split(' ')[0]!, what, figure: '-', target: '-' }),
    );
    expect(targets.size).toBeGreaterThan(0);
  });
});
