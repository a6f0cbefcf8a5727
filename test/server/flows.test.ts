import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildServer } from '../../src/server/app.js';
import { FlowStore } from '../../src/flows/store.js';
import type { FlowRecord } from '../../src/flows/record.js';
import type { ApiProtection } from '../../src/server/protect.js';
import { sseRecords } from '../../src/observe.js';
import { API, DB, FRONTEND, rec, T0, WORLD } from '../common/flows.js';

const NOW = T0 + 100_000;
let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function serve(protection: ApiProtection = { requestsPerSecond: 0 }, records: FlowRecord[] = RECORDS) {
  const store = new FlowStore(100);
  for (const r of records) store.push({ ...r });
  app = buildServer({
    registry: new Registry(),
    ready: () => ({ ready: true, reasons: [] }),
    flows: { store, version: '9.9.9', now: () => NOW, protection: { now: () => NOW, ...protection } },
  });
  return { app, store };
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
    expect((await app.inject('/ui/../../package.json')).statusCode).toBe(404);
  });
});

describe('protection', () => {
  it('with a token, /api and the UI refuse requests without it; /metrics and the probes do not ask', async () => {
    const { app } = serve({ token: 's3cret', requestsPerSecond: 0 });
    for (const url of ['/api/flows', '/api/graph', '/api/openapi.json', '/', '/ui/app.js']) {
      const res = await app.inject(url);
      expect([url, res.statusCode, res.headers['www-authenticate']]).toEqual([url, 401, 'Bearer realm="flowlens"']);
    }
    expect((await app.inject({ url: '/api/flows', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/flows', headers: { authorization: 'Bearer s3cret' } })).statusCode).toBe(200);
    expect((await app.inject('/?access_token=s3cret')).statusCode).toBe(200);
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
