import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/flows/record.js';
import { ExporterProcess, waitFor, writeIdentities } from '../common/exporter.js';
import { OtlpReceiver } from '../common/otlp.js';
import { inNs, runTag, TestNetwork, type TestHost } from '../common/netns.js';
import { sumOf, type Sample } from '../common/prom.js';

/**
 * HTTP/1.x exchanges between namespaces, seen by the exporter at both ends'
 * interfaces: a Node.js server answering known statuses on two ports (neither
 * of them 80), one client on keep-alive connections and one opening a
 * connection per request. Both ends are local, so every exchange is reported
 * exactly once with reporter="client" and once with reporter="server".
 */

const PORT_A = 8080;
const PORT_B = 9000;

const tag = runTag();
const prefix = `fh${tag}`;
let net: TestNetwork;
let alpha: TestHost;
let beta: TestHost;
let server: TestHost;
let exporter: ExporterProcess;
let receiver: OtlpReceiver;
let tmp: string;

/** Status by path; the server answers every method alike. */
const serverScript = (address: string): string => `
const http = require('http');
const statuses = { '/ok': 200, '/missing': 404, '/fail': 500 };
let up = 0;
for (const port of [${PORT_A}, ${PORT_B}]) {
  http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.statusCode = statuses[req.url.split('?')[0]] ?? 400;
      res.end('body of ' + req.url);
    });
  }).listen(port, '${address}', () => { if (++up === 2) console.log('up'); });
}`;

/**
 * Sends `requests` in order from a namespace, one at a time; keepAlive puts
 * them all on one connection, else each has its own. Prints the statuses.
 */
function send(from: TestHost, port: number, keepAlive: boolean, requests: Array<[method: string, path: string, headers?: Record<string, string>]>): string {
  return inNs(from.ns, process.execPath, [
    '-e',
    `const http = require('http');
     const agent = new http.Agent({ keepAlive: ${keepAlive}, maxSockets: 1 });
     const requests = ${JSON.stringify(requests)};
     const sockets = new Set();
     (async () => {
       const statuses = [];
       for (const [method, path, headers] of requests) {
         statuses.push(await new Promise((resolve, reject) => {
           const req = http.request({ host: '${server.address}', port: ${port}, method, path, agent, headers: headers ?? {} }, (res) => {
             sockets.add(res.socket);
             res.resume();
             res.on('end', () => resolve(res.statusCode));
           });
           req.setTimeout(5000, () => req.destroy(new Error('timeout')));
           req.on('error', reject);
           req.end(method === 'POST' ? 'payload' : undefined);
         }));
       }
       console.log(statuses.join(',') + ' sockets=' + sockets.size);
       agent.destroy();
     })().catch((e) => { console.error(e); process.exit(1); });`,
  ]).trim();
}

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

/** requests_total / responses_total samples by `client>server method [status] reporter`. */
function counts(m: Sample[], family: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of m) {
    if (s.name !== family) continue;
    const l = s.labels;
    const key = [`${l.source_workload}>${l.destination_workload}`, l.method, l.status, l.reporter].filter((x) => x !== undefined).join(' ');
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

/** Observation counts of the latency histogram by `client>server method class reporter`. */
function observations(m: Sample[], suffix: '_count' | '_bucket'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of m) {
    if (s.name !== `flowlens_http_request_duration_seconds${suffix}`) continue;
    if (suffix === '_bucket' && s.labels.le !== '+Inf') continue;
    const l = s.labels;
    const key = `${l.source_workload}>${l.destination_workload} ${l.method} ${l.status_class} ${l.reporter}`;
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

/** The same counts for both reporters. */
function bothSides(entries: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(entries)) {
    out[`${k} client`] = v;
    out[`${k} server`] = v;
  }
  return out;
}

describe('HTTP/1.x exchanges by identity, status and reporter (network namespaces, real kernel)', () => {
  beforeAll(async () => {
    net = new TestNetwork(prefix, '10.223.0');
    alpha = net.addHost('alp', 2);
    beta = net.addHost('bet', 3);
    server = net.addHost('srv', 4);
    tmp = mkdtempSync(join(tmpdir(), 'flowlens-http-'));
    const identities = join(tmp, 'identities.yaml');
    writeIdentities(identities, { alpha, beta, server });

    const listener = net.spawnIn(server.ns, process.execPath, ['-e', serverScript(server.address)]);
    await new Promise((r) => listener.stdout!.once('data', r));

    receiver = await OtlpReceiver.start();
    const config = join(tmp, 'flowlens.yaml');
    writeFileSync(
      config,
      [
        `otlpEndpoint: ${receiver.endpoint}`,
        'traces: { exportIntervalMilliseconds: 100 }',
        // '/fail' becomes '/{redacted}' in flows and spans
        "http: { redactPaths: ['fai+l'] }",
        '',
      ].join('\n'),
    );
    exporter = new ExporterProcess(['--config', config, '--interface', `${prefix}*`, '--identities', identities]);
    await exporter.ready();
  });

  afterAll(() => {
    exporter?.kill();
    receiver?.stop();
    net?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('counts keep-alive and one-per-connection exchanges exactly, once per side', async () => {
    // alpha: six exchanges on one keep-alive connection to port 8080
    expect(
      send(alpha, PORT_A, true, [
        ['GET', '/ok'],
        ['GET', '/ok?page=2'],
        ['GET', '/missing'],
        ['POST', '/ok'],
        ['GET', '/fail', { traceparent: TRACEPARENT }],
        ['GET', '/ok'],
      ]),
    ).toBe('200,200,404,200,500,200 sockets=1');
    // beta: four exchanges to port 9000, each on its own connection
    expect(
      send(beta, PORT_B, false, [
        ['GET', '/ok'],
        ['DELETE', '/missing'],
        ['PUT', '/fail'],
        ['GET', '/ok'],
      ]),
    ).toBe('200,404,500,200 sockets=4');

    const m = await exporter.samples();
    expect(counts(m, 'flowlens_http_requests_total')).toEqual(
      bothSides({
        'alpha>server GET': 5,
        'alpha>server POST': 1,
        'beta>server GET': 2,
        'beta>server DELETE': 1,
        'beta>server PUT': 1,
      }),
    );
    expect(counts(m, 'flowlens_http_responses_total')).toEqual(
      bothSides({
        'alpha>server GET 200': 3,
        'alpha>server GET 404': 1,
        'alpha>server GET 500': 1,
        'alpha>server POST 200': 1,
        'beta>server GET 200': 2,
        'beta>server DELETE 404': 1,
        'beta>server PUT 500': 1,
      }),
    );
    // every exchange timed: one observation each, all within the +Inf bucket
    const expected = bothSides({
      'alpha>server GET 2xx': 3,
      'alpha>server GET 4xx': 1,
      'alpha>server GET 5xx': 1,
      'alpha>server POST 2xx': 1,
      'beta>server GET 2xx': 2,
      'beta>server DELETE 4xx': 1,
      'beta>server PUT 5xx': 1,
    });
    expect(observations(m, '_count')).toEqual(expected);
    expect(observations(m, '_bucket')).toEqual(expected);
    // nothing left unmatched, nothing counted in the server -> client direction
    expect(sumOf(m, 'flowlens_http_unmatched_messages_total')).toBe(0);
    expect(sumOf(m, 'flowlens_http_requests_total', { source_workload: 'server' })).toBe(0);
    expect(sumOf(m, 'flowlens_bpf_map_update_errors_total')).toBe(0);
    // one connection state per connection and side: 1 keep-alive + 4 of beta's, at two interfaces
    expect(sumOf(m, 'flowlens_bpf_map_entries', { map: 'http_connections' })).toBe(10);
  });

  it('puts each exchange into the flows API once per side, the path redacted as configured', async () => {
    // events are read every 100 ms: wait for all 20 (10 exchanges, 2 sides), then check them exactly
    const flows = await waitFor('HTTP records', 30_000, () => exporter.output, async () => {
      const res = await fetch(`${exporter.base}/api/flows?type=http&from_ip=${alpha.address},${beta.address}&limit=1000`);
      const body = (await res.json()) as { flows: FlowRecord[] };
      return body.flows.length >= 20 ? body.flows : undefined;
    });
    const seen: Record<string, number> = {};
    for (const f of flows) {
      const key = `${f.direction} ${f.source.workload}>${f.destination.workload}:${f.destination.port} ${f.http!.method} ${f.http!.path} ${f.http!.status}`;
      seen[key] = (seen[key] ?? 0) + 1;
      expect(f.http!.latencySeconds! > 0 && f.http!.latencySeconds! < 5).toBe(true);
    }
    const one = (k: string, n = 1) => ({ [`egress ${k}`]: n, [`ingress ${k}`]: n });
    expect(seen).toEqual({
      // the query string is never kept
      ...one('alpha>server:8080 GET /ok 200', 3),
      ...one('alpha>server:8080 GET /missing 404'),
      ...one('alpha>server:8080 POST /ok 200'),
      ...one('alpha>server:8080 GET /{redacted} 500'),
      ...one('beta>server:9000 GET /ok 200', 2),
      ...one('beta>server:9000 DELETE /missing 404'),
      ...one('beta>server:9000 PUT /{redacted} 500'),
    });
  });

  it('sends one span per exchange and side; a request\'s traceparent makes its spans children in its trace', async () => {
    const expected = 2 * 10;
    await waitFor('http spans', 30_000, () => exporter.output, async () => (receiver.spans.length >= expected ? true : undefined));
    const spans = receiver.spans.filter((s) => s.attributes['http.request.method'] !== undefined);
    expect(spans.length).toBe(expected);
    const kinds: Record<string, number> = {};
    for (const s of spans) {
      // server spans carry url.path, client spans url.full (http://server:port/path)
      const path = s.kind === 'SPAN_KIND_SERVER' ? s.attributes['url.path'] : new URL(String(s.attributes['url.full'])).pathname.replace('%7B', '{').replace('%7D', '}');
      const key = `${s.kind} ${s.name} ${path} ${s.attributes['http.response.status_code']} ${s.status.code}`;
      kinds[key] = (kinds[key] ?? 0) + 1;
      expect(s.startNs < s.endNs).toBe(true);
    }
    const both = (k: string, n = 1, client = 'STATUS_CODE_UNSET', server = client) => ({
      [`SPAN_KIND_CLIENT ${k} ${client}`]: n,
      [`SPAN_KIND_SERVER ${k} ${server}`]: n,
    });
    expect(kinds).toEqual({
      ...both('GET /ok 200', 5),
      ...both('GET /missing 404', 1, 'STATUS_CODE_ERROR', 'STATUS_CODE_UNSET'),
      ...both('POST /ok 200'),
      ...both('GET /{redacted} 500', 1, 'STATUS_CODE_ERROR'),
      ...both('DELETE /missing 404', 1, 'STATUS_CODE_ERROR', 'STATUS_CODE_UNSET'),
      ...both('PUT /{redacted} 500', 1, 'STATUS_CODE_ERROR'),
    });
    const [, traceId, parentSpanId] = TRACEPARENT.split('-');
    const children = spans.filter((s) => s.traceId === traceId);
    expect(children.map((s) => `${s.kind} ${s.parentSpanId}`).sort()).toEqual([
      `SPAN_KIND_CLIENT ${parentSpanId}`,
      `SPAN_KIND_SERVER ${parentSpanId}`,
    ]);
  });

  it('a second round, to the other port, adds exactly its own exchanges', async () => {
    const before = await exporter.samples();
    // (Node's agent does not reuse the connection after a HEAD response: how many sockets is not asserted)
    expect(send(alpha, PORT_B, true, [['HEAD', '/ok'], ['OPTIONS', '/missing'], ['PATCH', '/fail']])).toMatch(/^200,404,500 /);
    const after = await exporter.samples();
    const delta = (family: string): Record<string, number> => {
      const b = counts(before, family);
      const out: Record<string, number> = {};
      for (const [k, v] of Object.entries(counts(after, family))) if (v !== (b[k] ?? 0)) out[k] = v - (b[k] ?? 0);
      return out;
    };
    expect(delta('flowlens_http_requests_total')).toEqual(
      bothSides({ 'alpha>server HEAD': 1, 'alpha>server OPTIONS': 1, 'alpha>server PATCH': 1 }),
    );
    expect(delta('flowlens_http_responses_total')).toEqual(
      bothSides({ 'alpha>server HEAD 200': 1, 'alpha>server OPTIONS 404': 1, 'alpha>server PATCH 500': 1 }),
    );
  });
});
