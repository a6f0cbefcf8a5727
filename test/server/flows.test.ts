import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildServer } from '../../src/server/app.js';
import { FlowStore } from '../../src/flows/store.js';
import type { FlowRecord } from '../../src/flows/record.js';
import type { ApiProtection } from '../../src/server/protect.js';
import type { FlowsApiOptions, FlowsApiStats } from '../../src/server/flows.js';
import { sseRecords } from '../../src/observe.js';
import { API, DB, FRONTEND, rec, T0, WORLD } from '../common/flows.js';

const NOW = T0 + 100_000;
let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function serve(
  protection: ApiProtection = { requestsPerSecond: 0 },
  records: FlowRecord[] = RECORDS,
  more: Partial<FlowsApiOptions> = {},
) {
  const store = new FlowStore(Math.max(100, records.length));
  for (const r of records) store.push({ ...r });
  const flows = { store, version: '9.9.9', now: () => NOW, protection: { now: () => NOW, ...protection }, ...more };
  let stats: FlowsApiStats | undefined;
  app = buildServer({ registry: new Registry(), ready: () => ({ ready: true, reasons: [] }), flows: { ...flows, onStats: (s) => (stats = s) } });
  return { app, store, stats: () => stats! };
}

const RECORDS = [
  rec(50, { source: FRONTEND(40001), destination: API(8080) }),
  rec(60, { source: API(33001), destination: DB(5432), type: 'drop', verdict: 'dropped', drop: { reason: 'netfilter_drop', reasonClass: 'policy' } }),
  rec(70, { source: WORLD(51000), destination: API(7000), type: 'tcp', verdict: 'dropped', tcp: { outcome: 'refused' } }),
  rec(80, { source: FRONTEND(40002), destination: API(8080) }),
];

const seqsOf = (body: string) => (JSON.parse(body) as { flows: FlowRecord[] }).flows.map((r) => r.seq);

describe('GET /api/flows', () => {
  it('returns the records oldest first', async () => {
    const { app } = serve();
    const res = await app.inject('/api/flows');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('application/json');
    expect(seqsOf(res.body)).toEqual([1, 2, 3, 4]);
  });

  it('applies the filters and the limit (the newest N)', async () => {
    const { app } = serve();
    expect(seqsOf((await app.inject('/api/flows?verdict=DROPPED')).body)).toEqual([2, 3]);
    expect(seqsOf((await app.inject('/api/flows?from_workload=frontend&to_port=8080&limit=1')).body)).toEqual([4]);
    expect(seqsOf((await app.inject('/api/flows?from_identity=reserved:world')).body)).toEqual([3]);
    expect(seqsOf((await app.inject('/api/flows?type=drop&type=tcp&to_namespace=shop')).body)).toEqual([3]);
    expect(seqsOf((await app.inject('/api/flows?since=35s')).body)).toEqual([3, 4]);
  });

  it('refuses a bad filter with 400 and the parameter named', async () => {
    const { app } = serve();
    const res = await app.inject('/api/flows?verdict=lost');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'bad_request', message: 'verdict: "lost" is not one of forwarded, dropped' });
    expect((await app.inject('/api/flows?limit=-3')).json().message).toBe('limit: expected a whole number, got "-3"');
    expect((await app.inject('/api/flows?follow=maybe')).json().message).toBe('follow: expected true or false, got "maybe"');
  });

  it('follow=true streams history (limit=N) then new matching records as Server-Sent Events', async () => {
    const { app, store } = serve();
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const abort = new AbortController();
    const res = await fetch(`http://127.0.0.1:${port}/api/flows?follow=true&limit=1&verdict=dropped`, { signal: abort.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const got: number[] = [];
    const reading = (async () => {
      try {
        for await (const r of sseRecords(res.body!)) {
          got.push(r.seq);
          if (got.length === 3) abort.abort();
        }
      } catch {
        // aborted
      }
    })();
    // the stream subscribes before it writes its headers, so it is listening now
    expect(store.stats().subscribers).toBe(1);
    store.push(rec(90)); // forwarded: not sent
    store.push(rec(91, { verdict: 'dropped', type: 'drop', drop: { reason: 'no_socket', reasonClass: 'no_socket' } }));
    store.push(rec(92, { verdict: 'dropped', type: 'drop', drop: { reason: 'no_socket', reasonClass: 'no_socket' } }));
    await reading;
    expect(got).toEqual([3, 6, 7]);
  });

  it('a reconnecting stream (Last-Event-ID) gets what it missed', async () => {
    const { app } = serve();
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const abort = new AbortController();
    const res = await fetch(`http://127.0.0.1:${port}/api/flows?follow=true`, { signal: abort.signal, headers: { 'last-event-id': '2' } });
    const got: number[] = [];
    try {
      for await (const r of sseRecords(res.body!)) {
        got.push(r.seq);
        if (got.length === 2) abort.abort();
      }
    } catch {
      // aborted
    }
    expect(got).toEqual([3, 4]);
  });
});

describe('GET /api/graph', () => {
  it('aggregates the window, with filters', async () => {
    const { app } = serve();
    const g = (await app.inject('/api/graph?window=35s')).json();
    expect(g.windowSeconds).toBe(35);
    expect(g.edges.map((e: { source: number; destination: number; flows: number; dropped: number }) => [e.source, e.destination, e.flows, e.dropped])).toEqual([
      [2, 70002, 1, 1],
      [70001, 70002, 1, 0],
    ]);
    const dropped = (await app.inject('/api/graph?window=5m&verdict=dropped')).json();
    expect(dropped.nodes.map((n: { name: string }) => n.name)).toEqual(['data/db', 'reserved:world', 'shop/api']);
  });

  it('refuses a window that is not a duration', async () => {
    const { app } = serve();
    const res = await app.inject('/api/graph?window=2026-01-01T00:00:00Z');
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toBe('window: expected a duration (30s, 5m, 1h), got "2026-01-01T00:00:00Z"');
  });
});

describe('OpenAPI and UI', () => {
  it('describes every filter parameter of both routes', async () => {
    const { app } = serve();
    const doc = (await app.inject('/api/openapi.json')).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.version).toBe('9.9.9');
    const params = (path: string) => doc.paths[path].get.parameters.map((p: { name: string }) => p.name);
    expect(params('/api/flows')).toEqual(expect.arrayContaining(['from_namespace', 'to_ip', 'verdict', 'type', 'http_status', 'dns_rcode', 'since', 'until', 'limit', 'follow']));
    expect(params('/api/graph')).toContain('window');
  });

  it('serves the UI page and its assets', async () => {
    const { app } = serve();
    const page = await app.inject('/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('<script type="module" src="/ui/app.js"></script>');
    expect((await app.inject('/ui/app.js')).headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await app.inject('/ui/style.css')).statusCode).toBe(200);
    for (const module of ['model', 'map', 'table']) expect((await app.inject(`/ui/${module}.js`)).statusCode).toBe(200);
    // the layout library, served by the exporter itself (no CDN)
    const elk = await app.inject('/ui/elk-api.js');
    expect([elk.statusCode, elk.headers['content-type']]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect(elk.body).toContain('g.ELK = f()');
    expect((await app.inject('/ui/elk-worker.min.js')).body.length).toBeGreaterThan(1_000_000);
    expect((await app.inject('/ui/../../package.json')).statusCode).toBe(404);
  });
});

describe('protection', () => {
  it('with a token, /api refuses requests without it; the UI files (no data), /metrics and the probes do not ask', async () => {
    const { app } = serve({ token: 's3cret', requestsPerSecond: 0 });
    for (const url of ['/api/flows', '/api/graph', '/api/openapi.json']) {
      const res = await app.inject(url);
      expect([url, res.statusCode, res.headers['www-authenticate']]).toEqual([url, 401, 'Bearer realm="flowlens"']);
    }
    expect((await app.inject({ url: '/api/flows', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/flows', headers: { authorization: 'Bearer s3cret' } })).statusCode).toBe(200);
    expect((await app.inject('/api/flows?access_token=s3cret')).statusCode).toBe(200);
    // the page asks for the token itself when the API answers 401
    expect((await app.inject('/')).statusCode).toBe(200);
    expect((await app.inject('/ui/app.js')).statusCode).toBe(200);
    expect((await app.inject('/metrics')).statusCode).toBe(200);
    expect((await app.inject('/healthz')).statusCode).toBe(200);
  });

  it('rate-limits /api per client: a burst of twice the rate, then 429', async () => {
    const { app } = serve({ requestsPerSecond: 5 });
    const codes: number[] = [];
    for (let i = 0; i < 12; i++) codes.push((await app.inject('/api/flows')).statusCode);
    expect(codes).toEqual([...Array(10).fill(200), 429, 429]);
    // the UI page is not rate limited
    expect((await app.inject('/')).statusCode).toBe(200);
  });
});

describe('what one query may cost', () => {
  /** A clock that moves `step` ms at every reading. */
  const stepping = (step: number) => {
    let t = 0;
    return () => (t += step);
  };
  /** 3,000 records a second apart, in the graph's window; scans read 1,024 a chunk. */
  const MANY = Array.from({ length: 3000 }, (_, i) => rec(i % 100, { source: FRONTEND(30000 + i, `10.0.${i >> 8}.${i & 255}`) }));
  const OVER_BUDGET = {
    error: 'query_over_budget',
    message:
      'the query was stopped after 250 ms of work (2048 records looked at); ' +
      'narrow it with filters (since, type, verdict, namespace, ...) or ask for fewer records (limit, window)',
  };

  it('every parameter out of bounds is a 400 naming it', async () => {
    const { app } = serve();
    const cidrs = (n: number) => Array.from({ length: n }, (_, i) => `172.16.${i >> 8}.${i & 255}/32`).join(',');
    const bad: Array<[string, string]> = [
      [`/api/flows?limit=65535&ip=${cidrs(900)}`, 'ip: 900 values, at most 64 are allowed'],
      [`/api/graph?ip=${cidrs(65)}`, 'ip: 65 values, at most 64 are allowed'],
      [`/api/flows?namespace=${'n'.repeat(300)}`, `namespace: a value of 300 characters ("${'n'.repeat(20)}..."), at most 256 are allowed`],
      ['/api/flows?since=99999999999h', 'since: "99999999999h" is longer than the longest duration allowed (365d)'],
      ['/api/graph?until=99999999999h', 'until: "99999999999h" is longer than the longest duration allowed (365d)'],
      ['/api/flows?since=0001-01-01T00:00:00Z', 'since: "0001-01-01T00:00:00Z" is before 1970-01-01T00:00:00Z'],
      ['/api/graph?window=99999999999h', 'window: "99999999999h" is longer than the longest duration allowed (365d)'],
      ['/api/graph?window=0s', 'window: expected a duration (30s, 5m, 1h), got "0s"'],
      ['/api/graph?window=1m&window=2m', 'window: takes one value'],
      ['/api/flows?protocol=quic', 'protocol: "quic" is not a protocol (icmp, tcp, udp, icmpv6, sctp, unknown, ip-N or a number 0-255)'],
      ['/api/graph?protocol=999', 'protocol: "999" is not a protocol (icmp, tcp, udp, icmpv6, sctp, unknown, ip-N or a number 0-255)'],
      ['/api/flows?limit=1e9', 'limit: expected a whole number, got "1e9"'],
      ['/api/flows?limit=1&limit=2', 'limit: takes one value'],
      ['/api/flows?follow=true&follow=false', 'follow: takes one value'],
      ['/api/flows?follow=true&since=400d', 'since: "400d" is longer than the longest duration allowed (365d)'],
    ];
    for (const [url, message] of bad) {
      const res = await app.inject(url);
      expect([url.slice(0, 60), res.statusCode, res.json()]).toEqual([url.slice(0, 60), 400, { error: 'bad_request', message }]);
    }
  });

  it('a limit beyond the store is all of it, in time order, sent in chunks', async () => {
    const { app } = serve(undefined, MANY);
    const res = await app.inject('/api/flows?limit=65535');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const flows = (res.json() as { flows: FlowRecord[] }).flows;
    // seq 1..3000, ordered by time (100 distinct seconds), then seq
    const want = Array.from({ length: 3000 }, (_, i) => i + 1).sort((a, b) => ((a - 1) % 100) - ((b - 1) % 100) || a - b);
    expect(flows.map((r) => r.seq)).toEqual(want);
    // the chunked body is the JSON of the whole list
    expect(res.body).toBe(JSON.stringify({ flows }));
  });

  it('64 CIDRs are matched exactly (an address table per query, not a scan per CIDR)', async () => {
    const { app } = serve(undefined, MANY);
    const wanted = [5, 300, 2999];
    const cidrs = [...wanted.map((i) => `10.0.${i >> 8}.${i & 255}`), ...Array.from({ length: 61 }, (_, i) => `172.16.0.${i}/32`)];
    const res = await app.inject(`/api/flows?limit=65535&from_ip=${cidrs.join(',')}`);
    expect((res.json() as { flows: FlowRecord[] }).flows.map((r) => r.source.ip)).toEqual(['10.0.1.44', '10.0.0.5', '10.0.11.183']);
    const graph = (await app.inject(`/api/graph?window=5m&ip=${cidrs.join(',')}`)).json();
    expect(graph.records).toBe(3);
  });

  it('a query over its time budget is a 503 that says so, for the list, the graph and a stream\'s history', async () => {
    // the clock moves 200 ms between a chunk's start and end: the second chunk passes 250 ms
    const { app, store, stats } = serve(undefined, MANY, { queryClock: stepping(200) });
    for (const url of ['/api/flows?limit=65535', '/api/graph?window=5m', '/api/flows?follow=true&limit=3000']) {
      const res = await app.inject(url);
      expect([url, res.statusCode, res.json()]).toEqual([url, 503, OVER_BUDGET]);
    }
    // the refused stream gave back its slot and its subscription
    expect([stats().streams, store.stats().subscribers]).toEqual([0, 0]);
    // a query that stops early stays within it
    expect(seqsOf((await app.inject('/api/flows?limit=2')).body)).toEqual([2999, 3000]);
  });

  it('the budget is configurable', async () => {
    const { app } = serve(undefined, MANY, { queryClock: stepping(200), queryBudgetMs: 1000 });
    expect((await app.inject('/api/graph?window=5m')).json().records).toBe(3000);
  });
});
