import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { closeStreams } from '../../src/server/flows.js';
import type { FlowRecord } from '../../src/flows/record.js';
import type { FlowStore } from '../../src/flows/store.js';
import { REPO, waitFor } from '../common/exporter.js';
import { landscapeRecords, NOISE_RECORDS, serveRecords, WORKLOADS } from '../common/ui-landscape.js';

/**
 * The UI in headless Chromium against the real server, over a landscape of
 * nine workloads in four namespaces, world sources and host-internal noise
 * (test/common/ui-landscape.ts): layout without overlaps, the click filters,
 * the noise toggle, the detail pane, the error banners, dark mode.
 * Screenshots go to test-artifacts/ (gitignored).
 */

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(REPO, 'test-artifacts');
const NOW = Date.now();

let browser: Browser;
let page: Page;
let server: { app: FastifyInstance; store: FlowStore; base: string };
let records: FlowRecord[];

interface Box { x: number; y: number; width: number; height: number; name: string }

const overlap = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/** Pairs of boxes that overlap, by name. */
function overlaps(as: Box[], bs: Box[], same: boolean): string[] {
  const out: string[] = [];
  as.forEach((a, i) => bs.forEach((b, j) => {
    if (same && j <= i) return;
    if (overlap(a, b)) out.push(`${a.name} / ${b.name}`);
  }));
  return out;
}

async function boxes(selector: string): Promise<Box[]> {
  return page.locator(selector).evaluateAll((els) => els.map((el) => {
    const r = el.getBoundingClientRect();
    const g = el.closest('g')!;
    const name = g.dataset.name ?? `${g.dataset.source} -> ${g.dataset.destination}`;
    return { x: r.x, y: r.y, width: r.width, height: r.height, name };
  }));
}

/** The seq of every row the table shows, ascending. */
const rowSeqs = () => page.locator('#flows tbody tr').evaluateAll((trs) => trs.map((tr) => Number((tr as HTMLElement).dataset.seq)).sort((a, b) => a - b));
const seqs = (rs: FlowRecord[]) => rs.map((r) => r.seq).sort((a, b) => a - b);
const isWorkload = (e: FlowRecord['source']) => e.workload !== '' && !e.identityName.startsWith('reserved:');
const notNoise = (r: FlowRecord) => isWorkload(r.source) || isWorkload(r.destination);

async function waitForRows(what: string, want: number[]): Promise<void> {
  let got: number[] = [];
  await waitFor(what, 15_000, () => `rows ${JSON.stringify(got)}, want ${JSON.stringify(want)}`, async () => {
    got = await rowSeqs();
    return JSON.stringify(got) === JSON.stringify(want) ? true : undefined;
  });
}

async function open(url: string, colorScheme: 'light' | 'dark' = 'light'): Promise<Page> {
  const p = await browser.newPage({ viewport: { width: 1400, height: 900 }, colorScheme });
  p.setDefaultTimeout(10_000);
  await p.goto(url);
  return p;
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  records = landscapeRecords(NOW);
  server = await serveRecords(records, NOW);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  page = await open(`${server.base}/`);
  await page.locator('#map[data-renders]').waitFor({ timeout: 20_000 });
  await waitForRows('history rows', seqs(records.filter(notNoise)));
});

afterAll(async () => {
  await browser?.close();
  if (server) {
    closeStreams(server.app);
    await server.app.close();
  }
});

describe('the service map of a landscape (9 workloads, 4 namespaces, world, noise) at 1400x900', () => {
  it('has a card per workload and outside source, grouped by namespace, and the noise hidden', async () => {
    const names = await page.locator('g.node').evaluateAll((gs) => gs.map((g) => (g as SVGGElement).dataset.name).sort());
    expect(names).toEqual([...Object.values(WORKLOADS).map((w) => `${w.namespace}/${w.workload}`), 'reserved:world'].sort());
    expect(await page.locator('g.group').evaluateAll((gs) => gs.map((g) => (g as SVGGElement).dataset.namespace).sort()))
      .toEqual(['data', 'outside the cluster', 'payments', 'platform', 'shop']);
    await page.screenshot({ path: join(ARTIFACTS, 'ui-map.png') });
    // ports and protocols it was reached on; the mark for world sources
    expect(await page.locator('g.node[data-name="data/redis"] .ports').textContent()).toBe('⇢ 6379 tcp');
    expect(await page.locator('g.node[data-name="platform/coredns"] .ports').textContent()).toBe('⇢ 53 udp');
    expect(await page.locator('g.node.from-outside').evaluateAll((gs) => gs.map((g) => (g as SVGGElement).dataset.name).sort()))
      .toEqual(['payments/api', 'platform/ingress']);
    expect(await page.locator('g.node.unknown').getAttribute('data-name')).toBe('reserved:world');
    await page.screenshot({ path: join(ARTIFACTS, 'ui-map.png') });
  });

  it('no two cards overlap, no edge label overlaps another label or a card, every card is in the viewport at a readable size', async () => {
    const cards = await boxes('g.node > rect');
    const labels = await boxes('g.edge-label > rect');
    expect(cards).toHaveLength(10);
    expect(labels).toHaveLength(15);
    expect(overlaps(cards, cards, true)).toEqual([]);
    expect(overlaps(labels, labels, true)).toEqual([]);
    expect(overlaps(labels, cards, false)).toEqual([]);
    const map = (await page.locator('#map').boundingBox())!;
    const outside = cards.filter((c) => c.x < map.x || c.y < map.y || c.x + c.width > map.x + map.width || c.y + c.height > map.y + map.height);
    expect(outside.map((c) => c.name)).toEqual([]);
    // fitted without shrinking the cards out of reading size (180 px wide at scale 1; this deep landscape, seven
    // layers from world to postgres, fits at about 0.67)
    expect(Math.min(...cards.map((c) => c.width))).toBeGreaterThanOrEqual(110);
  });

  it('labels edges with flows/s and drops, HTTP req/s, error share and p95, DNS errors', async () => {
    const label = (s: string, d: string) => page.locator(`g.edge-label[data-source="${s}"][data-destination="${d}"] text`).textContent();
    // 5 connections over 60 s, 10 exchanges (2 of them 5xx), latencies 5..50 ms: p95 50 ms
    expect(await label('shop/frontend', 'shop/cart')).toBe('0.08 flows/s' + 'HTTP 0.2 req/s · 20% errors' + 'HTTP p95 50 ms');
    expect(await label('shop/cart', 'data/redis')).toBe('0.08 flows/s · 2 dropped');
    expect(await label('shop/checkout', 'platform/coredns')).toBe('0.05 flows/s' + 'DNS 3 queries · 1 errors');
  });

  it('tells a dropped edge from a forwarded one without colour: a dash on the line', async () => {
    const line = (s: string, d: string) => page.locator(`g.edge[data-source="${s}"][data-destination="${d}"] path.line`);
    // attribute and computed style read in one page task: the map is drawn anew every 2 s
    const dash = (s: string, d: string) =>
      page.evaluate((sel) => {
        const p = document.querySelector(sel)!;
        return [p.getAttribute('stroke-dasharray'), getComputedStyle(p).strokeDasharray];
      }, `g.edge[data-source="${s}"][data-destination="${d}"] path.line`);
    expect(await page.locator('g.edge[data-source="shop/checkout"][data-destination="payments/ledger"]').getAttribute('data-verdict')).toBe('dropped');
    expect(await dash('shop/checkout', 'payments/ledger')).toEqual(['7 4', '7px, 4px']);
    expect(await dash('reserved:world', 'payments/api')).toEqual(['7 4', '7px, 4px']);
    expect(await dash('shop/cart', 'data/redis')).toEqual(['12 3 3 3', '12px, 3px, 3px, 3px']);
    expect(await dash('shop/frontend', 'shop/cart')).toEqual([null, 'none']);
    // width by rate: the busiest edge is the widest
    const width = (s: string, d: string) => line(s, d).getAttribute('stroke-width').then(Number);
    expect(await width('platform/ingress', 'shop/frontend')).toBeGreaterThan(await width('payments/ledger', 'data/postgres'));
  });

  it('counts the hidden noise, and shows it when asked', async () => {
    const noise = records.filter((r) => !notNoise(r));
    expect(noise).toHaveLength(NOISE_RECORDS);
    expect([await page.locator('#noise-count').getAttribute('data-records'), await page.locator('#noise-count').getAttribute('data-edges')]).toEqual([String(NOISE_RECORDS), '2']);
    expect(await page.locator('#noise-count').textContent()).toBe(`${NOISE_RECORDS} noise records · 2 edges hidden`);
    await page.check('#f-noise');
    await waitForRows('rows with the noise', seqs(records));
    await page.locator('g.node[data-name="reserved:unknown"]').waitFor();
    expect(await page.locator('#noise-count').textContent()).toBe('');
    await page.uncheck('#f-noise');
    await waitForRows('rows without the noise', seqs(records.filter(notNoise)));
    await page.locator('g.node[data-name="reserved:unknown"]').waitFor({ state: 'detached' });
  });
});

describe('interactions', () => {
  it('clicking a card narrows the table to the flows from or to it; clicking again shows all', async () => {
    const cart = WORKLOADS.cart.identity;
    await page.click('g.node[data-name="shop/cart"]');
    await waitForRows('cart rows', seqs(records.filter((r) => r.source.identity === cart || r.destination.identity === cart)));
    expect(await page.locator('#selection-text').textContent()).toBe('shop/cart (from or to)');
    expect(await page.locator('g.node.selected').getAttribute('data-name')).toBe('shop/cart');
    // the cards it talks with stay bright, the rest steps back
    expect(await page.locator('g.node.related').evaluateAll((gs) => gs.map((g) => (g as SVGGElement).dataset.name).sort()))
      .toEqual(['data/redis', 'platform/coredns', 'shop/cart', 'shop/frontend']);
    // found and read in one task of the page: the map is drawn anew every 2 s, and a located card can be gone by the next call
    expect(await page.evaluate(() => getComputedStyle(document.querySelector('g.node:not(.related)')!).opacity)).toBe('0.3');
    await page.screenshot({ path: join(ARTIFACTS, 'ui-filtered-card.png') });
    await page.click('g.node[data-name="shop/cart"]');
    await waitForRows('all rows', seqs(records.filter(notNoise)));
  });

  it('a click survives the map being drawn anew: a render waits while the pointer is down', async () => {
    const box = (await page.locator('g.node[data-name="data/postgres"] > rect').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    const waiting = () => page.evaluate(() => (window as unknown as { flowlens: { map: { afterPointer: unknown[] } } }).flowlens.map.afterPointer.length);
    await waitFor('a render waiting for the release', 15_000, () => 'afterPointer', async () => ((await waiting()) > 0 ? true : undefined));
    await page.mouse.up();
    const id = WORKLOADS.postgres.identity;
    await waitForRows('postgres rows', seqs(records.filter((r) => r.source.identity === id || r.destination.identity === id)));
    expect(await waiting()).toBe(0);
    await page.click('#clear-selection');
    await waitForRows('all rows', seqs(records.filter(notNoise)));
  });

  it('clicking an edge narrows the table to the flows of that pair (from -> to)', async () => {
    const { checkout, ledger } = WORKLOADS;
    await page.click('g.edge-label[data-source="shop/checkout"][data-destination="payments/ledger"]');
    const want = records.filter((r) => r.source.identity === checkout.identity && r.destination.identity === ledger.identity);
    expect(want).toHaveLength(4);
    await waitForRows('checkout -> ledger rows', seqs(want));
    expect(await page.locator('#selection-text').textContent()).toBe('shop/checkout → payments/ledger');
    await page.screenshot({ path: join(ARTIFACTS, 'ui-filtered-edge.png') });
  });

  it('a row opens the detail pane with every field: drop reason and the policy that explains it', async () => {
    const drop = records.find((r) => r.type === 'drop' && r.source.identity === WORKLOADS.checkout.identity)!;
    await page.click(`#flows tbody tr[data-seq="${drop.seq}"]`);
    await page.locator('#detail:not([hidden])').waitFor();
    const fields = Object.fromEntries(await page.locator('#detail dt').evaluateAll((dts) => dts.map((dt) => [dt.textContent, dt.nextElementSibling!.textContent])));
    expect(fields).toMatchObject({
      type: 'drop', verdict: 'dropped', 'drop reason': 'netfilter_drop', 'drop class': 'policy',
      source: 'shop/checkout', destination: 'payments/ledger', 'destination address': '10.181.2.11:9000',
      policy: 'ingress to payments/ledger denied: selected by payments/default-deny, no rule allows checkout',
      'ingress policies': 'payments/default-deny (denied)', node: 'node-a', seq: String(drop.seq),
    });
    await page.screenshot({ path: join(ARTIFACTS, 'ui-detail.png') });
    await page.keyboard.press('Escape');
    await page.locator('#detail').waitFor({ state: 'hidden' });
    await page.click('#clear-selection');
    await waitForRows('all rows', seqs(records.filter(notNoise)));
  });

  it('HTTP and DNS details: method, path, status, latency; query and rcode', async () => {
    const http = records.find((r) => r.type === 'http' && r.http!.status === 503)!;
    await page.click(`#flows tbody tr[data-seq="${http.seq}"]`);
    await page.locator(`#detail[data-seq="${http.seq}"]`).waitFor();
    const fields = async () => Object.fromEntries(await page.locator('#detail dt').evaluateAll((dts) => dts.map((dt) => [dt.textContent, dt.nextElementSibling!.textContent])));
    expect(await fields()).toMatchObject({ 'HTTP method': 'GET', 'HTTP path': '/items/2', 'HTTP status': '503', 'HTTP latency': '15 ms' });
    const dns = records.find((r) => r.type === 'dns' && r.dns!.rcode === 'NXDOMAIN')!;
    await page.click('#detail button.close');
    await page.click(`#flows tbody tr[data-seq="${dns.seq}"]`);
    await page.locator(`#detail[data-seq="${dns.seq}"]`).waitFor();
    expect(await fields()).toMatchObject({ 'DNS query': 'A svc-2.example.', 'DNS rcode': 'NXDOMAIN' });
    await page.keyboard.press('Escape');
  });

  it('the keyboard reaches the cards: Tab onto one, Enter selects it', async () => {
    await page.focus('g.node[data-name="payments/api"]');
    await page.keyboard.press('Enter');
    const id = WORKLOADS.api.identity;
    await waitForRows('api rows', seqs(records.filter((r) => r.source.identity === id || r.destination.identity === id)));
    // the map is drawn anew every 2 s: the focus stays on the card
    const renders = Number(await page.locator('#map').getAttribute('data-renders'));
    await waitFor('a redraw', 15_000, () => 'renders', async () => (Number(await page.locator('#map').getAttribute('data-renders')) > renders ? true : undefined));
    expect(await page.evaluate(() => (document.activeElement as SVGElement).dataset.name)).toBe('payments/api');
    await page.keyboard.press('Enter');
    await waitForRows('all rows', seqs(records.filter(notNoise)));
    // the controls are in the tab order, the map first among the drawn parts
    await page.focus('#f-namespace');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement!.id)).toBe('f-verdict');
  });

  it('the namespace picker lists the namespaces and narrows map and table to one', async () => {
    expect(await page.locator('#f-namespace option').allTextContents()).toEqual(['all', 'data', 'payments', 'platform', 'shop']);
    await page.selectOption('#f-namespace', 'data');
    const inData = (r: FlowRecord) => r.source.namespace === 'data' || r.destination.namespace === 'data';
    await waitForRows('data rows', seqs(records.filter(inData)));
    await waitFor('data map', 15_000, () => 'map', async () =>
      (await page.locator('g.node').count()) === 5 ? true : undefined);
    expect(await page.locator('g.node').evaluateAll((gs) => gs.map((g) => (g as SVGGElement).dataset.name).sort()))
      .toEqual(['data/postgres', 'data/redis', 'payments/api', 'payments/ledger', 'shop/cart']);
    await page.selectOption('#f-namespace', '');
    await waitForRows('all rows', seqs(records.filter(notNoise)));
  });

  it('verdict, type and protocol filters narrow the table', async () => {
    await page.selectOption('#f-verdict', 'dropped');
    await waitForRows('dropped rows', seqs(records.filter((r) => notNoise(r) && r.verdict === 'dropped')));
    await page.selectOption('#f-verdict', '');
    await page.selectOption('#f-protocol', 'udp');
    await waitForRows('udp rows', seqs(records.filter((r) => notNoise(r) && r.protocol === 'udp')));
    await page.selectOption('#f-protocol', '');
    await page.selectOption('#f-type', 'http');
    await waitForRows('http rows', seqs(records.filter((r) => r.type === 'http')));
    await page.selectOption('#f-type', '');
    await waitForRows('all rows', seqs(records.filter(notNoise)));
  });

  it('the time window sets the map\'s window', async () => {
    const flows = records.filter(notNoise).length > 0 ? await (await fetch(`${server.base}/api/graph?window=5m`)).json() as { flowsPerSecond: number } : undefined;
    await page.selectOption('#f-window', '5m');
    await waitFor('5 minute rate', 15_000, () => 'flow rate', async () =>
      (await page.locator('#flow-rate').textContent()) === flows!.flowsPerSecond.toFixed(2) ? true : undefined);
    await page.selectOption('#f-window', '60s');
  });

  it('pause holds live rows back and says how many; resume shows them', async () => {
    await waitForRows('all rows', seqs(records.filter(notNoise)));
    await page.click('#pause');
    expect(await page.locator('#pause').getAttribute('aria-pressed')).toBe('true');
    const base = records.find((r) => r.type === 'flow' && r.source.identity === WORKLOADS.frontend.identity)!;
    const fresh = [1, 2, 3].map((i) => server.store.push({ ...base, seq: 0, time: new Date(NOW - i).toISOString().replace('Z', '000000Z') }));
    await waitFor('held count', 15_000, () => 'pause button', async () =>
      (await page.locator('#pause').textContent()) === 'Resume (3 new)' ? true : undefined);
    expect(await rowSeqs()).toEqual(seqs(records.filter(notNoise)));
    await page.click('#pause');
    records.push(...fresh);
    await waitForRows('rows after resume', seqs(records.filter(notNoise)));
  });
});

describe('light and dark', () => {
  it('follows the system setting', async () => {
    const dark = await open(`${server.base}/`, 'dark');
    await dark.locator('#map[data-renders]').waitFor({ timeout: 20_000 });
    const bg = (p: Page) => p.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect([await bg(page), await bg(dark)]).toEqual(['rgb(245, 246, 248)', 'rgb(15, 19, 24)']);
    await dark.screenshot({ path: join(ARTIFACTS, 'ui-map-dark.png') });
    await dark.close();
  });
});

describe('errors people can act on', () => {
  it('401: a banner with a token form; the token typed in opens the map; ?access_token= keeps working', async () => {
    const guarded = await serveRecords(landscapeRecords(NOW), NOW, { protection: { token: 'open-sesame', requestsPerSecond: 0 } });
    try {
      const p = await open(`${guarded.base}/`);
      await p.locator('#banner[data-kind="unauthorized"]').waitFor();
      expect(await p.locator('#banner-text').textContent()).toBe('This exporter needs an access token (401). Enter it to see flows.');
      expect(await p.locator('#token-form').isVisible()).toBe(true);
      await p.fill('#token-input', 'wrong');
      await p.click('#token-form button[type="submit"]');
      await p.locator('#banner-text', { hasText: 'refused the access token' }).waitFor();
      await p.fill('#token-input', 'open-sesame');
      await p.press('#token-input', 'Enter');
      await p.locator('#map[data-renders]').waitFor({ timeout: 20_000 });
      expect(await p.locator('#banner').isHidden()).toBe(true);
      await p.screenshot({ path: join(ARTIFACTS, 'ui-after-token.png') });
      await p.close();
      const q = await open(`${guarded.base}/?access_token=open-sesame`);
      await q.locator('#map[data-renders]').waitFor({ timeout: 20_000 });
      expect(await q.locator('g.node').count()).toBe(10);
      expect(await q.locator('#banner').isHidden()).toBe(true);
      await q.close();
    } finally {
      closeStreams(guarded.app);
      await guarded.app.close();
    }
  });

  it('429: a banner that says so, with a retry', async () => {
    // a frozen clock: the bucket (twice the rate) never fills again
    const limited = await serveRecords(landscapeRecords(NOW), NOW, { protection: { requestsPerSecond: 1, now: () => 0 } });
    try {
      const p = await open(`${limited.base}/`);
      await p.locator('#banner[data-kind="rate-limited"]').waitFor({ timeout: 20_000 });
      expect(await p.locator('#banner-text').textContent()).toContain('(429)');
      expect(await p.locator('#retry').isVisible()).toBe(true);
      await p.screenshot({ path: join(ARTIFACTS, 'ui-429.png') });
      await p.close();
    } finally {
      closeStreams(limited.app);
      await limited.app.close();
    }
  });

  it('unreachable: a banner with a retry that brings the map back once the exporter answers', async () => {
    const gone = await serveRecords(landscapeRecords(NOW), NOW);
    const port = Number(new URL(gone.base).port);
    const p = await open(`${gone.base}/`);
    await p.locator('#map[data-renders]').waitFor({ timeout: 20_000 });
    closeStreams(gone.app);
    await gone.app.close();
    await p.locator('#banner[data-kind="unreachable"]').waitFor({ timeout: 20_000 });
    expect(await p.locator('#banner-text').textContent()).toContain('Cannot reach the flowlens API');
    await p.screenshot({ path: join(ARTIFACTS, 'ui-unreachable.png') });
    // an exporter on the same port again: Retry brings everything back
    const again = await serveRecords(landscapeRecords(NOW), NOW, { port });
    try {
      await p.click('#retry');
      await p.locator('#banner').waitFor({ state: 'hidden', timeout: 20_000 });
      await waitFor('cards again', 15_000, () => 'cards', async () => ((await p.locator('g.node').count()) === 10 ? true : undefined));
    } finally {
      await p.close();
      closeStreams(again.app);
      await again.app.close();
    }
  });
});
