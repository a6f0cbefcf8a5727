import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildServer } from '../src/server/app.js';
import { FlowStore } from '../src/flows/store.js';
import { createLogger } from '../src/log.js';
import { closeHttpServer, stopWithin, trackConnections } from '../src/shutdown.js';
import { waitFor } from './common/exporter.js';

/**
 * The HTTP server closes whatever its clients hold open: live flow streams
 * end cleanly, idle keep-alive connections close, and what still hangs on
 * after the grace is destroyed. Behind it, a hard deadline ends a stop that
 * hangs. The real exporter under SIGTERM: test/e2e/shutdown.test.ts.
 */

let app: FastifyInstance | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await app?.close();
  app = undefined;
});

function logger() {
  const lines: string[] = [];
  return { lines, log: createLogger('info', (l) => lines.push(l.trim())) };
}

async function serve() {
  const store = new FlowStore(100);
  app = buildServer({
    registry: new Registry(),
    ready: () => ({ ready: true, reasons: [] }),
    flows: { store, version: '1', protection: { requestsPerSecond: 0 } },
  });
  const connections = trackConnections(app.server);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  return { app, store, connections, base: `http://127.0.0.1:${port}`, port };
}

/** A follower: reads its stream to the end, and says how it ended. */
async function follow(base: string): Promise<{ opened: Promise<void>; ended: Promise<string> }> {
  const res = await fetch(`${base}/api/flows?follow=true`);
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  let text = '';
  const decoder = new TextDecoder();
  let opened!: () => void;
  const openedP = new Promise<void>((r) => (opened = r));
  const ended = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return `ended cleanly after ${JSON.stringify(text)}`;
        text += decoder.decode(value);
        if (text.includes(': flowlens flow stream')) opened();
      }
    } catch (err) {
      return `broke: ${(err as Error).message}`;
    }
  })();
  return { opened: openedP, ended };
}

function rawConnection(port: number, send?: string): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      if (send) s.write(send);
      resolve(s);
    });
    s.on('error', () => {});
    sockets.push(s);
  });
}

const closed = (s: Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())));

describe('closeHttpServer', () => {
  it('ends every live stream cleanly and closes idle keep-alive connections, without waiting for the grace', async () => {
    const { app, connections, base, port } = await serve();
    const followers = await Promise.all([follow(base), follow(base), follow(base)]);
    await Promise.all(followers.map((f) => f.opened));
    // a keep-alive connection after one answered request, now idle
    const keepAlive = await rawConnection(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    await new Promise((r) => keepAlive.once('data', r));

    const { lines, log } = logger();
    // a grace no test waits for: closing must not need it
    await closeHttpServer(app, connections, log, 60_000);

    for (const f of followers) expect(await f.ended).toBe('ended cleanly after ": flowlens flow stream\\n\\n"');
    await closed(keepAlive);
    expect(connections.size).toBe(0);
    expect(lines.map((l) => l.replace(/^\S+ /, ''))).toEqual(['info  HTTP server closed: ended 3 live flow streams']);
  });

  it('destroys what is still open after the grace: a request that never completes', async () => {
    const { app, connections, base, port } = await serve();
    const follower = await follow(base);
    await follower.opened;
    // headers sent only in part: the server waits for the rest for ever
    const slow = await rawConnection(port, 'GET /metrics HTTP/1.1\r\nHost: x\r\n');
    await waitFor('the server to accept it', 30_000, () => '', async () => (connections.size === 2 ? true : undefined));

    const { lines, log } = logger();
    await closeHttpServer(app, connections, log, 200);

    expect(await follower.ended).toBe('ended cleanly after ": flowlens flow stream\\n\\n"');
    await closed(slow);
    expect(lines.map((l) => l.replace(/^\S+ /, ''))).toEqual([
      'info  HTTP server closed: ended 1 live flow stream; destroyed 1 connection still open after 200 ms',
    ]);
  });
});

describe('stopWithin', () => {
  it('returns 0 once stop() is done, and logs it', async () => {
    const { lines, log } = logger();
    const exits: number[] = [];
    expect(await stopWithin({ stop: async () => {}, pending: () => undefined, log, deadlineMs: 60_000, exit: (s) => exits.push(s) })).toBe(0);
    expect(exits).toEqual([]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ info  stopped in \d+ ms$/);
  });

  it('exits with status 1 at the deadline, naming the step still under way and what is open', async () => {
    const { lines, log } = logger();
    let exited!: (status: number) => void;
    const exit = new Promise<number>((r) => (exited = r));
    void stopWithin({ stop: () => new Promise(() => {}), pending: () => 'the span export', log, deadlineMs: 50, exit: exited });
    expect(await exit).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\S+ error shutdown did not finish within 50 ms \(still stopping the span export; open: .+\); exiting anyway\. .* \[FLOWLENS_ERR_SHUTDOWN_INCOMPLETE\]$/,
    );
  });
});
