import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildServer } from '../../src/server/app.js';
import { startServer } from '../../src/server/listen.js';
import { FlowlensError } from '../../src/errors.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

function app(): FastifyInstance {
  const a = buildServer({ registry: new Registry(), ready: () => ({ ready: true, reasons: [] }) });
  apps.push(a);
  return a;
}

async function failure(promise: Promise<unknown>): Promise<FlowlensError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FlowlensError);
  return error as FlowlensError;
}

describe('startServer', () => {
  it('listens on HOST:PORT and serves over TCP', async () => {
    const bound = await startServer(app(), '127.0.0.1:0');
    expect(bound.host).toBe('127.0.0.1');
    expect(bound.port).toBeGreaterThan(0);
    const res = await fetch(`http://127.0.0.1:${bound.port}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
  });

  it('listens on a bracketed IPv6 address', async () => {
    const bound = await startServer(app(), '[::1]:0');
    expect(bound.host).toBe('::1');
    const res = await fetch(`http://[::1]:${bound.port}/healthz`);
    expect(res.status).toBe(200);
  });

  it('fails with FLOWLENS_ERR_LISTEN_FAILED when the address is in use', async () => {
    const bound = await startServer(app(), '127.0.0.1:0');
    const address = `127.0.0.1:${bound.port}`;
    const error = await failure(startServer(app(), address));
    expect(error.code).toBe('FLOWLENS_ERR_LISTEN_FAILED');
    expect(error.message).toContain(`cannot listen on ${address}: the address is already in use (EADDRINUSE)`);
    expect((error.cause as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
  });

  it('fails with FLOWLENS_ERR_LISTEN_FAILED for an address this host does not have', async () => {
    // TEST-NET-1 (RFC 5737) is never assigned to a local interface.
    const error = await failure(startServer(app(), '192.0.2.1:0'));
    expect(error.code).toBe('FLOWLENS_ERR_LISTEN_FAILED');
    expect(error.message).toContain('the address does not belong to this host (EADDRNOTAVAIL)');
  });

  it('rejects addresses that do not parse, naming the field', async () => {
    for (const bad of ['19965', '::1:19965', '127.0.0.1:99999', 'host:port']) {
      const error = await failure(startServer(app(), bad));
      expect(error.code).toBe('FLOWLENS_ERR_CONFIG_INVALID');
      expect(error.message).toContain('listen: expected');
      expect(error.message).toContain(`"${bad}"`);
    }
  });
});
