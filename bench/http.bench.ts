import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfObject } from '../src/bpf/index.js';
import { ExporterProcess, REPO, waitFor, writeIdentities } from '../test/common/exporter.js';
import { inNs, runTag, TestNetwork, type TestHost } from '../test/common/netns.js';
import { sumOf } from '../test/common/prom.js';
import { report } from './report.js';
import { cpuSeconds, settled } from './settle.js';

/**
 * Cost of HTTP/1.x parsing on the request path, as ratios measured in one run:
 * wrk in one namespace against nginx in another, through the veth pair and
 * the bridge, in three arms:
 * - baseline: nothing attached;
 * - exporter: flowlens running with its defaults (HTTP parsing on) and
 *   attached to both veths, measured once past its start-up work (settle.ts);
 * - proxy: no exporter, the requests go through haproxy in the server's
 *   namespace (a sidecar stand-in) that forwards them over loopback to nginx.
 * Each arm is measured twice: saturated (wrk's connections each send the next
 * request as soon as the answer arrives) for requests/s, and paced (each
 * connection one request per millisecond, well under every arm's capacity)
 * for latency, so p99 is the path's own latency rather than the queueing of a
 * saturated closed loop, whose tail follows every stall of either CPU. The
 * ratios are medians of the per-round ratios, the arms alternating their
 * order from round to round.
 */

const ROUNDS = 8;
const SECONDS = 3;
// wrk is closed-loop: this many connections, each with one request in flight
const CONNECTIONS = 8;
// paced runs: each connection waits this long after an answer before its next request
const PACE_MS = 1;
const SERVER_PORT = 8080;
const PROXY_PORT = 8081;
// after the exporter exits the kernel still frees its maps and programs (RCU,
// workqueues): the arms without it wait for that, or they would pay for it
const TEARDOWN_SETTLE_MS = 2000;
// wrk (the client) on CPU 0; nginx and the proxy on CPU 1, as a sidecar shares its pod's CPUs
const CLIENT_CPU = '0';
const SERVER_CPU = '1';

let net: TestNetwork | undefined;
let exporter: ExporterProcess | undefined;
let empty: BpfObject | undefined;
let tmp: string | undefined;

interface WrkResult {
  requestsPerSecond: number;
  requests: number;
  p50Us: number;
  p99Us: number;
}

/** nginx answering every path with a small fixed body: one worker, no access log, everything in `dir`. */
function nginxConfig(dir: string): string {
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d));
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  # wrk keeps its connections for the whole run: no reconnects in the figures
  keepalive_requests 10000000;
  keepalive_timeout 60s;
  server {
    listen ${SERVER_PORT};
    location / {
      default_type text/plain;
      return 200 "flowlens bench\\n";
    }
  }
}
`;
}

/** haproxy in front of nginx, as a sidecar: listening on the pod's address, forwarding over loopback. */
function haproxyConfig(address: string): string {
  return `global
  nbthread 1
defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend sidecar
  bind ${address}:${PROXY_PORT}
  default_backend app
backend app
  http-reuse always
  server app 127.0.0.1:${SERVER_PORT}
`;
}

/** wrk's own figures at the end of a run, as one JSON line (latency in microseconds, from its --latency histogram). */
const WRK_FIGURES = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
`;

function wrk(client: TestHost, url: string, script: string, seconds = SECONDS): WrkResult {
  const out = execFileSync(
    'ip',
    [
      'netns', 'exec', client.ns, 'taskset', '-c', CLIENT_CPU,
      'wrk', '-t', '1', '-c', String(CONNECTIONS), '-d', `${seconds}s`, '--timeout', '2s', '-s', script, url,
    ],
    { encoding: 'utf8', timeout: (seconds + 15) * 1000 },
  );
  const line = out.split('\n').find((l) => l.startsWith('WRK '));
  if (!line) throw new Error(`no figures from wrk:\n${out}`);
  const r = JSON.parse(line.slice(4));
  if (r.errors !== 0 || r.requests === 0) throw new Error(`wrk saw ${r.errors} errors in ${r.requests} requests:\n${out}`);
  return { requestsPerSecond: r.requests / (r.durationUs / 1e6), requests: r.requests, p50Us: r.p50Us, p99Us: r.p99Us };
}

/** Waits until something listens on `port` in the namespace (bounded). */
async function listening(host: TestHost, port: number, child: ChildProcess, what: string): Promise<void> {
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  await waitFor(`${what} on port ${port}`, 10_000, () => stderr, async () => {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}:\n${stderr}`);
    return inNs(host.ns, 'ss', ['-Hltn', `sport = :${port}`]).trim() ? true : undefined;
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('HTTP path cost', () => {
  afterAll(() => {
    exporter?.kill();
    empty?.close();
    net?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('requests/s and p99 latency with the exporter parsing HTTP, and through a userspace proxy, against the bare path', async () => {
    const prefix = `fw${runTag()}`;
    net = new TestNetwork(prefix, '10.232.0');
    const client = net.addHost('cli', 2);
    const server = net.addHost('srv', 3);
    tmp = mkdtempSync(join(tmpdir(), 'flowlens-http-bench-'));
    const identities = join(tmp, 'identities.yaml');
    writeIdentities(identities, { client, server });
    const saturated = join(tmp, 'saturated.lua');
    writeFileSync(saturated, WRK_FIGURES);
    const paced = join(tmp, 'paced.lua');
    writeFileSync(paced, `delay = function() return ${PACE_MS} end\n${WRK_FIGURES}`);
    writeFileSync(join(tmp, 'nginx.conf'), nginxConfig(tmp));
    writeFileSync(join(tmp, 'haproxy.cfg'), haproxyConfig(server.address));
    const noHttp = join(tmp, 'no-http.yaml');
    writeFileSync(noHttp, 'http:\n  enabled: false\n');

    // -e: nginx opens its default error log before reading the config; keep it in tmp too
    const nginx = net.spawnIn(server.ns, 'taskset', ['-c', SERVER_CPU, 'nginx', '-p', tmp, '-c', join(tmp, 'nginx.conf'), '-e', join(tmp, 'nginx-error.log')]);
    await listening(server, SERVER_PORT, nginx, 'nginx');
    const haproxy = net.spawnIn(server.ns, 'taskset', ['-c', SERVER_CPU, 'haproxy', '-db', '-f', join(tmp, 'haproxy.cfg')]);
    await listening(server, PROXY_PORT, haproxy, 'haproxy');

    const direct = `http://${server.address}:${SERVER_PORT}/`;
    const proxied = `http://${server.address}:${PROXY_PORT}/`;
    // warm-up: ARP, caches, both servers' first connections
    wrk(client, direct, saturated, 1);
    wrk(client, proxied, saturated, 1);

    interface Arm {
      saturated: WrkResult[];
      paced: WrkResult[];
    }
    const arm = (): Arm => ({ saturated: [], paced: [] });
    const baseline = arm();
    const withExporter = arm();
    const proxy = arm();
    const hooksOnly = arm();
    const flowOnly = arm();
    /** Runs one arm's measurements; returns the requests of its warm-up run. */
    const measure = (into: Arm, url: string): number => {
      // a 1 s warm-up first, so that no arm starts after a long idle (the exporter's settling)
      const warmUp = wrk(client, url, saturated, 1);
      into.saturated.push(wrk(client, url, saturated));
      into.paced.push(wrk(client, url, paced));
      return warmUp.requests;
    };
    const exporterCpu: number[] = [];
    // exchanges the exporter counted (server side) against those wrk completed, over all exporter rounds
    let countedRequests = 0;
    let completedRequests = 0;

    const measureWithExporter = async (into: Arm, args: string[]) => {
      exporter = new ExporterProcess(['--interface', `${prefix}*`, '--identities', identities, ...args]);
      await exporter.ready();
      // start-up work (loading, the memory reducer's full GC) is not steady-state cost
      await settled(exporter.pid);
      const cpu0 = cpuSeconds(exporter.pid);
      const t0 = performance.now();
      const warmUpRequests = measure(into, direct);
      if (into === withExporter) {
        exporterCpu.push((cpuSeconds(exporter.pid) - cpu0) / ((performance.now() - t0) / 1000));
        const m = await exporter.samples();
        countedRequests += sumOf(m, 'flowlens_http_requests_total', { method: 'GET', reporter: 'server' });
        completedRequests += warmUpRequests + into.saturated.at(-1)!.requests + into.paced.at(-1)!.requests;
      }
      expect(await exporter.terminate()).toBe(0);
      exporter = undefined;
      await new Promise((r) => setTimeout(r, TEARDOWN_SETTLE_MS));
    };
    // the empty program where the exporter attaches: egress of each endpoint is ingress of its host-side veth
    empty = BpfObject.open(join(REPO, 'bpf', '.output', 'empty.bpf.o'));
    empty.load();
    const measureHooksOnly = () => {
      const program = empty!.program('empty');
      const links = [client, server].flatMap((h) => {
        const ifindex = Number(readFileSync(`/sys/class/net/${h.hostIf}/ifindex`, 'utf8'));
        return [program.attachTc(ifindex, 'ingress', { mode: 'tcx' }), program.attachTc(ifindex, 'egress', { mode: 'tcx' })];
      });
      try {
        measure(hooksOnly, direct);
      } finally {
        for (const link of links) link.detach();
      }
    };
    const runArms = [
      () => measure(baseline, direct),
      () => measure(proxy, proxied),
      measureHooksOnly,
      () => measureWithExporter(flowOnly, ['--config', noHttp]),
      // defaults, so HTTP parsing is on (http.enabled: true)
      () => measureWithExporter(withExporter, []),
    ];
    for (let round = 0; round < ROUNDS; round++) {
      // alternate the arms' order, so drift in the VM's speed favours none
      for (const run of round % 2 === 0 ? runArms : [...runArms].reverse()) await run();
    }

    // each round's arms ran back to back: their ratios cancel the VM's slow drift
    const ratio = (runs: (a: Arm) => WrkResult[], of: Arm, f: (r: WrkResult) => number) =>
      median(runs(of).map((r, i) => f(r) / f(runs(baseline)[i]!)));
    const sat = (a: Arm) => a.saturated;
    const pace = (a: Arm) => a.paced;
    const rps = (r: WrkResult) => r.requestsPerSecond;
    const p99 = (r: WrkResult) => r.p99Us;
    const p50 = (r: WrkResult) => r.p50Us;
    const arms = [baseline, withExporter, proxy];
    const split = [hooksOnly, flowOnly, withExporter];
    const figures = (runs: (a: Arm) => WrkResult[], f: (r: WrkResult) => number, fmt: (x: number) => string) =>
      arms.map((a) => fmt(median(runs(a).map(f)))).join(' / ');
    const perSecond = (x: number) => x.toFixed(0);
    const ms = (us: number) => (us / 1000).toFixed(3);
    const spread = (a: Arm) => `${Math.min(...a.saturated.map(rps)).toFixed(0)}-${Math.max(...a.saturated.map(rps)).toFixed(0)}`;
    report(`saturated, ${CONNECTIONS} conns: requests/s bare / exporter / proxy (median)`, figures(sat, rps, perSecond));
    report(`saturated: requests/s range over ${ROUNDS} rounds`, arms.map(spread).join(' / '));
    report('saturated: p99 latency bare / exporter / proxy (ms, median)', figures(sat, p99, ms));
    report(`paced, ${CONNECTIONS} conns x 1 per ${PACE_MS} ms: requests/s`, figures(pace, rps, perSecond));
    report('paced: p50 latency bare / exporter / proxy (ms, median)', figures(pace, p50, ms));
    report('paced: p99 latency bare / exporter / proxy (ms, median)', figures(pace, p99, ms));
    report('HTTP requests/s exporter/bare, saturated (target >= 0.97)', ratio(sat, withExporter, rps).toFixed(3));
    report('HTTP p99 latency exporter/bare, paced (target <= 1.05)', ratio(pace, withExporter, p99).toFixed(3));
    report('HTTP p99 latency exporter/bare, saturated', ratio(sat, withExporter, p99).toFixed(3));
    report('HTTP requests/s proxy/bare, saturated', ratio(sat, proxy, rps).toFixed(3));
    report('HTTP p99 latency proxy/bare, paced', ratio(pace, proxy, p99).toFixed(3));
    report('HTTP p99 latency proxy/bare, saturated', ratio(sat, proxy, p99).toFixed(3));
    const splitFigures = (runs: (a: Arm) => WrkResult[], f: (r: WrkResult) => number, fmt: (x: number) => string) =>
      split.map((a) => fmt(median(runs(a).map(f)))).join(' / ');
    report('split: requests/s empty hooks / exporter without HTTP / exporter', splitFigures(sat, rps, perSecond));
    report('split: requests/s ratios to bare (same order)', split.map((a) => ratio(sat, a, rps).toFixed(3)).join(' / '));
    report('split: paced p99 ratios to bare (same order)', split.map((a) => ratio(pace, a, p99).toFixed(3)).join(' / '));
    report('split: paced p50 ratios to bare (same order)', split.map((a) => ratio(pace, a, p50).toFixed(3)).join(' / '));
    report('exporter process CPU during its arm (% of one CPU, median)', (100 * median(exporterCpu)).toFixed(1));

    // the exporter parsed every exchange: wrk's completed requests, plus at most
    // one in flight per connection when each of its 3 wrk runs a round stopped (sent and seen, its answer not awaited)
    expect(completedRequests).toBeGreaterThan(0);
    expect(countedRequests).toBeGreaterThanOrEqual(completedRequests);
    expect(countedRequests).toBeLessThanOrEqual(completedRequests + ROUNDS * 3 * CONNECTIONS);
  }, 20 * 60_000); // five arms, each exporter arm settling ~13 s (settle.ts): ~9 min
});
