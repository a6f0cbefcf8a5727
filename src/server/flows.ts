// GET /api/flows (recent records, or a live Server-Sent Events stream),
// GET /api/graph (the service map over a window) and GET /api/openapi.json.
// Handlers parse and answer; filtering and aggregation live in src/flows.

import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { compileFilter, FilterError, parseDuration, parseFilter, type RawFilter } from '../flows/filter.js';
import { GraphBuilder } from '../flows/graph.js';
import { compareRecords } from '../flows/merge.js';
import type { FlowRecord } from '../flows/record.js';
import { QueryBudgetError, scanNewest, type ScanOptions } from '../flows/scan.js';
import type { FlowStore } from '../flows/store.js';
import { openApiDocument } from './openapi.js';

export const DEFAULT_FLOWS_LIMIT = 100;
export const DEFAULT_GRAPH_WINDOW_SECONDS = 60;
/** Live streams at once; more get 429, so slow clients cannot pile up without bound. */
export const MAX_STREAMS = 32;
/** Bytes a stream may have queued unsent before further records are skipped for it (and counted). */
export const STREAM_BUFFER_BYTES = 1 << 20;
/** Records serialised between two turns of the event loop (a few milliseconds of JSON.stringify). */
const JSON_CHUNK = 512;
const HEARTBEAT_MS = 15_000;

export interface FlowsApiOptions {
  store: FlowStore;
  /** The exporter's version, for the OpenAPI document. */
  version: string;
  now?: () => number;
  maxStreams?: number;
  /** Work time one query may take before it is answered 503 (default DEFAULT_QUERY_BUDGET_MS). */
  queryBudgetMs?: number;
  /** The clock the query budget is measured with (tests pass a fake one). */
  queryClock?: () => number;
}

/** Counters the flow self-metrics read. */
export interface FlowsApiStats {
  streams: number;
  /** Records not sent to a live stream because its client did not keep up. */
  streamSkipped: number;
}

export function newFlowsApiStats(): FlowsApiStats {
  return { streams: 0, streamSkipped: 0 };
}

function badRequest(message: string) {
  return Object.assign(new Error(message), { statusCode: 400 });
}

function single(query: RawFilter, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badRequest(`${name}: takes one value`);
  return v;
}

function positiveInt(query: RawFilter, name: string): number | undefined {
  const v = single(query, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw badRequest(`${name}: expected a whole number, got "${v}"`);
  return Number(v);
}

function bool(query: RawFilter, name: string): boolean {
  const v = single(query, name);
  if (v === undefined || v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw badRequest(`${name}: expected true or false, got "${v}"`);
}

function filterOf(query: RawFilter, now: number) {
  try {
    return compileFilter(parseFilter(query, now));
  } catch (err) {
    if (err instanceof FilterError) throw badRequest(err.message);
    throw err;
  }
}

/** The graph's window in seconds: a duration above zero, at most 365d. */
function windowOf(query: RawFilter): number {
  const text = single(query, 'window');
  if (text === undefined) return DEFAULT_GRAPH_WINDOW_SECONDS;
  let ms: number | undefined;
  try {
    ms = parseDuration('window', text);
  } catch (err) {
    if (err instanceof FilterError) throw badRequest(err.message);
    throw err;
  }
  if (ms === undefined || !(ms > 0)) throw badRequest(`window: expected a duration (30s, 5m, 1h), got "${text}"`);
  return ms / 1000;
}

/** 503 for a query over its budget; other errors go on to the error handler. */
function overBudget(reply: FastifyReply, err: unknown): FastifyReply {
  if (!(err instanceof QueryBudgetError)) throw err;
  return reply.code(503).send({ error: 'query_over_budget', message: err.message });
}

/**
 * {"flows":[...]} as a stream, a turn of the event loop between chunks of
 * records: 65,535 records are tens of megabytes of JSON, too long to
 * serialise in one go while /metrics waits.
 */
function flowsJson(records: readonly FlowRecord[]): Readable {
  async function* chunks() {
    yield '{"flows":[';
    for (let i = 0; i < records.length; i += JSON_CHUNK) {
      if (i > 0) await nextTurn();
      const part = records.slice(i, i + JSON_CHUNK).map((r) => JSON.stringify(r)).join(',');
      yield i === 0 ? part : `,${part}`;
    }
    yield ']}';
  }
  return Readable.from(chunks(), { objectMode: false });
}

export function registerFlowsApi(app: FastifyInstance, options: FlowsApiOptions, stats: FlowsApiStats = newFlowsApiStats()): FlowsApiStats {
  const { store } = options;
  const now = options.now ?? Date.now;
  const maxStreams = options.maxStreams ?? MAX_STREAMS;
  const scan: ScanOptions = { budgetMs: options.queryBudgetMs, clock: options.queryClock };

  /** The newest `limit` records `match` accepts, newest first. */
  async function newest(match: (r: FlowRecord) => boolean, limit: number): Promise<FlowRecord[]> {
    const found: FlowRecord[] = [];
    if (limit <= 0) return found;
    await scanNewest(store, (r) => {
      if (match(r)) found.push(r);
      return found.length < limit;
    }, scan);
    return found;
  }

  app.get('/api/flows', async (request: FastifyRequest, reply: FastifyReply) => {
    const query = request.query as RawFilter;
    const match = filterOf(query, now());
    const follow = bool(query, 'follow');
    const limitParam = positiveInt(query, 'limit');
    // more than the store holds is all of it
    const limit = Math.min(limitParam ?? DEFAULT_FLOWS_LIMIT, store.capacity);
    if (!follow) {
      let found: FlowRecord[];
      try {
        found = await newest(match, limit);
      } catch (err) {
        return overBudget(reply, err);
      }
      // the newest N by arrival, shown in time order (drop events arrive up to 100 ms late)
      found.reverse().sort(compareRecords);
      return reply.header('cache-control', 'no-store').type('application/json; charset=utf-8').send(flowsJson(found));
    }
    if (stats.streams >= maxStreams) {
      return reply.code(429).send({ error: 'too_many_streams', message: `at most ${maxStreams} live streams at once; close one and retry` });
    }
    // the slot is taken now: the history scan below gives the event loop turns, in which more streams may ask
    stats.streams++;
    // Subscribed before the history is read, so nothing pushed meanwhile is
    // lost: those records wait here and go out after the history.
    const pending: FlowRecord[] = [];
    let deliver: ((r: FlowRecord) => void) | undefined;
    const unsubscribe = store.subscribe((r) => {
      if (!match(r)) return;
      if (deliver) deliver(r);
      else pending.push(r);
    });
    // With follow, history is sent only when asked for (limit=N), then every
    // new record; a reconnecting EventSource gets what it missed, by seq.
    const lastId = Number(request.headers['last-event-id']);
    let history: FlowRecord[] = [];
    try {
      if (Number.isInteger(lastId) && lastId > 0) {
        await scanNewest(store, (r) => {
          if (r.seq <= lastId) return false;
          if (match(r)) history.push(r);
          return true;
        }, scan);
      } else if (limitParam !== undefined) {
        history = await newest(match, limit);
      }
    } catch (err) {
      unsubscribe();
      stats.streams--;
      return overBudget(reply, err);
    }
    history.reverse();
    stream(request, reply, [...history, ...pending], unsubscribe, (send) => {
      deliver = send;
    });
    return reply;
  });

  /**
   * Sends `backlog`, then every record handed to the function given to
   * `live`, as Server-Sent Events until the client goes; then unsubscribes
   * and frees the stream's slot.
   */
  function stream(
    request: FastifyRequest,
    reply: FastifyReply,
    backlog: FlowRecord[],
    unsubscribe: () => void,
    live: (send: (r: FlowRecord) => void) => void,
  ): void {
    const raw = reply.raw;
    reply.hijack();
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // proxies (nginx) must pass events on as they come
      'x-accel-buffering': 'no',
    });
    const send = (r: FlowRecord) => {
      if (raw.writableLength > STREAM_BUFFER_BYTES) {
        stats.streamSkipped++;
        return;
      }
      raw.write(`id: ${r.seq}\nevent: flow\ndata: ${JSON.stringify(r)}\n\n`);
    };
    raw.write(': flowlens flow stream\n\n');
    for (const r of backlog) send(r);
    live(send);
    const heartbeat = setInterval(() => raw.write(': ping\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    const forget = trackStream(request.server.server, () => {
      raw.end(); // the client sees the event stream end, not a broken connection
      request.raw.socket.destroySoon(); // and the connection closes once that is sent
    });
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      stats.streams--;
      unsubscribe();
      clearInterval(heartbeat);
      forget();
    };
    request.raw.on('close', close);
    raw.on('close', close);
    raw.on('error', close);
    // the client may have gone while the history was read: no close event comes then
    if (request.raw.socket.destroyed) close();
  }

  app.get('/api/graph', async (request: FastifyRequest, reply: FastifyReply) => {
    const query = request.query as RawFilter;
    const nowMs = now();
    const match = filterOf(query, nowMs);
    const windowSeconds = windowOf(query);
    const graph = new GraphBuilder({ windowSeconds, nowMs, match });
    try {
      await scanNewest(store, (r) => {
        graph.add(r);
        return true;
      }, scan);
    } catch (err) {
      return overBudget(reply, err);
    }
    return reply.header('cache-control', 'no-store').send(graph.result());
  });

  app.get('/api/openapi.json', async (_request, reply) => reply.send(openApiDocument(options.version)));

  return stats;
}

// --- shutdown (closeStreams) ------------------------------------------------

/** The live streams of each HTTP server (shared by every plugin scope of an app), by their end functions. */
const liveStreams = new WeakMap<object, Set<() => void>>();

/** Keeps a live stream's end function until the stream closes; returns what forgets it. */
function trackStream(server: object, end: () => void): () => void {
  let ends = liveStreams.get(server);
  if (!ends) liveStreams.set(server, (ends = new Set()));
  ends.add(end);
  return () => ends.delete(end);
}

/**
 * Ends every live flow stream of `app`'s HTTP server, each with a clean end
 * of its event stream, and returns how many there were. Shutdown calls it
 * before closing the server: a stream is a hijacked response that never ends
 * by itself, and fastify's close() waits for every open connection, so one
 * follower (a browser with the UI open) would otherwise hold the exporter up.
 */
export function closeStreams(app: FastifyInstance): number {
  const ends = [...(liveStreams.get(app.server) ?? [])];
  for (const end of ends) end();
  return ends.length;
}
