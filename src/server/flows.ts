// GET /api/flows (recent records, or a live Server-Sent Events stream),
// GET /api/graph (the service map over a window) and GET /api/openapi.json.
// Handlers parse and answer; filtering and aggregation live in src/flows.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { compileFilter, FilterError, parseFilter, parseTime, type RawFilter } from '../flows/filter.js';
import { buildGraph } from '../flows/graph.js';
import { compareRecords } from '../flows/merge.js';
import type { FlowRecord } from '../flows/record.js';
import type { FlowStore } from '../flows/store.js';
import { openApiDocument } from './openapi.js';

export const DEFAULT_FLOWS_LIMIT = 100;
export const DEFAULT_GRAPH_WINDOW_SECONDS = 60;
/** Live streams at once; more get 429, so slow clients cannot pile up without bound. */
export const MAX_STREAMS = 32;
/** Bytes a stream may have queued unsent before further records are skipped for it (and counted). */
export const STREAM_BUFFER_BYTES = 1 << 20;
const HEARTBEAT_MS = 15_000;

export interface FlowsApiOptions {
  store: FlowStore;
  /** The exporter's version, for the OpenAPI document. */
  version: string;
  now?: () => number;
  maxStreams?: number;
}

/** Counters the flow self-metrics read. */
export interface FlowsApiStats {
  streams: number;
  /** Records not sent to a live stream because its client did not keep up. */
  streamSkipped: number;
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

export function registerFlowsApi(app: FastifyInstance, options: FlowsApiOptions): FlowsApiStats {
  const { store } = options;
  const now = options.now ?? Date.now;
  const maxStreams = options.maxStreams ?? MAX_STREAMS;
  const stats: FlowsApiStats = { streams: 0, streamSkipped: 0 };

  app.get('/api/flows', async (request: FastifyRequest, reply: FastifyReply) => {
    const query = request.query as RawFilter;
    const match = filterOf(query, now());
    const follow = bool(query, 'follow');
    const limitParam = positiveInt(query, 'limit');
    const limit = Math.min(limitParam ?? DEFAULT_FLOWS_LIMIT, store.capacity);
    if (!follow) {
      // the newest N by arrival, shown in time order (drop events arrive up to 100 ms late)
      return reply.header('cache-control', 'no-store').send({ flows: store.query(match, limit).sort(compareRecords) });
    }
    if (stats.streams >= maxStreams) {
      return reply.code(429).send({ error: 'too_many_streams', message: `at most ${maxStreams} live streams at once; close one and retry` });
    }
    // With follow, history is sent only when asked for (limit=N), then every
    // new record; a reconnecting EventSource gets what it missed, by seq.
    const lastId = Number(request.headers['last-event-id']);
    const history = Number.isInteger(lastId) && lastId > 0
      ? store.query((r) => r.seq > lastId && match(r), store.capacity)
      : limitParam === undefined ? [] : store.query(match, limit);
    stream(request, reply, history, match);
    return reply;
  });

  function stream(request: FastifyRequest, reply: FastifyReply, history: FlowRecord[], match: (r: FlowRecord) => boolean): void {
    const raw = reply.raw;
    reply.hijack();
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // proxies (nginx) must pass events on as they come
      'x-accel-buffering': 'no',
    });
    stats.streams++;
    const send = (r: FlowRecord) => {
      if (raw.writableLength > STREAM_BUFFER_BYTES) {
        stats.streamSkipped++;
        return;
      }
      raw.write(`id: ${r.seq}\nevent: flow\ndata: ${JSON.stringify(r)}\n\n`);
    };
    raw.write(': flowlens flow stream\n\n');
    for (const r of history) send(r);
    const unsubscribe = store.subscribe((r) => {
      if (match(r)) send(r);
    });
    const heartbeat = setInterval(() => raw.write(': ping\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      stats.streams--;
      unsubscribe();
      clearInterval(heartbeat);
    };
    request.raw.on('close', close);
    raw.on('close', close);
    raw.on('error', close);
  }

  app.get('/api/graph', async (request: FastifyRequest, reply: FastifyReply) => {
    const query = request.query as RawFilter;
    const nowMs = now();
    const match = filterOf(query, nowMs);
    const windowText = single(query, 'window');
    let windowSeconds = DEFAULT_GRAPH_WINDOW_SECONDS;
    if (windowText !== undefined) {
      if (!/^\d+(\.\d+)?(ms|s|m|h|d)$/.test(windowText)) throw badRequest(`window: expected a duration (30s, 5m, 1h), got "${windowText}"`);
      try {
        windowSeconds = (nowMs - parseTime('window', windowText, nowMs)) / 1000;
      } catch (err) {
        throw badRequest(`window: expected a duration (30s, 5m, 1h), got "${windowText}"`);
      }
      if (!(windowSeconds > 0)) throw badRequest(`window: expected a duration (30s, 5m, 1h), got "${windowText}"`);
    }
    return reply.header('cache-control', 'no-store').send(buildGraph(store.records(), { windowSeconds, nowMs, match }));
  });

  app.get('/api/openapi.json', async (_request, reply) => reply.send(openApiDocument(options.version)));

  return stats;
}
