// Shutdown that always completes. SIGTERM (Kubernetes deleting the pod, the
// demo being stopped) must end the exporter within 2 s whatever clients are
// connected: live flow streams are ended, idle connections closed, whatever
// still hangs on is destroyed after a short grace, and a hard deadline is the
// backstop for anything else that does not finish.

import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createError } from './errors.js';
import type { Logger } from './log.js';
import { closeStreams } from './server/flows.js';

/** From the signal to the process's exit at the latest: under the 2 s an orchestrator may be promised. */
export const SHUTDOWN_DEADLINE_MS = 1800;
/** How long requests in flight (a scrape, a query) may take to finish once the server closes. */
export const SERVER_CLOSE_GRACE_MS = 500;

/**
 * Every open connection of `server`, kept from the moment it is accepted until
 * it closes, so that shutdown can destroy what outlives its grace. Call it
 * before the server listens.
 */
export function trackConnections(server: Server): Set<Socket> {
  const open = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  return open;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Closes the HTTP server. Live flow streams are ended first (each client sees
 * its event stream end): they are hijacked responses that never end by
 * themselves, and fastify's close() waits for every open connection. Idle
 * keep-alive connections are closed by close() itself. What is still open
 * after SERVER_CLOSE_GRACE_MS (a request that does not complete, a client that
 * does not read what was sent) is destroyed.
 */
export async function closeHttpServer(app: FastifyInstance, connections: Set<Socket>, log: Logger, graceMs = SERVER_CLOSE_GRACE_MS): Promise<void> {
  const streams = closeStreams(app);
  let destroyed = 0;
  const grace = setTimeout(() => {
    destroyed = connections.size;
    for (const socket of connections) socket.destroy();
  }, graceMs);
  try {
    await app.close();
  } finally {
    clearTimeout(grace);
  }
  const forced = destroyed > 0 ? `; destroyed ${plural(destroyed, 'connection')} still open after ${graceMs} ms` : '';
  log.info(`HTTP server closed: ended ${plural(streams, 'live flow stream')}${forced}`);
}

/**
 * Resolves with the first SIGINT or SIGTERM. A second signal ends the process
 * at once (status 130), for an operator who will not wait.
 */
export function firstSignal(log: Logger, exit: (status: number) => void = process.exit): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (received) {
        log.warn(`${signal} again: exiting without finishing the shutdown`);
        exit(130);
        return;
      }
      received = true;
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** What keeps the event loop busy, by kind: "TCPSocketWrap x2, Timeout x1". */
export function openResources(): string {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return [...counts].map(([kind, n]) => `${kind} x${n}`).join(', ') || 'nothing';
}

export interface StopOptions {
  stop: () => Promise<void>;
  /** The step stop() is in, for the report when the deadline passes. */
  pending: () => string | undefined;
  log: Logger;
  deadlineMs?: number;
  exit?: (status: number) => void;
}

/**
 * Runs stop() under a hard deadline and returns the exit status (0, or 1 when
 * a step failed). If stop() has not finished by the deadline (a step hangs:
 * say a span export to a collector that does not answer), the error
 * FLOWLENS_ERR_SHUTDOWN_INCOMPLETE is logged, naming the step and what is
 * still open, and the process exits anyway. That is safe: tcx links end with
 * the process, and the addon removes clsact filters at exit.
 */
export async function stopWithin(opts: StopOptions): Promise<number> {
  const deadlineMs = opts.deadlineMs ?? SHUTDOWN_DEADLINE_MS;
  const exit = opts.exit ?? process.exit;
  const started = Date.now();
  const backstop = setTimeout(() => {
    const err = createError('FLOWLENS_ERR_SHUTDOWN_INCOMPLETE', deadlineMs, `stopping ${opts.pending() ?? 'the exporter'}`, openResources());
    opts.log.error(`${err.message} [${err.code}]`);
    exit(err.exitStatus);
  }, deadlineMs);
  try {
    await opts.stop();
    opts.log.info(`stopped in ${Date.now() - started} ms`);
    return 0;
  } catch (err) {
    opts.log.error(`shutdown failed: ${(err as Error).message}`);
    return 1;
  } finally {
    clearTimeout(backstop);
  }
}
