import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AddressSet } from '../src/flows/address-set.js';
import { compileFilter, parseFilter } from '../src/flows/filter.js';
import type { FlowRecord } from '../src/flows/record.js';
import { FlowStore } from '../src/flows/store.js';
import { cidrContains, parseAddress, parseCidr, type Cidr } from '../src/net/cidr.js';
import { buildServer } from '../src/server/app.js';
import { API, FRONTEND, rec, T0 } from '../test/common/flows.js';
import { report } from './report.js';

/**
 * What hostile API queries cost the exporter: /metrics
 * scrape latency (p50, p99) on a server with a full store of 65,535 records,
 * quiet and while three clients send hostile queries without pause (from a
 * worker thread, so their own parsing is not on the server's thread); the
 * CPU time of each hostile query alone; and address matching through the
 * per-query prefix table against testing every CIDR in turn (what the API
 * did before), on the 900 CIDRs over 7,900 records.
 */

const N = 65535;
const NOW = T0 + (N + 1) * 1000;
const ARM_MS = 3000;
const SCRAPE_GAP_MS = 10;
const sourceIp = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const cidrs = (n: number) => Array.from({ length: n }, (_, i) => `172.16.${i >> 8}.${i & 255}/32`);
const SIXTY_FOUR = [5, 30000, 65000].map(sourceIp).concat(cidrs(61)).join(',');

const HOSTILE = [
  `/api/flows?limit=65535&ip=${cidrs(900).join(',')}`,
  `/api/flows?limit=65535&ip=${SIXTY_FOUR}`,
  `/api/graph?window=365d&ip=${SIXTY_FOUR}`,
  '/api/graph?window=365d',
  '/api/flows?limit=65535',
  '/api/flows?since=99999999999h',
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted: number[], p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;

let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  const store = new FlowStore(N);
  for (let i = 0; i < N; i++) store.push(rec(i, { source: FRONTEND(40000, sourceIp(i)), destination: API() }));
  const registry = new Registry();
  const requests = new Counter({ name: 'bench_requests_total', help: 'requests', labelNames: ['code', 'route'], registers: [registry] });
  for (let i = 0; i < 200; i++) requests.inc({ code: String(200 + (i % 5)), route: `/r${i}` }, i);
  new Gauge({ name: 'bench_streams', help: 'streams', registers: [registry] }).set(2);
  const h = new Histogram({ name: 'bench_duration_seconds', help: 'durations', labelNames: ['route'], registers: [registry] });
  for (let i = 0; i < 50; i++) h.observe({ route: `/r${i}` }, i / 100);
  app = buildServer({
    registry,
    ready: () => ({ ready: true, reasons: [] }),
    flows: { store, version: 'bench', now: () => NOW, protection: { requestsPerSecond: 0 } },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
}, 120_000);

afterAll(async () => {
  await app?.close();
});

/** Scrapes /metrics every SCRAPE_GAP_MS for ARM_MS; the latency of each, sorted. */
async function scrapes(): Promise<number[]> {
  const out: number[] = [];
  const end = performance.now() + ARM_MS;
  while (performance.now() < end) {
    const t0 = performance.now();
    const res = await fetch(`${base}/metrics`);
    await res.text();
    if (res.status !== 200) throw new Error(`scrape answered ${res.status}`);
    out.push(performance.now() - t0);
    await sleep(SCRAPE_GAP_MS);
  }
  return out.sort((a, b) => a - b);
}

/** Three clients sending HOSTILE in turn without pause, in a worker thread, until stopped; resolves with answers by status. */
function hostileClients(): { stop: () => Promise<Record<string, number>> } {
  const worker = new Worker(
    `
    const { parentPort, workerData } = require('node:worker_threads');
    let running = true;
    const counts = {};
    parentPort.on('message', () => { running = false; });
    async function client(c) {
      for (let k = c * 2; running; k++) {
        const res = await fetch(workerData.base + workerData.paths[k % workerData.paths.length]);
        await res.arrayBuffer();
        counts[res.status] = (counts[res.status] || 0) + 1;
      }
    }
    Promise.all([0, 1, 2].map(client)).then(() => parentPort.postMessage(counts));
    `,
    { eval: true, workerData: { base, paths: HOSTILE } },
  );
  return {
    stop: () =>
      new Promise((resolve, reject) => {
        worker.once('message', (counts: Record<string, number>) => {
          void worker.terminate();
          resolve(counts);
        });
        worker.once('error', reject);
        worker.postMessage('stop');
      }),
  };
}

const figures = (l: number[]) => `p50 ${percentile(l, 0.5).toFixed(1)} ms, p99 ${percentile(l, 0.99).toFixed(1)} ms, max ${l[l.length - 1]!.toFixed(1)} ms (${l.length} scrapes)`;

describe('API under hostile queries', () => {
  it('/metrics scrape latency, quiet and while three clients send hostile queries', async () => {
    await scrapes(); // warm-up
    const quiet = await scrapes();
    const load = hostileClients();
    const hostile = await scrapes();
    const answers = await load.stop();
    report('/metrics scrape, quiet', figures(quiet));
    report('/metrics scrape, 3 clients of hostile queries', figures(hostile));
    report('hostile queries answered, by status', Object.entries(answers).map(([s, n]) => `${s}: ${n}`).join(', '));
    report('scrape p99 hostile / quiet', `${(percentile(hostile, 0.99) / percentile(quiet, 0.99)).toFixed(1)}x`);
    expect(quiet.length).toBeGreaterThan(10);
    expect(hostile.length).toBeGreaterThan(10);
    expect(Object.values(answers).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  it('CPU time of each hostile query alone', async () => {
    for (const path of HOSTILE) {
      await app.inject(path); // warm-up
      const before = process.cpuUsage();
      const t0 = performance.now();
      const res = await app.inject(path);
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(before);
      report(`alone: ${path.slice(0, 44)}${path.length > 44 ? '...' : ''}`, `${res.statusCode}, ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU, ${wall.toFixed(0)} ms wall, ${(res.rawPayload.length / 2 ** 20).toFixed(1)} MiB`);
      expect([200, 400, 503]).toContain(res.statusCode);
    }
  });

  it('ip filter: prefix table against testing every CIDR in turn (900 CIDRs, 7,900 records)', () => {
    const records: FlowRecord[] = Array.from({ length: 7900 }, (_, i) => rec(i, { source: FRONTEND(40000, sourceIp(i)), destination: API() }));
    const list: Cidr[] = cidrs(900).map(parseCidr);
    // what compileFilter did before: parse both ends and test each CIDR, per record
    const inAny = (ip: string) => {
      const addr = parseAddress(ip);
      return addr !== undefined && list.some((c) => cidrContains(c, addr));
    };
    // the second of two runs: the first pays for compiling
    const time = (f: () => number) => {
      f();
      const t0 = performance.now();
      const n = f();
      return { ms: performance.now() - t0, n };
    };
    const naive = time(() => records.filter((r) => inAny(r.source.ip) || inAny(r.destination.ip)).length);
    const table = new AddressSet(list);
    const indexed = time(() => records.filter((r) => table.has(r.source.ip) || table.has(r.destination.ip)).length);
    report('ip filter, 900 CIDRs over 7,900 records', `every CIDR in turn ${naive.ms.toFixed(0)} ms, prefix table ${indexed.ms.toFixed(1)} ms: ${(naive.ms / indexed.ms).toFixed(0)}x`);
    expect(indexed.n).toBe(naive.n);

    // the bound the API enforces, over a full store
    const full: FlowRecord[] = Array.from({ length: N }, (_, i) => rec(i, { source: FRONTEND(40000, sourceIp(i)), destination: API() }));
    const match = compileFilter(parseFilter({ ip: SIXTY_FOUR }, NOW));
    const bounded = time(() => full.filter(match).length);
    report(`ip filter, 64 CIDRs over ${N} records`, `${bounded.ms.toFixed(1)} ms, ${bounded.n} matches`);
    expect(bounded.n).toBe(3);
  });
});
