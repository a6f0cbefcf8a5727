import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DNS_LATENCY_BOUNDS_SECONDS,
  DNS_LATENCY_BUCKETS,
  DNS_MALFORMED_REASON_NAMES,
  DNS_NAME_MAX,
  DNS_PORTS_MAX,
  DnsFlag,
  REPORTER_NAMES,
  Reporter,
  decodeDnsEvent,
  decodeDnsPendingKey,
  decodeDnsPendingValue,
  decodeDnsQueryKey,
  decodeDnsResponseKey,
  decodeDnsResponseValue,
  dnsNameFromWire,
  encodeDnsEvent,
  encodeDnsPendingKey,
  encodeDnsPendingValue,
  encodeDnsQueryKey,
  encodeDnsResponseKey,
  encodeDnsResponseValue,
  type DnsEvent,
  DROP_MAP_ERROR_MAPS,
  RETRANSMIT_MAP_ERROR_MAPS,
  Direction,
  EventType,
  Family,
  Identity,
  LOST_REASON_NAMES,
  MAP_UPDATE_ERROR_MAPS,
  PARSE_REASON_NAMES,
  STRUCT_LAYOUTS,
  TCP_FLAG_NAMES,
  TCP_OUTCOME_NAMES,
  TcpOutcome,
  Verdict,
  HTTP_DURATION_BOUNDS,
  HTTP_DURATION_BOUNDS_SECONDS,
  HTTP_DURATION_BUCKETS,
  HTTP_MESSAGE_REASON_NAMES,
  HTTP_METHOD_NAMES,
  HTTP_PATH_MAX,
  HTTP_PIPELINE_DEPTH,
  decodeHttpEvent,
  decodeHttpRequestKey,
  decodeHttpResponseKey,
  decodeHttpResponseValue,
  encodeHttpRequestKey,
  encodeHttpResponseKey,
  encodeHttpResponseValue,
  decodeDropEvent,
  decodeDropKey,
  decodeEventsBudget,
  decodeFlowEvent,
  decodeFlowKey,
  decodeFlowTrafficValue,
  decodeFlowTuple,
  decodeIpcacheKey,
  decodeIpcacheValue,
  decodeTcpOutcomeEvent,
  decodeTcpOutcomeKey,
  decodeTcpPendingValue,
  decodeTcpRetransmitKey,
  decodeHttpConn,
  decodeHttpConnKey,
  DNS_EVENT, DNS_PENDING_KEY, DNS_PENDING_VALUE, DNS_QUERY_KEY, DNS_RESPONSE_KEY, DNS_RESPONSE_VALUE, DROP_EVENT, DROP_KEY,
  EVENTS_BUDGET, FLOW_EVENT, FLOW_KEY, FLOW_TRAFFIC_VALUE, FLOW_TUPLE, HTTP_CONN, HTTP_CONN_KEY, HTTP_REQUEST_KEY,
  HTTP_RESPONSE_KEY, HTTP_RESPONSE_VALUE, IPCACHE_VALUE, TCP_OUTCOME_EVENT, TCP_OUTCOME_KEY, TCP_PENDING_VALUE, TCP_RETRANSMIT_KEY,
  type StructLayout,
  encodeDropEvent,
  encodeDropKey,
  encodeEventsBudget,
  encodeFlowEvent,
  encodeFlowKey,
  encodeFlowTrafficValue,
  encodeFlowTuple,
  encodeIpcacheKey,
  encodeIpcacheValue,
  encodeTcpOutcomeEvent,
  encodeTcpOutcomeKey,
  encodeTcpPendingValue,
  ipcacheKey,
  type DropEvent,
  type FlowEvent,
  type TcpOutcomeEvent,
} from '../../src/bpf/codecs.js';
import { OVERFLOW_IDENTITY } from '../../src/datapath/records.js';
import { HEADER, LAYOUTS_FILE, generateLayouts, headerDefines, headerStructNames, objectPaths } from '../../tools/layouts.js';
import { PORT_COUNT } from '../../src/datapath/ports.js';

const header = readFileSync(HEADER, 'utf8');
const defines = headerDefines(header);
/** A plain number #defined in flowlens.h. */
function def(name: string): number {
  const v = defines.get(name);
  if (typeof v !== 'number') throw new Error(`${name} not defined as a number in ${HEADER}`);
  return v;
}

describe('generated layouts', () => {
  // The layouts are correct by construction; what can go wrong is a header
  // changed without `make layouts`, which this catches (make test rebuilds the objects first).
  it(`${LAYOUTS_FILE} is what the objects' BTF gives (run \`make bpf layouts\` after changing ${HEADER})`, () => {
    for (const object of objectPaths()) if (!existsSync(object)) throw new Error(`${object} is missing: run make bpf first`);
    expect(readFileSync(LAYOUTS_FILE, 'utf8'), `${LAYOUTS_FILE} is stale: run make layouts`).toBe(generateLayouts());
  });

  it('generates an interface per struct, whose properties the codecs decode, padding left out', () => {
    const generated = readFileSync(LAYOUTS_FILE, 'utf8');
    const decoders: Array<[StructLayout, (buf: Buffer) => object]> = [
      [FLOW_KEY, decodeFlowKey], [FLOW_TRAFFIC_VALUE, decodeFlowTrafficValue], [FLOW_TUPLE, decodeFlowTuple], [FLOW_EVENT, decodeFlowEvent],
      [TCP_PENDING_VALUE, decodeTcpPendingValue], [TCP_OUTCOME_KEY, decodeTcpOutcomeKey], [TCP_OUTCOME_EVENT, decodeTcpOutcomeEvent],
      [DROP_KEY, decodeDropKey], [DROP_EVENT, decodeDropEvent], [EVENTS_BUDGET, decodeEventsBudget], [IPCACHE_VALUE, decodeIpcacheValue],
      [DNS_QUERY_KEY, decodeDnsQueryKey], [DNS_RESPONSE_KEY, decodeDnsResponseKey], [DNS_RESPONSE_VALUE, decodeDnsResponseValue],
      [DNS_PENDING_KEY, decodeDnsPendingKey], [DNS_PENDING_VALUE, decodeDnsPendingValue], [DNS_EVENT, decodeDnsEvent],
      [HTTP_REQUEST_KEY, decodeHttpRequestKey], [HTTP_RESPONSE_KEY, decodeHttpResponseKey], [HTTP_RESPONSE_VALUE, decodeHttpResponseValue],
      [HTTP_CONN_KEY, decodeHttpConnKey], [HTTP_CONN, decodeHttpConn], [TCP_RETRANSMIT_KEY, decodeTcpRetransmitKey],
    ];
    for (const [layout, decode] of decoders) {
      const properties = Object.entries(layout.fields).filter(([name]) => !name.startsWith('_')).map(([, f]) => f.property);
      const buf = Buffer.alloc(layout.size);
      buf.writeUInt8(4, layout.fields['family']?.offset ?? 0); // an IPv4 family where there is one
      expect(Object.keys(decode(buf)).sort(), layout.name).toEqual([...properties].sort());
      const name = layout.name.replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());
      const body = new RegExp(`export interface ${name} \\{\\n([\\s\\S]*?)\\n\\}`).exec(generated)?.[1];
      expect(body, `interface ${name}`).toBeDefined();
      expect([...body!.matchAll(/^  (\w+): /gm)].map((m) => m[1]), name).toEqual(properties);
    }
    // every header struct has one, the custom-decoded ones (ipcache_key, http_event) included
    const interfaces = generated.slice(generated.indexOf('// The structs as src/bpf/codecs.ts decodes them'));
    expect([...interfaces.matchAll(/^export interface (\w+) \{/gm)].length).toBe(headerStructNames(header).length);
  });

  it('has a codec layout for every struct of flowlens.h', () => {
    const names = headerStructNames(header);
    expect(names.length).toBeGreaterThanOrEqual(9);
    expect(STRUCT_LAYOUTS.map((l) => l.name)).toEqual(names);
  });

  it('histogram bounds: as many as the header says, in seconds, increasing', () => {
    expect(HTTP_DURATION_BOUNDS_SECONDS.length).toBe(def('FLOWLENS_HTTP_DURATION_BOUNDS'));
    expect(HTTP_DURATION_BOUNDS_SECONDS[0]).toBe(0.001);
    expect(DNS_LATENCY_BOUNDS_SECONDS.length + 1).toBe(def('FLOWLENS_DNS_LATENCY_BUCKETS'));
    expect(DNS_LATENCY_BOUNDS_SECONDS[0]).toBe(0.0005);
    for (const bounds of [HTTP_DURATION_BOUNDS_SECONDS, DNS_LATENCY_BOUNDS_SECONDS]) {
      expect([...bounds].sort((a, b) => a - b)).toEqual(bounds);
    }
  });
});

describe('constants agree with flowlens.h', () => {
  it('identities, families, directions, verdicts, event types', () => {
    for (const [name, value] of Object.entries(Identity)) expect(value, name).toBe(def(`FLOWLENS_IDENTITY_${name}`));
    for (const [name, value] of Object.entries(Family)) expect(value, name).toBe(def(`FLOWLENS_FAMILY_${name}`));
    for (const [name, value] of Object.entries(Direction)) expect(value, name).toBe(def(`FLOWLENS_DIRECTION_${name}`));
    for (const [name, value] of Object.entries(Verdict)) expect(value, name).toBe(def(`FLOWLENS_VERDICT_${name}`));
    for (const [name, value] of Object.entries(EventType)) expect(value, name).toBe(def(`FLOWLENS_EVENT_${name}`));
    for (const [name, value] of Object.entries(TcpOutcome)) {
      expect(value, name).toBe(def(`FLOWLENS_TCP_OUTCOME_${name}`));
      expect(TCP_OUTCOME_NAMES[value]).toBe(name.toLowerCase());
    }
    expect([...defines.keys()].filter((k) => k.startsWith('FLOWLENS_TCP_OUTCOME_')).length).toBe(Object.keys(TcpOutcome).length);
    // the overflow key's identity is not a reserved identity: it is checked with the counter constants
    const identities = [...defines.keys()].filter((k) => k.startsWith('FLOWLENS_IDENTITY_') && k !== 'FLOWLENS_IDENTITY_OVERFLOW');
    expect(identities.length).toBe(Object.keys(Identity).length);
  });

  it('indexed names: tcp flags, parse reasons, lost reasons, map ids', () => {
    TCP_FLAG_NAMES.forEach((n, i) => expect(def(`FLOWLENS_TCP_${n.toUpperCase()}`), n).toBe(i));
    PARSE_REASON_NAMES.forEach((n, i) => expect(def(`FLOWLENS_PARSE_${n.toUpperCase()}`), n).toBe(i));
    expect(PARSE_REASON_NAMES.length).toBe(def('FLOWLENS_PARSE_REASONS'));
    LOST_REASON_NAMES.forEach((n, i) => expect(def(`FLOWLENS_LOST_${n.toUpperCase()}`), n).toBe(i));
    expect(LOST_REASON_NAMES.length).toBe(def('FLOWLENS_LOST_REASONS'));
    MAP_UPDATE_ERROR_MAPS.forEach((n, i) => expect(def(`FLOWLENS_MAP_${n.toUpperCase()}`), n).toBe(i));
    expect(MAP_UPDATE_ERROR_MAPS.length).toBe(def('FLOWLENS_MAP_IDS'));
    // a map id is its map's name: these names are the `map` label of flowlens_bpf_map_update_errors_total
    expect(DROP_MAP_ERROR_MAPS).toEqual(['drops', 'dropped_flows']);
    DROP_MAP_ERROR_MAPS.forEach((n, i) => expect(def(`FLOWLENS_DROP_MAP_${n.toUpperCase()}`), n).toBe(i));
    expect(DROP_MAP_ERROR_MAPS.length).toBe(def('FLOWLENS_DROP_MAP_IDS'));
    expect(RETRANSMIT_MAP_ERROR_MAPS).toEqual(['tcp_retransmits']);
    RETRANSMIT_MAP_ERROR_MAPS.forEach((n, i) => expect(def(`FLOWLENS_RETRANSMIT_MAP_${n.toUpperCase()}`), n).toBe(i));
    expect(RETRANSMIT_MAP_ERROR_MAPS.length).toBe(def('FLOWLENS_RETRANSMIT_MAP_IDS'));
    // the overflow key of every counter map: all bytes 0xff, both identities this
    expect(OVERFLOW_IDENTITY).toBe(def('FLOWLENS_IDENTITY_OVERFLOW'));
    expect(def('FLOWLENS_COUNTER_OVERFLOW_BYTE')).toBe(0xff);
    expect(PORT_COUNT).toBe(def('FLOWLENS_PORTS'));
  });

  it('DNS: reporters, flags, malformed reasons, sizes', () => {
    for (const [name, value] of Object.entries(Reporter)) {
      expect(value, name).toBe(def(`FLOWLENS_REPORTER_${name}`));
      expect(REPORTER_NAMES[value]).toBe(name.toLowerCase());
    }
    for (const [name, value] of Object.entries(DnsFlag)) expect(value, name).toBe(def(`FLOWLENS_DNS_FLAG_${name}`));
    const reasons = [...defines.entries()].filter(([k]) => k.startsWith('FLOWLENS_DNS_MALFORMED_') && k !== 'FLOWLENS_DNS_MALFORMED_REASONS');
    // the header's names, with "opcode" and "compression" spelled out in the label values
    expect(reasons.map(([, v]) => v)).toEqual(DNS_MALFORMED_REASON_NAMES.map((_, i) => i));
    expect(DNS_MALFORMED_REASON_NAMES.length).toBe(def('FLOWLENS_DNS_MALFORMED_REASONS'));
    expect(DNS_LATENCY_BUCKETS).toBe(def('FLOWLENS_DNS_LATENCY_BUCKETS'));
    expect(DNS_NAME_MAX).toBe(def('FLOWLENS_DNS_NAME_MAX'));
    expect(DNS_PORTS_MAX).toBe(def('FLOWLENS_DNS_PORTS_MAX'));
  });
});

describe('HTTP constants agree with flowlens.h', () => {
  it('methods, reporters, message reasons, bounds', () => {
    HTTP_METHOD_NAMES.forEach((n, i) => expect(def(`FLOWLENS_HTTP_METHOD_${n.toUpperCase()}`), n).toBe(i));
    expect([...defines.keys()].filter((k) => k.startsWith('FLOWLENS_HTTP_METHOD_')).length).toBe(HTTP_METHOD_NAMES.length);
    for (const [name, value] of Object.entries(Reporter)) {
      expect(value, name).toBe(def(`FLOWLENS_REPORTER_${name}`));
      expect(REPORTER_NAMES[value]).toBe(name.toLowerCase());
    }
    HTTP_MESSAGE_REASON_NAMES.forEach((n, i) => expect(def(`FLOWLENS_HTTP_MSG_${n.toUpperCase()}`), n).toBe(i));
    expect(HTTP_MESSAGE_REASON_NAMES.length).toBe(def('FLOWLENS_HTTP_MSG_REASONS'));
    expect(HTTP_PATH_MAX).toBe(def('FLOWLENS_HTTP_PATH_MAX'));
    expect(HTTP_PIPELINE_DEPTH).toBe(def('FLOWLENS_HTTP_PIPELINE_DEPTH'));
    expect(HTTP_DURATION_BOUNDS).toBe(def('FLOWLENS_HTTP_DURATION_BOUNDS'));
    expect(HTTP_DURATION_BUCKETS).toBe(def('FLOWLENS_HTTP_DURATION_BUCKETS'));
  });

  it('round-trips the HTTP keys and values; decodes an event with its path and trace ids', () => {
    const req = { srcIdentity: 70000, dstIdentity: 70001, method: 3, reporter: 2 };
    const reqBuf = encodeHttpRequestKey(req);
    expect([reqBuf.length, reqBuf[8], reqBuf[9]]).toEqual([12, 3, 2]);
    expect(decodeHttpRequestKey(reqBuf)).toEqual(req);
    const res = { srcIdentity: 1, dstIdentity: 2, status: 503, method: 1, reporter: 1 };
    const resBuf = encodeHttpResponseKey(res);
    expect([resBuf.readUInt16LE(8), resBuf[10], resBuf[11]]).toEqual([503, 1, 1]);
    expect(decodeHttpResponseKey(resBuf)).toEqual(res);
    const value = { count: 7n, durationNsSum: 2n ** 40n, buckets: Array.from({ length: HTTP_DURATION_BUCKETS }, (_, i) => BigInt(i)) };
    const valueBuf = encodeHttpResponseValue(value);
    expect(valueBuf.length).toBe(16 + 8 * HTTP_DURATION_BUCKETS);
    expect(decodeHttpResponseValue(valueBuf)).toEqual(value);

    const ev = Buffer.alloc(168);
    ev[0] = EventType.HTTP;
    ev[1] = 4;
    ev[2] = 1;
    ev[3] = 2;
    ev.writeBigUInt64LE(5_000_000n, 16);
    ev.writeUInt32LE(70000, 24);
    Buffer.from([10, 0, 0, 1]).copy(ev, 32);
    Buffer.from([10, 0, 0, 2]).copy(ev, 48);
    ev.writeUInt16LE(40000, 64);
    ev.writeUInt16LE(8080, 66);
    ev.writeUInt16LE(404, 68);
    ev[70] = 4; // path_len
    ev[72] = 1; // path_known
    ev[73] = 3; // has_trace: present, sampled
    Buffer.from('/a/b').copy(ev, 80);
    Buffer.from('4bf92f3577b34da6a3ce929d0e0e4736', 'hex').copy(ev, 144);
    Buffer.from('00f067aa0ba902b7', 'hex').copy(ev, 160);
    expect(decodeHttpEvent(ev)).toMatchObject({
      type: EventType.HTTP,
      method: 1,
      reporter: 2,
      durationNs: 5_000_000n,
      srcIdentity: 70000,
      saddr: Buffer.from([10, 0, 0, 1]),
      sport: 40000,
      dport: 8080,
      status: 404,
      path: '/a/b',
      pathTruncated: false,
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentSpanId: '00f067aa0ba902b7',
      traceSampled: true,
    });
    ev[73] = 1; // present, the caller's sampled flag off
    expect(decodeHttpEvent(ev)).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', traceSampled: false });
    ev[72] = 0;
    ev.fill(0, 144, 152);
    ev.fill(0, 152, 160);
    // path not kept; an all-zero trace id joins no trace
    expect(decodeHttpEvent(ev)).toMatchObject({ path: undefined, traceId: undefined, parentSpanId: undefined });
  });
});

describe('encode/decode', () => {
  const v4 = Buffer.from([10, 20, 1, 5]);
  const v6 = Buffer.from('fd000000000000000000000000000005', 'hex');

  it('ipcacheKey counts the family bits in prefixlen and zero-fills IPv4', () => {
    const key = ipcacheKey(4, Buffer.from([10, 0, 0, 0]), 8);
    expect(key.toString('hex')).toBe(
      Buffer.concat([
        Buffer.from([40, 0, 0, 0, 4, 0, 0, 0, 10]),
        Buffer.alloc(15),
      ]).toString('hex'),
    );
    expect(decodeIpcacheKey(ipcacheKey(6, v6, 128))).toEqual({ family: 6, addr: v6, prefixLen: 128 });
    expect(() => ipcacheKey(4, v4, 33)).toThrow(RangeError);
    expect(() => ipcacheKey(6, v4, 64)).toThrow(RangeError);
    expect(encodeIpcacheKey({ family: 4, addr: v4, prefixLen: 32 })).toEqual(ipcacheKey(4, v4, 32));
  });

  it('round-trips every struct', () => {
    const value = { identity: 12345, flags: 0 };
    expect(decodeIpcacheValue(encodeIpcacheValue(value))).toEqual(value);

    const key = { srcIdentity: 70000, dstIdentity: 2, dstPort: 8080, protocol: 6, direction: 2, verdict: 1 };
    const keyBuf = encodeFlowKey(key);
    expect(keyBuf.length).toBe(16);
    expect(keyBuf.readUInt16LE(8)).toBe(8080);
    expect(decodeFlowKey(keyBuf)).toEqual(key);

    const traffic = { packets: 3n, bytes: 2n ** 40n, tcpFlags: [1n, 2n, 0n, 4n, 5n, 0n, 0n, 2n ** 33n] };
    const trafficBuf = encodeFlowTrafficValue(traffic);
    expect(trafficBuf.length).toBe(80);
    // flag counters follow packets and bytes, indexed by bit position: PSH (3) at 16 + 3 * 8
    expect(trafficBuf.readBigUInt64LE(40)).toBe(4n);
    expect(decodeFlowTrafficValue(trafficBuf)).toEqual(traffic);
    expect(() => encodeFlowTrafficValue({ packets: 1n, bytes: 1n, tcpFlags: [1n] })).toThrow(RangeError);

    const tuple = { family: 6 as const, saddr: v6, daddr: Buffer.alloc(16, 1), sport: 1, dport: 65535, protocol: 17, direction: 2 };
    expect(decodeFlowTuple(encodeFlowTuple(tuple))).toEqual(tuple);

    const event: FlowEvent = {
      type: 1,
      family: 4,
      protocol: 6,
      direction: 1,
      ifindex: 42,
      timestampNs: 123456789012345n,
      srcIdentity: 2,
      dstIdentity: 256,
      saddr: v4,
      daddr: Buffer.from([10, 20, 1, 6]),
      sport: 40000,
      dport: 443,
      tcpFlags: 0x02,
      verdict: 1,
    };
    const eventBuf = encodeFlowEvent(event);
    expect(eventBuf.length).toBe(64);
    expect(eventBuf.subarray(28, 40).equals(Buffer.alloc(12))).toBe(true);
    expect(decodeFlowEvent(eventBuf)).toEqual(event);

    const budget = { windowStartNs: 5n, sent: 1000n };
    expect(decodeEventsBudget(encodeEventsBudget(budget))).toEqual(budget);

    const dropKey = { reason: 0x30001, srcIdentity: 256, dstIdentity: 2, dstPort: 7777, protocol: 6, direction: 1 };
    const dropKeyBuf = encodeDropKey(dropKey);
    expect(dropKeyBuf.length).toBe(16);
    expect(dropKeyBuf.readUInt32LE(0)).toBe(0x30001);
    expect(dropKeyBuf.readUInt16LE(12)).toBe(7777);
    expect(decodeDropKey(dropKeyBuf)).toEqual(dropKey);

    const drop: DropEvent = {
      type: 2,
      family: 6,
      protocol: 17,
      direction: 2,
      ifindex: 7,
      timestampNs: 2n ** 60n,
      reason: 12,
      srcIdentity: 300,
      dstIdentity: 1,
      saddr: v6,
      daddr: Buffer.alloc(16, 0xfe),
      sport: 5353,
      dport: 53,
    };
    const dropBuf = encodeDropEvent(drop);
    expect(dropBuf.length).toBe(64);
    expect(dropBuf.readUInt32LE(16)).toBe(12);
    expect(dropBuf.subarray(32, 48).equals(v6)).toBe(true);
    expect(decodeDropEvent(dropBuf)).toEqual(drop);

    const pending = { synNs: 2n ** 62n + 7n, srcIdentity: 70000, dstIdentity: 3, dstPort: 443, unanswered: 1 };
    const pendingBuf = encodeTcpPendingValue(pending);
    expect(pendingBuf.length).toBe(24);
    expect(pendingBuf.readUInt16LE(16)).toBe(443);
    expect(pendingBuf.readUInt8(18)).toBe(1);
    expect(pendingBuf.subarray(19).equals(Buffer.alloc(5))).toBe(true);
    expect(decodeTcpPendingValue(pendingBuf)).toEqual(pending);

    const outcome = { srcIdentity: 70000, dstIdentity: 70001, dstPort: 8080, outcome: 2, direction: 1 };
    const outcomeBuf = encodeTcpOutcomeKey(outcome);
    expect(outcomeBuf.length).toBe(12);
    expect([outcomeBuf.readUInt16LE(8), outcomeBuf[10], outcomeBuf[11]]).toEqual([8080, 2, 1]);
    expect(decodeTcpOutcomeKey(outcomeBuf)).toEqual(outcome);

    const settled: TcpOutcomeEvent = {
      type: 3,
      family: 4,
      protocol: 6,
      direction: 2,
      ifindex: 9,
      timestampNs: 2n ** 61n + 5n,
      synTimestampNs: 2n ** 61n,
      srcIdentity: 70000,
      dstIdentity: 2,
      saddr: v4,
      daddr: Buffer.from([192, 0, 2, 1]),
      sport: 40000,
      dport: 22,
      outcome: 3,
    };
    const settledBuf = encodeTcpOutcomeEvent(settled);
    expect(settledBuf.length).toBe(72);
    expect([settledBuf.readBigUInt64LE(16), settledBuf.readUInt16LE(66), settledBuf[68]]).toEqual([2n ** 61n, 22, 3]);
    expect(settledBuf.subarray(36, 48).equals(Buffer.alloc(12))).toBe(true);
    expect(settledBuf.subarray(69).equals(Buffer.alloc(3))).toBe(true);
    expect(decodeTcpOutcomeEvent(settledBuf)).toEqual(settled);

    const queryKey = { srcIdentity: 70000, dstIdentity: 2, qtype: 28, reporter: 1 };
    expect(encodeDnsQueryKey(queryKey).length).toBe(12);
    expect(decodeDnsQueryKey(encodeDnsQueryKey(queryKey))).toEqual(queryKey);
    const responseKey = { srcIdentity: 70000, dstIdentity: 2, qtype: 1, rcode: 3, reporter: 2 };
    expect(decodeDnsResponseKey(encodeDnsResponseKey(responseKey))).toEqual(responseKey);
    const responseValue = { responses: 9n, latencySumNs: 12345n, latencyBuckets: Array.from({ length: DNS_LATENCY_BUCKETS }, (_, i) => BigInt(i)) };
    expect(decodeDnsResponseValue(encodeDnsResponseValue(responseValue))).toEqual(responseValue);
    const pendingKey = { family: 4 as const, clientAddr: v4, clientPort: 40000, id: 0xbeef, protocol: 17, reporter: 1 };
    expect(decodeDnsPendingKey(encodeDnsPendingKey(pendingKey))).toEqual(pendingKey);
    const qname = Buffer.alloc(DNS_NAME_MAX, 0xaa);
    const pendingValue = {
      queryNs: 2n ** 50n, srcIdentity: 1, dstIdentity: 2, serverAddr: v6, ifindex: 3, serverPort: 53,
      qtype: 33, qclass: 1, qnameLen: 17, flags: 1, qname,
    };
    const pendingValueBuf = encodeDnsPendingValue(pendingValue);
    expect(pendingValueBuf.length).toBe(48 + DNS_NAME_MAX);
    expect(pendingValueBuf.subarray(48).equals(qname)).toBe(true);
    expect(decodeDnsPendingValue(pendingValueBuf)).toEqual(pendingValue);
    const exchange: DnsEvent = {
      type: 4, family: 6, protocol: 6, reporter: 2, ifindex: 5, queryNs: 100n, responseNs: 250n, srcIdentity: 7, dstIdentity: 8,
      clientAddr: v6, serverAddr: Buffer.alloc(16, 2), clientPort: 1234, serverPort: 53, id: 7, qtype: 1, qclass: 1,
      answers: 2, rcode: 0, flags: 2, qnameLen: 5, qname,
    };
    const exchangeBuf = encodeDnsEvent(exchange);
    expect(exchangeBuf.length).toBe(80 + DNS_NAME_MAX);
    expect([exchangeBuf.readUInt16LE(70), exchangeBuf[76], exchangeBuf[78]]).toEqual([1, 0, 5]);
    expect(decodeDnsEvent(exchangeBuf)).toEqual(exchange);

    // a drop without a readable IP header: family 0, all-zero addresses decoded as 16 bytes
    const bare: DropEvent = { ...drop, family: 0, protocol: 0, saddr: Buffer.alloc(16), daddr: Buffer.alloc(16), sport: 0, dport: 0 };
    expect(decodeDropEvent(encodeDropEvent(bare))).toEqual(bare);
  });

  it('DNS names from wire format: labels, root, escapes, a name cut mid-label', () => {
    const wire = (...labels: string[]) => Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
    expect(dnsNameFromWire(wire('www', 'example', 'com'))).toBe('www.example.com');
    expect(dnsNameFromWire(Buffer.from([0]))).toBe('');
    expect(dnsNameFromWire(wire('a.b', 'x y'))).toBe('a\\046b.x\\032y');
    // cut by the kernel at 6 bytes: "www" whole, "example" not
    expect(dnsNameFromWire(wire('www', 'example'), 6)).toBe('www');
  });

  it('decodes at an offset and rejects short buffers', () => {
    const key = { srcIdentity: 9, dstIdentity: 8, dstPort: 0, protocol: 1, direction: 1, verdict: 1 };
    expect(decodeFlowKey(Buffer.concat([Buffer.alloc(3), encodeFlowKey(key)]), 3)).toEqual(key);
    expect(() => decodeFlowKey(Buffer.alloc(15))).toThrow(RangeError);
    expect(() => encodeFlowTuple({ family: 4, saddr: v6, daddr: v4, sport: 0, dport: 0, protocol: 1, direction: 1 })).toThrow(
      RangeError,
    );
  });
});
