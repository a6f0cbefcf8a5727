import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { buildServer } from '../../src/server/app.js';
import { FlowStore } from '../../src/flows/store.js';
import type { FlowRecord } from '../../src/flows/record.js';
import { API, FRONTEND, rec, T0 } from '../common/flows.js';

/**
 * Hostile queries against the real server (a full store of 65,535 records),
 * three clients at once, while /metrics is scraped: every hostile query gets
 * a 400 naming its parameter, a 503 for its budget, or the exact answer, and
 * every scrape answers. How long the scrapes take is measured in
 * bench/api.bench.ts (timings belong in benchmarks, not tests).
 */

const N = 65535;
/** After the newest record: every record is in a 365d window. */
const NOW = T0 + (N + 1) * 1000;
/** The records whose source address the 64-CIDR queries ask for. */
const WANTED = [5, 30000, 65000];
const sourceIp = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

const cidrs = (n: number) => Array.from({ length: n }, (_, i) => `172.16.${i >> 8}.${i & 255}/32`);
const SIXTY_FOUR = [...WANTED.map(sourceIp), ...cidrs(61)].join(',');
const NINE_HUNDRED = cidrs(900).join(',');
const OVER_BUDGET = /^the query was stopped after 250 ms of work \(\d+ records looked at\); narrow it with filters/;

type Check = (status: number, body: string) => void;

function overBudgetOr(check: (body: string) => void): Check {
  return (status, body) => {
    if (status === 503) {
      const answer = JSON.parse(body) as { error: string; message: string };
      expect(answer.error).toBe('query_over_budget');
      expect(answer.message).toMatch(OVER_BUDGET);
      return;
    }
    expect(status).toBe(200);
    check(body);
  };
}

const badRequest = (message: string): Check => (status, body) => expect([status, JSON.parse(body)]).toEqual([400, { error: 'bad_request', message }]);

const HOSTILE: ReadonlyArray<{ path: string; check: Check }> = [
  {
    // the request of the issue: a 15 KB URL
    path: `/api/flows?limit=65535&ip=${NINE_HUNDRED}`,
    check: badRequest('ip: 900 values, at most 64 are allowed'),
  },
  {
    path: `/api/flows?limit=65535&ip=${SIXTY_FOUR}`,
    check: overBudgetOr((body) => expect((JSON.parse(body) as { flows: FlowRecord[] }).flows.map((r) => r.source.ip)).toEqual(WANTED.map(sourceIp))),
  },
  {
    path: `/api/graph?window=365d&ip=${SIXTY_FOUR}`,
    check: overBudgetOr((body) => expect(JSON.parse(body).records).toBe(WANTED.length)),
  },
  {
    path: '/api/graph?window=365d',
    check: overBudgetOr((body) => expect(JSON.parse(body).records).toBe(N)),
  },
  {
    path: '/api/flows?limit=65535',
    check: overBudgetOr((body) => {
      const flows = (JSON.parse(body) as { flows: FlowRecord[] }).flows;
      expect([flows.length, flows[0]!.seq, flows[N - 1]!.seq]).toEqual([N, 1, N]);
    }),
  },
  { path: '/api/flows?since=99999999999h', check: badRequest('since: "99999999999h" is longer than the longest duration allowed (365d)') },
  { path: '/api/graph?window=99999999999h', check: badRequest('window: "99999999999h" is longer than the longest duration allowed (365d)') },
  { path: '/api/flows?protocol=bogus', check: badRequest('protocol: "bogus" is not a protocol (icmp, tcp, udp, icmpv6, sctp, unknown, ip-N or a number 0-255)') },
];

const CLIENTS = 3;
const ROUNDS = 1;

let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  const store = new FlowStore(N);
  // one second apart, oldest first, so time order is arrival order
  for (let i = 0; i < N; i++) store.push(rec(i, { source: FRONTEND(40000, sourceIp(i)), destination: API() }));
  const registry = new Registry();
  const requests = new Counter({ name: 'test_requests_total', help: 'requests', labelNames: ['code'], registers: [registry] });
  requests.inc({ code: '200' }, 7);
  new Gauge({ name: 'test_streams', help: 'streams', registers: [registry] }).set(2);
  new Histogram({ name: 'test_duration_seconds', help: 'durations', registers: [registry] }).observe(0.2);
  app = buildServer({
    registry,
    ready: () => ({ ready: true, reasons: [] }),
    // no rate limit: the point is what queries cost, not how many are allowed
    flows: { store, version: '9.9.9', now: () => NOW, protection: { requestsPerSecond: 0 } },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
}, 120_000);

afterAll(async () => {
  await app.close();
});

describe('hostile queries while /metrics is scraped', () => {
  it('every hostile query gets a 400, a 503 or the exact answer; every scrape answers', async () => {
    let hostileRunning = true;
    const answers: Array<{ path: string; status: number; body: string }> = [];
    const clients = Array.from({ length: CLIENTS }, async (_, c) => {
      for (let round = 0; round < ROUNDS; round++) {
        // each client starts at a different query, so different queries overlap
        for (let k = 0; k < HOSTILE.length; k++) {
          const { path } = HOSTILE[(k + c * 2) % HOSTILE.length]!;
          const res = await fetch(base + path);
          answers.push({ path, status: res.status, body: await res.text() });
        }
      }
    });
    const scrapes: Array<{ status: number; body: string }> = [];
    const scraper = (async () => {
      while (hostileRunning) {
        const res = await fetch(`${base}/metrics`);
        scrapes.push({ status: res.status, body: await res.text() });
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await Promise.all(clients);
    hostileRunning = false;
    await scraper;

    expect(answers).toHaveLength(CLIENTS * ROUNDS * HOSTILE.length);
    for (const { path, status, body } of answers) {
      const check = HOSTILE.find((h) => h.path === path)!.check;
      check(status, body);
    }
    expect(scrapes.length).toBeGreaterThan(0);
    for (const s of scrapes) {
      expect(s.status).toBe(200);
      expect(s.body).toContain('test_requests_total{code="200"} 7\n');
    }
  }, 300_000);
});
