import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildServer, type Readiness } from '../../src/server/app.js';
import { createMetrics } from '../../src/metrics/core/registry.js';
import { emptySnapshot, FakeDatapath, FakeIdentities, FakeIdentityStatus, samplesOf } from '../common/metrics-fakes.js';

const PACKETS =
  'flowlens_packets_total{source_namespace="shop",source_workload="frontend",source_identity="70000",' +
  'destination_namespace="",destination_workload="reserved:world",destination_identity="reserved:world",' +
  'protocol="tcp",direction="egress",verdict="forwarded"} 7';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function serve(options: { ready?: () => Readiness; registry?: Registry } = {}) {
  const datapath = new FakeDatapath(
    emptySnapshot({ traffic: [{ srcIdentity: 70000, dstIdentity: 2, protocol: 6, direction: 2, verdict: 1, packets: 7, bytes: 700 }] }),
  );
  const registry =
    options.registry ??
    createMetrics({
      config: { contexts: ['namespace', 'workload', 'identity'], seriesLimit: 100, destinationPorts: [] },
      identities: new FakeIdentities().add(70000, { namespace: 'shop', workload: 'frontend' }),
      datapath,
      identityStatus: new FakeIdentityStatus(),
      build: { version: '1.2.3', node: 'v20.20.2' },
      processMetrics: false,
    });
  const errors: string[] = [];
  app = buildServer({
    registry,
    ready: options.ready ?? (() => ({ ready: true, reasons: [] })),
    logger: { debug() {}, info() {}, warn() {}, error: (m) => errors.push(m) },
  });
  return { app, datapath, errors };
}

describe('GET /metrics', () => {
  it('serves the Prometheus text format by default', async () => {
    const { app, datapath } = serve();
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers.vary).toBe('Accept');
    expect(res.body).toContain('# TYPE flowlens_packets_total counter\n');
    expect(samplesOf(res.body, 'flowlens_packets_total')).toEqual([PACKETS]);
    expect(res.body).not.toContain('# EOF');
    expect(datapath.snapshots).toBe(1);
  });

  it('serves OpenMetrics 1.0 when the scraper asks for it, and text again afterwards', async () => {
    const { app, datapath } = serve();
    const om = await app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1' },
    });
    expect(om.statusCode).toBe(200);
    expect(om.headers['content-type']).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(om.body).toContain('# TYPE flowlens_packets counter\n');
    expect(om.body).toContain(`\n${PACKETS}\n`);
    expect(om.body.endsWith('# EOF\n')).toBe(true);
    expect(datapath.snapshots).toBe(1);

    const text = await app.inject({ method: 'GET', url: '/metrics', headers: { accept: 'text/plain' } });
    expect(text.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(text.body).toContain('# TYPE flowlens_packets_total counter\n');
    expect(datapath.snapshots).toBe(2);
  });

  it('answers 500 with the reason when the datapath cannot be read', async () => {
    const { app, datapath, errors } = serve();
    let reads = 0;
    datapath.snapshot = () => {
      reads += 1;
      throw new Error('map read failed: EPERM');
    };
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: 'internal_error', message: 'map read failed: EPERM' });
    expect(errors).toEqual(['GET /metrics failed: map read failed: EPERM']);
    expect(reads).toBe(1);
  });
});

describe('health endpoints', () => {
  it('answers /healthz with ok', async () => {
    const { app } = serve({ ready: () => ({ ready: false, reasons: ['starting'] }) });
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('ok');
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
  });

  it('answers /readyz 503 with the reasons until ready, then 200', async () => {
    let state: Readiness = { ready: false, reasons: ['BPF programs not attached yet', 'identity source kubernetes not synced'] };
    const { app } = serve({ ready: () => state });

    const notReady = await app.inject({ method: 'GET', url: '/readyz' });
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toEqual({ ready: false, reasons: ['BPF programs not attached yet', 'identity source kubernetes not synced'] });

    state = { ready: true, reasons: [] };
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ ready: true, reasons: [] });
  });

  it('is not ready when the readiness check itself throws', async () => {
    const { app } = serve({
      ready: () => {
        throw new Error('store closed');
      },
    });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ ready: false, reasons: ['readiness check failed: store closed'] });
  });
});

describe('other routes', () => {
  it('answers 404 in JSON', async () => {
    const { app } = serve();
    const res = await app.inject({ method: 'GET', url: '/nope?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual({ error: 'not_found', message: 'no route for GET /nope?x=1' });

    const post = await app.inject({ method: 'POST', url: '/metrics' });
    expect(post.statusCode).toBe(404);
  });
});
