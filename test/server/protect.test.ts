import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildServer } from '../../src/server/app.js';
import { FlowStore } from '../../src/flows/store.js';
import { rec } from '../common/flows.js';

/**
 * The token guards routes, not URL text: every spelling of a protected path
 * that the router maps to a protected route must ask for the token, and every
 * other spelling must find no route at all. Requests go over a real socket
 * with the path sent byte for byte (inject() and fetch() normalise dot
 * segments before the server sees them).
 */

const TOKEN = 's3cret';
const UNAUTHORIZED = {
  error: 'unauthorized',
  message: 'this exporter requires a bearer token (Authorization: Bearer TOKEN, or ?access_token=TOKEN)',
};

interface Answer {
  status: number;
  type: string;
  body: string;
}

/** GET (or HEAD) of `path` exactly as written; an event stream is cut after its first bytes. */
function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const type = String(res.headers['content-type'] ?? '');
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (type.startsWith('text/event-stream')) {
          req.destroy();
          resolve({ status: res.statusCode!, type, body });
        }
      });
      res.on('end', () => resolve({ status: res.statusCode!, type, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Spellings of a protected path P. `routes`: the router maps it to P's route
 * (percent-encoded letters are decoded before matching; the router is case
 * sensitive and normalises neither slashes nor dot segments).
 */
const SPELLINGS: ReadonlyArray<{ name: string; spell: (p: string) => string; routes: boolean }> = [
  { name: 'as written', spell: (p) => p, routes: true },
  { name: 'first letter %-encoded', spell: (p) => p.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`), routes: true },
  { name: 'every letter %-encoded, lower-case hex', spell: (p) => p.replace(/[a-z]/g, (c) => `%${c.charCodeAt(0).toString(16)}`), routes: true },
  { name: 'every letter %-encoded, upper-case hex', spell: (p) => p.replace(/[a-z]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`), routes: true },
  { name: 'upper case', spell: (p) => p.toUpperCase(), routes: false },
  { name: 'first letter upper case', spell: (p) => p.replace(/[a-z]/, (c) => c.toUpperCase()), routes: false },
  { name: 'first letter %-encoded upper case', spell: (p) => p.replace(/[a-z]/, (c) => `%${c.toUpperCase().charCodeAt(0).toString(16)}`), routes: false },
  { name: 'leading slash doubled', spell: (p) => `/${p}`, routes: false },
  { name: 'inner slash doubled', spell: (p) => p.replace(/(.)\//, '$1//'), routes: false },
  { name: 'trailing slash', spell: (p) => `${p}/`, routes: false },
  { name: 'dot segment /./', spell: (p) => `/.${p}`, routes: false },
  { name: 'dot-dot segment /x/../', spell: (p) => `/x/..${p}`, routes: false },
  { name: 'encoded dot segment /%2e/', spell: (p) => `/%2e${p}`, routes: false },
  { name: 'encoded dot-dot /x/%2e%2e/', spell: (p) => `/x/%2e%2e${p}`, routes: false },
  { name: 'inner slashes %-encoded (%2F)', spell: (p) => p.replace(/(?<!^)\//g, '%2F'), routes: false },
  { name: 'inner slashes %-encoded (%2f)', spell: (p) => p.replace(/(?<!^)\//g, '%2f'), routes: false },
  { name: 'empty query ?', spell: (p) => `${p}?`, routes: true },
  { name: 'query ?x=/api/', spell: (p) => `${p}?x=/api/`, routes: true },
  { name: 'encoded ? (%3F)', spell: (p) => `${p}%3F`, routes: false },
  { name: 'path parameter ;x', spell: (p) => `${p};x`, routes: false },
  { name: 'encoded ; (%3B)', spell: (p) => `${p}%3Bx`, routes: false },
  { name: 'trailing NUL (%00)', spell: (p) => `${p}%00`, routes: false },
  { name: 'trailing space (%20)', spell: (p) => `${p}%20`, routes: false },
];

/** The protected routes, with what each shows when the token is given. */
const ROUTES: ReadonlyArray<{ path: string; shows: (a: Answer) => void }> = [
  { path: '/api/flows', shows: (a) => expect(JSON.parse(a.body).flows.map((r: { seq: number }) => r.seq)).toEqual([1, 2]) },
  { path: '/api/graph', shows: (a) => expect(JSON.parse(a.body).records).toBe(2) },
  { path: '/api/openapi.json', shows: (a) => expect(JSON.parse(a.body).openapi).toBe('3.1.0') },
];

/** The answer a spelling must get: [without the token, with it]. */
const expected = (routes: boolean): [number, number] => (routes ? [401, 200] : [404, 404]);

let app: FastifyInstance;
let port: number;

beforeAll(async () => {
  const store = new FlowStore(10);
  const now = Date.now();
  // inside the graph's default 60 s window
  store.push(rec(0, { time: new Date(now - 10_000).toISOString().replace('Z', '000000Z') }));
  store.push(rec(0, { time: new Date(now - 5_000).toISOString().replace('Z', '000000Z') }));
  app = buildServer({
    registry: new Registry(),
    ready: () => ({ ready: true, reasons: [] }),
    flows: { store, version: '9.9.9', protection: { token: TOKEN, requestsPerSecond: 0 } },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as { port: number }).port;
});

afterAll(async () => {
  await app.close();
});

describe('the token holds for every spelling of every protected path', () => {
  for (const route of ROUTES) {
    for (const spelling of SPELLINGS) {
      const path = spelling.spell(route.path);
      // a spelling that changes nothing (upper case of "/") is the written one
      if (path === route.path && spelling.name !== 'as written') continue;
      const [without, withToken] = expected(spelling.routes);
      it(`${route.path}, ${spelling.name}: GET ${path} answers ${without} without the token, ${withToken} with it`, async () => {
        const bare = await get(port, path);
        const wrong = await get(port, path, { authorization: 'Bearer wrong' });
        const good = await get(port, path, { authorization: `Bearer ${TOKEN}` });
        expect([bare.status, wrong.status, good.status]).toEqual([without, without, withToken]);
        if (spelling.routes) {
          expect(JSON.parse(bare.body)).toEqual(UNAUTHORIZED);
          expect(JSON.parse(wrong.body)).toEqual(UNAUTHORIZED);
          route.shows(good);
        } else {
          expect(JSON.parse(bare.body).error).toBe('not_found');
        }
      });
    }
  }

  it('HEAD asks for the token like GET', async () => {
    for (const path of ['/api/flows', '/%61pi/flows', '/a%70i/graph']) {
      expect([path, (await get(port, path, {}, 'HEAD')).status]).toEqual([path, 401]);
      expect([path, (await get(port, path, { authorization: `Bearer ${TOKEN}` }, 'HEAD')).status]).toEqual([path, 200]);
    }
  });

  it('the token in the query (for EventSource) works under any spelling of its name, and only the exact token', async () => {
    expect((await get(port, `/%61pi/flows?access_token=${TOKEN}`)).status).toBe(200);
    expect((await get(port, `/api/flows?%61ccess_token=${TOKEN}`)).status).toBe(200);
    expect((await get(port, `/api/flows?access_token=${TOKEN}x`)).status).toBe(401);
    expect((await get(port, `/api/flows?access_token=${TOKEN}&access_token=${TOKEN}`)).status).toBe(401);
  });
});

describe('the live stream (follow=true) asks for the token under every spelling', () => {
  for (const path of ['/api/flows', '/%61pi/flows', '/a%70i/flows', '/%61%70%69/%66%6C%6F%77%73']) {
    it(`GET ${path}?follow=true`, async () => {
      const bare = await get(port, `${path}?follow=true`);
      expect([bare.status, JSON.parse(bare.body)]).toEqual([401, UNAUTHORIZED]);
      const good = await get(port, `${path}?follow=true`, { authorization: `Bearer ${TOKEN}` });
      expect([good.status, good.type, good.body]).toEqual([200, 'text/event-stream; charset=utf-8', ': flowlens flow stream\n\n']);
    });
  }
});

describe('open routes stay open', () => {
  it("the UI's files (static code, no data) answer without the token, so the page can ask for it", async () => {
    for (const path of ['/', '/ui/app.js', '/%75i/app.js', '/ui/style.css', '/ui/elk-api.js']) {
      expect([path, (await get(port, path)).status]).toEqual([path, 200]);
    }
    expect((await get(port, '/')).body).toContain('<script type="module" src="/ui/app.js"></script>');
  });


  it('/metrics and the probes answer without the token', async () => {
    for (const path of ['/metrics', '/%6detrics', '/healthz', '/readyz']) {
      expect([path, (await get(port, path)).status]).toEqual([path, 200]);
    }
  });
});

describe('the rate limit holds by route too', () => {
  it('every spelling of an /api route draws on one bucket per client; the UI has none', async () => {
    const limited = buildServer({
      registry: new Registry(),
      ready: () => ({ ready: true, reasons: [] }),
      flows: { store: new FlowStore(10), version: '9.9.9', protection: { requestsPerSecond: 5, now: () => 0 } },
    });
    try {
      const paths = ['/api/flows', '/%61pi/flows', '/a%70i/flows', '/api/fl%6Fws', '/%61pi/graph', '/%61pi/openapi.json'];
      const codes: Array<[string, number]> = [];
      for (let i = 0; i < 12; i++) {
        const path = paths[i % paths.length]!;
        codes.push([path, (await limited.inject(path)).statusCode]);
      }
      expect(codes.map(([, code]) => code)).toEqual([...Array(10).fill(200), 429, 429]);
      expect((await limited.inject('/')).statusCode).toBe(200);
      expect((await limited.inject('/%75i/app.js')).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });
});
