/**
 * HTTP/1.x in flow.bpf.c (bpf/protocols/http.bpf.h) under BPF_PROG_TEST_RUN:
 * crafted TCP segments in, exact http_requests / http_responses /
 * http_connections / http_unmatched contents and HTTP events out. Every test
 * loads a fresh object. Needs root and bpf/.output/flow.bpf.o (make bpf).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BpfObject } from '../../src/bpf/index.js';
import {
  EventType,
  HTTP_DURATION_BOUNDS_SECONDS,
  HTTP_DURATION_BUCKETS,
  HTTP_MESSAGE_REASON_NAMES,
  HTTP_METHOD_NAMES,
  MAP_UPDATE_ERROR_MAPS,
  REPORTER_NAMES,
  decodeHttpConn,
  decodeHttpConnKey,
  decodeHttpEvent,
  decodeHttpRequestKey,
  decodeHttpResponseKey,
  decodeHttpResponseValue,
  type HttpEvent,
} from '../../src/bpf/codecs.js';
import { CLIENT, EventDrain, FLOW_OBJECT, SERVER, arrayCounts, countsByKey, decodedEntries, loadFlowObject, runHook, sumU64, type Hook } from '../common/bpf-maps.js';
import { TCP_ACK, TCP_PSH, frame4, frame6, tcp } from '../common/packets.js';

let obj: BpfObject | undefined;
let ring: EventDrain | undefined;

afterEach(() => {
  ring?.close();
  ring = undefined;
  obj?.close();
  obj = undefined;
});

function load(globals: Record<string, number | bigint | boolean> = {}): BpfObject {
  obj = loadFlowObject({ globals });
  return obj;
}

const run = (hook: Hook, frame: Buffer): void => runHook(obj!, hook, frame);

// ---------------------------------------------------------------------------
// segments of one connection: client 10.0.1.5:40000 -> server 10.0.2.7:8080

const CPORT = 40000;
const SPORT = 8080;
/** Sequence numbers advance per segment, so no segment looks like a retransmit of another. */
let clientSeq = 1;
let serverSeq = 1;

function request(text: string | Buffer, opts: { sport?: number; seq?: number } = {}): Buffer {
  const payload = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  const seq = opts.seq ?? (clientSeq += 1000);
  return frame4(tcp({ sport: opts.sport ?? CPORT, dport: SPORT, flags: TCP_ACK | TCP_PSH, payload, seq }), {
    src: CLIENT.v4,
    dst: SERVER.v4,
  });
}

function response(text: string | Buffer, opts: { dport?: number; seq?: number } = {}): Buffer {
  const payload = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  const seq = opts.seq ?? (serverSeq += 1000);
  return frame4(tcp({ sport: SPORT, dport: opts.dport ?? CPORT, flags: TCP_ACK | TCP_PSH, payload, seq }), {
    src: SERVER.v4,
    dst: CLIENT.v4,
  });
}

const get = (path = '/', headers = ''): string => `GET ${path} HTTP/1.1\r\nHost: server\r\n${headers}\r\n`;
const status = (code: number, reason = 'X'): string => `HTTP/1.1 ${code} ${reason}\r\nContent-Length: 0\r\n\r\n`;

/** Client side: the request leaves the client's endpoint (from), the response enters it (to). */
function exchangeAtClient(req: string, res: string): void {
  run('from', request(req));
  run('to', response(res));
}

// ---------------------------------------------------------------------------
// maps, summed over CPUs

/** http_requests as `client>server METHOD reporter`. */
function requests(): Record<string, number> {
  return countsByKey(obj!.map('http_requests'), (key) => {
    const k = decodeHttpRequestKey(key);
    return `${k.srcIdentity}>${k.dstIdentity} ${HTTP_METHOD_NAMES[k.method]} ${REPORTER_NAMES[k.reporter]}`;
  });
}

interface ResponseTotals {
  count: number;
  /** timed exchanges per bucket, by index; only non-zero buckets */
  buckets: Record<number, number>;
}

/** http_responses as `client>server METHOD STATUS reporter`. */
function responses(): Record<string, ResponseTotals> {
  const map = obj!.map('http_responses');
  const out: Record<string, ResponseTotals> = {};
  for (const { key, value } of map.entries()) {
    const k = decodeHttpResponseKey(key);
    const sums = sumU64(map, value, 2 + HTTP_DURATION_BUCKETS);
    const buckets: Record<number, number> = {};
    sums.slice(2).forEach((n, i) => {
      if (n !== 0n) buckets[i] = Number(n);
    });
    out[`${k.srcIdentity}>${k.dstIdentity} ${HTTP_METHOD_NAMES[k.method]} ${k.status} ${REPORTER_NAMES[k.reporter]}`] = {
      count: Number(sums[0]),
      buckets,
    };
  }
  return out;
}

/** Response counts alone. */
function responseCounts(): Record<string, number> {
  return Object.fromEntries(Object.entries(responses()).map(([k, v]) => [k, v.count]));
}

const messages = (): Record<string, number> => arrayCounts(obj!.map('http_unmatched'), HTTP_MESSAGE_REASON_NAMES);
const mapUpdateErrors = (): Record<string, number> => arrayCounts(obj!.map('map_update_errors'), MAP_UPDATE_ERROR_MAPS);

const connections = () => decodedEntries(obj!.map('http_connections'), decodeHttpConnKey, decodeHttpConn);

function expectNoHttp(): void {
  expect(requests()).toEqual({});
  expect(responses()).toEqual({});
  expect(connections()).toEqual([]);
}

// ---------------------------------------------------------------------------
// events: a sentinel flow closes each drain (see EventDrain)

function subscribe(): { drain(): Promise<HttpEvent[]> } {
  const events = new EventDrain(obj!);
  ring = events;
  return { drain: () => events.drainOf(EventType.HTTP, decodeHttpEvent) };
}

const C2S = `${CLIENT.id}>${SERVER.id}`;

// ---------------------------------------------------------------------------

describe('request lines', () => {
  it('each method is counted under its name and matched by the next status line', () => {
    load();
    const methods = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE'];
    for (const m of methods) exchangeAtClient(`${m} /${m.toLowerCase()} HTTP/1.1\r\nHost: s\r\n\r\n`, status(200));
    expect(requests()).toEqual(Object.fromEntries(methods.map((m) => [`${C2S} ${m} client`, 1])));
    expect(responseCounts()).toEqual(Object.fromEntries(methods.map((m) => [`${C2S} ${m} 200 client`, 1])));
    expect(messages()).toEqual({});
  });

  it('HTTP/1.0 requests are recognised; lookalikes and incomplete request lines are not', () => {
    load();
    run('from', request('GET /old HTTP/1.0\r\n\r\n'));
    for (const text of [
      'POSTAL /x HTTP/1.1\r\n\r\n', // not a method
      'GETX / HTTP/1.1\r\n\r\n',
      'get / HTTP/1.1\r\n\r\n', // methods are case-sensitive
      'GET /x HTTP/2.0\r\n\r\n', // not HTTP/1.x
      'GET /x\r\n\r\n', // HTTP/0.9: no version
      'GET /no/version/in/this/segment', // the request line goes on in the next segment
      'DELE',
    ]) {
      run('from', request(text, { sport: 40001 }));
    }
    expect(requests()).toEqual({ [`${C2S} GET client`]: 1 });
  });

  it('a request line split across two segments is not counted as any method; its response counts as unknown, untimed', () => {
    load();
    run('from', request('GE'));
    run('from', request('T /split HTTP/1.1\r\nHost: s\r\n\r\n'));
    run('to', response(status(200)));
    expect(requests()).toEqual({});
    expect(responses()).toEqual({ [`${C2S} unknown 200 client`]: { count: 1, buckets: {} } });
    expect(messages()).toEqual({ unmatched_response: 1 });
  });

  it('garbage, TLS ClientHello and bulk data touch no HTTP map', () => {
    load();
    // TLS 1.2 record: handshake (0x16), version 3.1, length, ClientHello (0x01)
    const clientHello = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03]), Buffer.alloc(160, 0x42)]);
    run('from', request(clientHello));
    run('to', response(Buffer.from([0x16, 0x03, 0x03, 0x00, 0x5a, 0x02])));
    run('from', request(Buffer.alloc(1400, 0xab)));
    run('from', request('\r\n\r\nGET / HTTP/1.1\r\n\r\n')); // a request line must start the segment
    run('to', response('HTTPS is not a status line'));
    run('to', response('HTTP/1.1 20 short'));
    run('to', response('HTTP/1.1 099 Low'));
    run('to', response('HTTP/3 200'));
    run('from', request('GET'));
    expectNoHttp();
    expect(messages()).toEqual({});
  });

  it('the path is kept up to 64 bytes without its query string', async () => {
    load();
    const events = subscribe();
    const long = '/' + 'a'.repeat(99);
    exchangeAtClient(get(long), status(200));
    exchangeAtClient(get('/search?q=secret&x=1'), status(200));
    exchangeAtClient(get('/exactly/' + 'b'.repeat(55)), status(200)); // 64 bytes: not truncated
    const got = await events.drain();
    expect(got.map((e) => [e.path, e.pathTruncated])).toEqual([
      [long.slice(0, 64), true],
      ['/search', false],
      ['/exactly/' + 'b'.repeat(55), false],
    ]);
  });
});

describe('status lines and matching', () => {
  it('statuses 200, 301, 404, 500, 503 on one keep-alive connection, each matched to its request', () => {
    load();
    for (const code of [200, 301, 404, 500, 503]) exchangeAtClient(get(`/${code}`), status(code));
    run('from', request('HEAD / HTTP/1.0\r\n\r\n'));
    run('to', response('HTTP/1.0 204 No Content\r\n\r\n'));
    expect(connections()).toHaveLength(1);
    expect(requests()).toEqual({ [`${C2S} GET client`]: 5, [`${C2S} HEAD client`]: 1 });
    expect(responseCounts()).toEqual({
      [`${C2S} GET 200 client`]: 1,
      [`${C2S} GET 301 client`]: 1,
      [`${C2S} GET 404 client`]: 1,
      [`${C2S} GET 500 client`]: 1,
      [`${C2S} GET 503 client`]: 1,
      [`${C2S} HEAD 204 client`]: 1,
    });
    // every exchange was timed: one observation each (which bucket depends on the machine's load; the bucket bounds have their own test)
    for (const r of Object.values(responses())) expect(Object.values(r.buckets)).toEqual([1]);
    const [c] = connections();
    expect(c!.value).toMatchObject({ pending: 0, untracked: 0 });
  });

  it('at the server\'s interface the request enters (to) and the response leaves (from): reporter server', () => {
    load();
    run('to', request(get('/s')));
    run('from', response(status(404)));
    expect(requests()).toEqual({ [`${C2S} GET server`]: 1 });
    expect(responseCounts()).toEqual({ [`${C2S} GET 404 server`]: 1 });
  });

  it('both ends local: each interface reports the exchange once, under its own side', () => {
    load();
    run('from', request(get())); // leaves the client
    run('to', request(get())); // enters the server (same segment)
    run('from', response(status(500))); // leaves the server
    run('to', response(status(500))); // enters the client
    expect(requests()).toEqual({ [`${C2S} GET client`]: 1, [`${C2S} GET server`]: 1 });
    expect(responseCounts()).toEqual({ [`${C2S} GET 500 client`]: 1, [`${C2S} GET 500 server`]: 1 });
    expect(connections().map((c) => REPORTER_NAMES[c.key.reporter]).sort()).toEqual(['client', 'server']);
  });

  it('a status line with no request outstanding counts under method unknown, untimed', () => {
    load();
    run('to', response(status(502)));
    expect(responses()).toEqual({ [`${C2S} unknown 502 client`]: { count: 1, buckets: {} } });
    expect(messages()).toEqual({ unmatched_response: 1 });
    expect(connections()).toEqual([]);
  });

  it('pipelined requests are answered in order: methods and latencies go to the right responses', async () => {
    load();
    const events = subscribe();
    run('from', request(get('/first')));
    run('from', request('POST /second HTTP/1.1\r\nContent-Length: 0\r\n\r\n'));
    const conn = connections()[0]!.value;
    expect(conn).toMatchObject({ pending: 2, untracked: 0, methods: Buffer.from([1, 3, 0, 0]), pathLen: 6 });
    expect(conn.path.subarray(0, conn.pathLen).toString('latin1')).toBe('/first');
    run('to', response(status(200)));
    run('to', response(status(201)));
    expect(responseCounts()).toEqual({ [`${C2S} GET 200 client`]: 1, [`${C2S} POST 201 client`]: 1 });
    const got = await events.drain();
    // the path is kept for the request a response answers next, not for the ones queued behind it
    expect(got.map((e) => [HTTP_METHOD_NAMES[e.method], e.status, e.path])).toEqual([
      ['GET', 200, '/first'],
      ['POST', 201, undefined],
    ]);
  });

  it('beyond four outstanding requests, later ones are counted but answered as unknown, in order', () => {
    load();
    for (let i = 0; i < 6; i++) run('from', request(i === 4 ? 'PUT /5 HTTP/1.1\r\n\r\n' : get(`/${i}`)));
    expect(connections()[0]!.value).toMatchObject({ pending: 4, untracked: 2 });
    for (let i = 0; i < 6; i++) run('to', response(status(200 + i)));
    expect(requests()).toEqual({ [`${C2S} GET client`]: 5, [`${C2S} PUT client`]: 1 });
    expect(responseCounts()).toEqual({
      [`${C2S} GET 200 client`]: 1,
      [`${C2S} GET 201 client`]: 1,
      [`${C2S} GET 202 client`]: 1,
      [`${C2S} GET 203 client`]: 1,
      [`${C2S} unknown 204 client`]: 1,
      [`${C2S} unknown 205 client`]: 1,
    });
    expect(messages()).toEqual({ pipeline_overflow: 2, unmatched_response: 2 });
    // a later request on the drained connection is tracked again
    exchangeAtClient(get('/again'), status(200));
    expect(responseCounts()[`${C2S} GET 200 client`]).toBe(2);
  });

  it('a retransmitted request or status line (same sequence number) counts once', () => {
    load();
    const req = request(get('/r'));
    const res = response(status(200));
    run('from', req);
    run('from', req);
    run('to', res);
    run('to', res);
    expect(requests()).toEqual({ [`${C2S} GET client`]: 1 });
    expect(responseCounts()).toEqual({ [`${C2S} GET 200 client`]: 1 });
    expect(messages()).toEqual({ retransmit: 2 });
  });

  it('connections are kept apart by port, and IPv6 works alike', () => {
    load();
    run('from', request(get('/a'), { sport: 41000 }));
    run('from', request('DELETE /b HTTP/1.1\r\n\r\n', { sport: 42000 }));
    run('to', response(status(204), { dport: 42000 }));
    run('to', response(status(200), { dport: 41000 }));
    const v6req = frame6(tcp({ sport: 43000, dport: 80, flags: TCP_ACK, payload: Buffer.from(get('/v6')), seq: 5 }), {
      src: CLIENT.v6,
      dst: SERVER.v6,
    });
    const v6res = frame6(tcp({ sport: 80, dport: 43000, flags: TCP_ACK, payload: Buffer.from(status(301)), seq: 9 }), {
      src: SERVER.v6,
      dst: CLIENT.v6,
    });
    run('from', v6req);
    run('to', v6res);
    expect(responseCounts()).toEqual({
      [`${C2S} GET 200 client`]: 1,
      [`${C2S} DELETE 204 client`]: 1,
      [`${CLIENT.id6}>${SERVER.id6} GET 301 client`]: 1,
    });
  });

  it('latencies land in the bucket of their bound: 1 ms to 10 s, then +Inf', () => {
    load();
    const conns = obj!.map('http_connections');
    const responsesMap = obj!.map('http_responses');
    // count, duration_ns_sum, then the buckets, summed over CPUs
    const totals = (): bigint[] => {
      const entry = responsesMap.entries()[0];
      return entry ? sumU64(responsesMap, entry.value, 2 + HTTP_DURATION_BUCKETS) : new Array<bigint>(2 + HTTP_DURATION_BUCKETS).fill(0n);
    };
    const bucketOf = (ns: bigint): number => {
      const i = HTTP_DURATION_BOUNDS_SECONDS.findIndex((b) => ns <= BigInt(Math.round(b * 1e9)));
      return i < 0 ? HTTP_DURATION_BOUNDS_SECONDS.length : i;
    };
    // middle of each bucket; the time between setting the clock and the response adds to it, so a
    // busy machine can push one into the next bucket: each exchange is checked against the latency the
    // kernel measured for it, and an exchange aimed at a bucket is tried again until it lands there
    const mids = HTTP_DURATION_BOUNDS_SECONDS.map((b, i) => (i === 0 ? b / 2 : (b + HTTP_DURATION_BOUNDS_SECONDS[i - 1]!) / 2));
    mids.push(20);
    let exchanges = 0;
    mids.forEach((seconds, target) => {
      for (let attempt = 0; ; attempt++) {
        const before = totals();
        run('from', request(get('/t')));
        const key = conns.entries()[0]!.key;
        const value = Buffer.from(conns.lookup(key)!);
        const conn = decodeHttpConn(value);
        // request_ns[head] moved back by `seconds`
        value.writeBigUInt64LE(process.hrtime.bigint() - BigInt(Math.round(seconds * 1e9)), conn.head * 8);
        conns.update(key, value);
        run('to', response(status(200)));
        exchanges++;
        const after = totals();
        const latency = after[1]! - before[1]!;
        const moved = after.slice(2).flatMap((n, i) => (n !== before[2 + i] ? [i] : []));
        expect(after[0]! - before[0]!).toBe(1n);
        expect(latency).toBeGreaterThanOrEqual(BigInt(Math.round(seconds * 1e9)));
        // exactly one bucket moved, and it is the bucket of the latency the kernel measured
        expect(moved).toEqual([bucketOf(latency)]);
        if (moved[0] === target || attempt === 9) {
          expect(moved[0]).toBe(target);
          break;
        }
      }
    });
    const r = responses()[`${C2S} GET 200 client`]!;
    expect(r.count).toBe(exchanges);
    expect(Object.keys(r.buckets).length).toBe(HTTP_DURATION_BUCKETS);
  });

  it('after 8 segments without a message start, large segments of that connection are not read until a small one starts a message', () => {
    load();
    const bulk = Buffer.alloc(1400, 0x61);
    for (let i = 0; i < 8; i++) run('to', response(bulk)); // e.g. the body of a large download
    // a large segment starting with a status line is not read now (it would cost a copy per bulk segment)
    run('to', response(status(200) + 'x'.repeat(1100)));
    expect(responses()).toEqual({});
    // a small segment is always read: a request opens the connection again, both directions
    run('from', request(get('/next')));
    run('to', response(status(200) + 'y'.repeat(1100)));
    expect(requests()).toEqual({ [`${C2S} GET client`]: 1 });
    expect(responses()).toEqual({ [`${C2S} GET 200 client`]: { count: 1, buckets: { 0: 1 } } });
    // another connection is not affected
    for (let i = 0; i < 7; i++) run('to', response(bulk, { dport: 41000 }));
    run('to', response(status(204) + 'z'.repeat(1100), { dport: 41000 }));
    expect(responseCounts()[`${C2S} unknown 204 client`]).toBe(1);
  });

  it('http_enabled false: nothing is parsed', () => {
    load({ http_enabled: false });
    exchangeAtClient(get(), status(200));
    expectNoHttp();
  });

  it('a full http_requests map is counted as an update error', () => {
    const o = BpfObject.open(FLOW_OBJECT);
    obj = o;
    o.setMapMaxEntries('http_requests', 1);
    o.load();
    run('from', request(get()));
    run('from', request('POST / HTTP/1.1\r\n\r\n', { sport: 41000 }));
    expect(mapUpdateErrors()).toEqual({ http_requests: 1 });
  });
});

describe('events', () => {
  it('one event per timed exchange, with identities, addresses, ports, method, status and latency', async () => {
    load();
    const events = subscribe();
    exchangeAtClient(get('/items/7'), status(404));
    const [e, ...rest] = await events.drain();
    expect(rest).toEqual([]);
    expect(e).toMatchObject({
      type: EventType.HTTP,
      family: 4,
      method: 1,
      reporter: 1,
      srcIdentity: CLIENT.id,
      dstIdentity: SERVER.id,
      saddr: CLIENT.v4,
      daddr: SERVER.v4,
      sport: CPORT,
      dport: SPORT,
      status: 404,
      path: '/items/7',
      pathTruncated: false,
      traceId: undefined,
      parentSpanId: undefined,
    });
    expect(e!.protocolVersion).toBe('1.1');
    expect(e!.durationNs).toBeGreaterThan(0n);
    expect(e!.durationNs).toBeLessThan(1_000_000_000n);
    // untimed responses send nothing
    run('to', response(status(200)));
    expect(await events.drain()).toEqual([]);
  });

  it('a traceparent header (any case, after other headers) gives trace id, parent span id and the sampled flag', async () => {
    load();
    const events = subscribe();
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    exchangeAtClient(get('/t', `User-Agent: curl/7.88.1\r\nAccept: */*\r\nTraceParent: ${tp}\r\n`), status(200));
    exchangeAtClient(get('/t', `traceparent:${tp}\r\n`), status(200));
    exchangeAtClient(get('/none'), status(200));
    // upper-case hex is invalid in W3C trace context; a traceparent in the body is not a header
    exchangeAtClient(get('/bad', `traceparent: ${tp.toUpperCase()}\r\n`), status(200));
    exchangeAtClient(`POST /body HTTP/1.1\r\nContent-Length: 70\r\n\r\n\ntraceparent: ${tp}`, status(200));
    // a header named like it is not it
    exchangeAtClient(get('/x', `x-traceparent: ${tp}\r\n`), status(200));
    // trace-flags: 00 is not sampled; 03 is sampled with another (unknown) flag; a non-hex flag is invalid
    exchangeAtClient(get('/off', `traceparent: ${tp.slice(0, -2)}00\r\n`), status(200));
    exchangeAtClient(get('/on3', `traceparent: ${tp.slice(0, -2)}03\r\n`), status(200));
    exchangeAtClient(get('/badflags', `traceparent: ${tp.slice(0, -2)}0x\r\n`), status(200));
    const got = await events.drain();
    expect(got.map((e) => [e.path, e.traceId, e.parentSpanId, e.traceSampled])).toEqual([
      ['/t', '4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7', true],
      ['/t', '4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7', true],
      ['/none', undefined, undefined, false],
      ['/bad', undefined, undefined, false],
      ['/body', undefined, undefined, false],
      ['/x', undefined, undefined, false],
      ['/off', '4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7', false],
      ['/on3', '4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7', true],
      ['/badflags', undefined, undefined, false],
    ]);
  });
});
