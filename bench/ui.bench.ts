import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import type { FlowEndpoint, FlowRecord } from '../src/flows/record.js';
import { closeStreams } from '../src/server/flows.js';
import { end } from '../test/common/flows.js';
import { landscapeRecords, serveRecords } from '../test/common/ui-landscape.js';
import { report } from './report.js';

/**
 * The UI in headless Chromium against the real server (no kernel):
 * 1. a map of 200 workloads in 10 namespaces and 1,000 edges: time from
 *    navigation to the map drawn, and its parts (elkjs's layout in the worker,
 *    without edge labels at this size, and the SVG draw on the main thread),
 *    over three page loads;
 * 2. the flows table under a follow stream of 100 records/s for 10 s: frame
 *    times while it runs (requestAnimationFrame deltas), and whether every
 *    record reached the table.
 */

const CHROMIUM = '/usr/bin/chromium';
const WORKLOADS = 200;
const NAMESPACES = 10;
const EDGES = 1000;
const RATE = 100;
const STREAM_SECONDS = 10;

const percentile = (sorted: number[], p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
const ms = (x: number) => `${x.toFixed(1)} ms`;

/** A deterministic pseudo-random sequence (mulberry32), so every run draws the same graph. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * 1,000 distinct caller -> callee pairs among 200 workloads; a caller calls
 * workloads with a higher index mostly (services call deeper tiers), one
 * pair in ten the other way; one in twenty dropped.
 */
function bigGraphRecords(nowMs: number): FlowRecord[] {
  const rnd = random(18);
  const w = (i: number, port: number): FlowEndpoint =>
    end(20000 + i, `ns-${i % NAMESPACES}`, `svc-${i}`, `10.181.${i >> 8}.${i & 255}`, port);
  const pairs = new Set<string>();
  const out: FlowRecord[] = [];
  while (pairs.size < EDGES) {
    const a = Math.floor(rnd() * WORKLOADS);
    const b = Math.floor(rnd() * WORKLOADS);
    if (a === b) continue;
    const [src, dst] = a < b || rnd() < 0.1 ? [a, b] : [b, a];
    const key = `${src}>${dst}`;
    if (pairs.has(key)) continue;
    pairs.add(key);
    const dropped = pairs.size % 20 === 0;
    out.push({
      seq: 0, time: new Date(nowMs - 1000 - pairs.size * 10).toISOString().replace('Z', '000000Z'), node: 'node-a',
      type: dropped ? 'drop' : 'flow', verdict: dropped ? 'dropped' : 'forwarded', direction: 'egress', protocol: 'tcp', ipVersion: 4,
      source: w(src, 40000 + pairs.size), destination: w(dst, 8080), ifindex: 7, summary: dropped ? 'dropped by the kernel: netfilter_drop' : 'new flow',
    });
  }
  return out;
}

let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
});

afterAll(async () => {
  await browser?.close();
});

describe('UI benchmark (headless Chromium)', () => {
  it(`lays out and draws ${WORKLOADS} workloads and ${EDGES} edges`, async () => {
    const now = Date.now();
    const server = await serveRecords(bigGraphRecords(now), now);
    try {
      const runs: Array<{ total: number; layout: number; draw: number }> = [];
      for (let i = 0; i < 3; i++) {
        const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
        const started = Date.now();
        await page.goto(`${server.base}/`);
        await page.locator('#map[data-renders]').waitFor({ timeout: 120_000 });
        const total = Date.now() - started;
        const t = await page.evaluate(() => (window as unknown as { flowlens: { map: { timings: { layoutMs: number; drawMs: number } } } }).flowlens.map.timings);
        // the measurement is of the whole graph
        expect(await page.locator('g.node').count()).toBe(WORKLOADS);
        expect(await page.locator('g.edge').count()).toBe(EDGES);
        // a map this large is laid out without edge labels (src/ui/map.js, LARGE_NODES)
        expect(await page.locator('#map').getAttribute('data-labels')).toBe('hidden');
        runs.push({ total, layout: t.layoutMs, draw: t.drawMs });
        await page.close();
      }
      const med = (f: (r: (typeof runs)[number]) => number) => runs.map(f).sort((a, b) => a - b)[1]!;
      report(`UI map ${WORKLOADS} workloads/${EDGES} edges: page load to map drawn (median of 3)`, ms(med((r) => r.total)));
      report('  of which elkjs layout (worker; no edge labels at this size)', ms(med((r) => r.layout)));
      report('  of which SVG draw (main thread)', ms(med((r) => r.draw)));
      report('  all runs (total ms)', runs.map((r) => r.total).join(', '));
    } finally {
      closeStreams(server.app);
      await server.app.close();
    }
  });

  it(`keeps the table up with a follow stream of ${RATE} records/s`, async () => {
    const now = Date.now();
    const records = landscapeRecords(now);
    const server = await serveRecords(records, now, { capacity: 10_000 });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(`${server.base}/`);
      await page.locator('#map[data-renders]').waitFor({ timeout: 30_000 });
      await page.locator('#flows tbody tr').first().waitFor();
      // frame times from here on
      await page.evaluate(() => {
        const w = window as unknown as { frames: number[] };
        w.frames = [];
        let last = performance.now();
        const tick = (t: number) => {
          w.frames.push(t - last);
          last = t;
          requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      });
      const template = records.find((r) => r.type === 'flow' && r.source.workload === 'frontend')!;
      const total = RATE * STREAM_SECONDS;
      let pushed = 0;
      let lastSeq = 0;
      const started = Date.now();
      // 10 records every 100 ms, on the clock (a late tick catches up)
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * RATE));
          for (; pushed < due; pushed++) {
            lastSeq = server.store.push({ ...template, seq: 0, source: { ...template.source, port: 30000 + pushed }, time: new Date(now).toISOString().replace('Z', '000000Z') }).seq;
          }
          if (pushed === total) {
            clearInterval(timer);
            resolve();
          }
        }, 100);
      });
      const pushedAt = Date.now();
      await page.locator(`#flows tbody tr[data-seq="${lastSeq}"]`).waitFor({ timeout: 30_000 });
      const caughtUpMs = Date.now() - pushedAt;
      const frames = (await page.evaluate(() => (window as unknown as { frames: number[] }).frames)).slice(1).sort((a, b) => a - b);
      const inTable = await page.evaluate(() => (window as unknown as { flowlens: { table: { records: unknown[] } } }).flowlens.table.records.length);
      expect(inTable).toBe(Math.min(5000, records.length + total));
      report(`UI table, ${RATE} records/s for ${STREAM_SECONDS} s: frames`, String(frames.length));
      report('  frame time p50 / p95 / p99 / max', [0.5, 0.95, 0.99, 1].map((p) => ms(percentile(frames, p))).join(' / '));
      report('  frames over 50 ms', String(frames.filter((f) => f > 50).length));
      report('  last record in the table after its push', ms(caughtUpMs));
      await page.close();
    } finally {
      closeStreams(server.app);
      await server.app.close();
    }
  });
});
