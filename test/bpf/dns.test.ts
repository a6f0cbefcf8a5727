/**
 * protocols/dns.bpf.h (inside flow.bpf.c) under BPF_PROG_TEST_RUN: crafted
 * DNS messages in, exact dns_* map contents and DNS events out. Every test
 * loads a fresh object, so maps start empty. Needs root and
 * bpf/.output/flow.bpf.o (make bpf).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BpfObject } from '../../src/bpf/index.js';
import {
  DNS_LATENCY_BUCKETS,
  DNS_MALFORMED_REASON_NAMES,
  DNS_NAME_MAX,
  DnsFlag,
  EventType,
  REPORTER_NAMES,
  decodeDnsEvent,
  decodeDnsPendingKey,
  decodeDnsPendingValue,
  decodeDnsQueryKey,
  decodeDnsResponseKey,
  decodeDnsResponseValue,
  dnsNameFromWire,
  type DnsEvent,
} from '../../src/bpf/codecs.js';
import { DnsTracker, setDnsPorts } from '../../src/datapath/dns.js';
import { CLIENT, EventDrain, FLOW_OBJECT, SERVER, arrayCounts, countsByKey, decodedEntries, loadFlowObject, runHook, type Hook } from '../common/bpf-maps.js';
import { OPCODE, QTYPE, RCODE, dnsMessage, dnsName, tcpFramed, type DnsMessageOptions } from '../common/dns.js';
import { TCP_ACK, TCP_PSH, TCP_SYN, frame4, frame6, tcp, udp, type L4 } from '../common/packets.js';

const CLIENT_PORT = 40000;

let obj: BpfObject | undefined;
let ring: EventDrain | undefined;

afterEach(() => {
  ring?.close();
  ring = undefined;
  obj?.close();
  obj = undefined;
});

function load(ports?: number[]): BpfObject {
  obj = loadFlowObject({ setup: ports ? (o) => setDnsPorts(o, ports) : undefined });
  return obj;
}

/**
 * The hooks where each message is seen. At the client's interface a query
 * leaves its endpoint (flow_from_endpoint) and the response enters it; at the
 * server's it is the other way round.
 */
const AT = {
  client: { query: 'from', response: 'to' },
  server: { query: 'to', response: 'from' },
} as const satisfies Record<string, { query: Hook; response: Hook }>;

const run = (hook: Hook, frame: Buffer): void => runHook(obj!, hook, frame);

const queryFrame = (l4: L4): Buffer => frame4(l4, { src: CLIENT.v4, dst: SERVER.v4 });
const responseFrame = (l4: L4): Buffer => frame4(l4, { src: SERVER.v4, dst: CLIENT.v4 });
const udpQuery = (msg: Buffer, sport = CLIENT_PORT, dport = 53): Buffer => queryFrame(udp(sport, dport, msg));
const udpResponse = (msg: Buffer, dport = CLIENT_PORT, sport = 53): Buffer => responseFrame(udp(sport, dport, msg));
const query = (o: Omit<DnsMessageOptions, 'response'>): Buffer => dnsMessage(o);
const response = (o: Omit<DnsMessageOptions, 'response'>): Buffer => dnsMessage({ answers: 1, ...o, response: true });

// ---------------------------------------------------------------------------
// map contents, summed over CPUs, keyed by readable strings

/** dns_queries as `client>server qtype reporter`. */
function queries(): Record<string, number> {
  return countsByKey(obj!.map('dns_queries'), (key) => {
    const k = decodeDnsQueryKey(key);
    return `${k.srcIdentity}>${k.dstIdentity} ${k.qtype} ${REPORTER_NAMES[k.reporter]}`;
  });
}

interface ResponseCounts {
  responses: number;
  /** Responses matched to a query: the histogram's count. */
  matched: number;
  latencySumNs: bigint;
}

/** dns_responses as `client>server qtype rcode reporter`. */
function responses(): Record<string, ResponseCounts> {
  const map = obj!.map('dns_responses');
  const out: Record<string, ResponseCounts> = {};
  for (const { key, value } of map.entries()) {
    const k = decodeDnsResponseKey(key);
    let responses = 0n;
    let sum = 0n;
    let matched = 0n;
    for (const cpu of map.perCpu(value)) {
      const v = decodeDnsResponseValue(cpu);
      expect(v.latencyBuckets.length).toBe(DNS_LATENCY_BUCKETS);
      responses += v.responses;
      sum += v.latencySumNs;
      matched += v.latencyBuckets.reduce((a, b) => a + b, 0n);
    }
    out[`${k.srcIdentity}>${k.dstIdentity} ${k.qtype} ${k.rcode} ${REPORTER_NAMES[k.reporter]}`] = {
      responses: Number(responses),
      matched: Number(matched),
      latencySumNs: sum,
    };
  }
  return out;
}

/** Strips the clock from responses(): what a test can state exactly. */
function responseCounts(): Record<string, { responses: number; matched: number }> {
  return Object.fromEntries(Object.entries(responses()).map(([k, v]) => [k, { responses: v.responses, matched: v.matched }]));
}

const malformed = (): Record<string, number> => arrayCounts(obj!.map('dns_malformed'), DNS_MALFORMED_REASON_NAMES);

const pending = () => decodedEntries(obj!.map('dns_pending'), decodeDnsPendingKey, decodeDnsPendingValue);

function expectNothingCounted(): void {
  expect(queries()).toEqual({});
  expect(responses()).toEqual({});
  expect(pending()).toEqual([]);
}

// ---------------------------------------------------------------------------
// events: a sentinel flow closes each drain (see EventDrain)

function subscribe(): { drain(): Promise<DnsEvent[]> } {
  const events = new EventDrain(obj!, 61000);
  ring = events;
  return { drain: () => events.drainOf(EventType.DNS, decodeDnsEvent) };
}

// ---------------------------------------------------------------------------

describe('queries and responses', () => {
  it('a query at the client\'s interface is counted and left pending with everything its exchange needs', () => {
    load();
    run('from', udpQuery(query({ id: 0x1234, name: 'www.example.com', qtype: QTYPE.A })));
    expect(queries()).toEqual({ [`${CLIENT.id}>${SERVER.id} ${QTYPE.A} client`]: 1 });
    expect(responses()).toEqual({});
    expect(malformed()).toEqual({});
    const [entry, ...rest] = pending();
    expect(rest).toEqual([]);
    expect(entry!.key).toEqual({ family: 4, clientAddr: CLIENT.v4, clientPort: CLIENT_PORT, id: 0x1234, protocol: 17, reporter: 1 });
    const wire = dnsName('www.example.com');
    expect(entry!.value).toMatchObject({
      srcIdentity: CLIENT.id,
      dstIdentity: SERVER.id,
      serverPort: 53,
      qtype: QTYPE.A,
      qclass: 1,
      qnameLen: wire.length,
      flags: 0,
    });
    expect(entry!.value.serverAddr.subarray(0, 4).equals(SERVER.v4)).toBe(true);
    expect(entry!.value.qname.subarray(0, wire.length).equals(wire)).toBe(true);
    expect(entry!.value.queryNs).toBeGreaterThan(0n);
  });

  it('its response is counted with latency and sends one exchange event with every field', async () => {
    load();
    const events = subscribe();
    run('from', udpQuery(query({ id: 0x1234, name: 'www.example.com', qtype: QTYPE.A })));
    const queryNs = pending()[0]!.value.queryNs;
    run('to', udpResponse(response({ id: 0x1234, name: 'www.example.com', qtype: QTYPE.A, answers: 2 })));

    const key = `${CLIENT.id}>${SERVER.id} ${QTYPE.A} ${RCODE.NOERROR} client`;
    const counted = responses();
    expect(Object.keys(counted)).toEqual([key]);
    expect(counted[key]!.responses).toBe(1);
    expect(counted[key]!.matched).toBe(1);
    expect(pending()).toEqual([]);

    const [event, ...more] = await events.drain();
    expect(more).toEqual([]);
    const wire = dnsName('www.example.com');
    expect(event).toMatchObject({
      type: EventType.DNS,
      family: 4,
      protocol: 17,
      reporter: 1,
      queryNs,
      srcIdentity: CLIENT.id,
      dstIdentity: SERVER.id,
      clientAddr: CLIENT.v4,
      serverAddr: SERVER.v4,
      clientPort: CLIENT_PORT,
      serverPort: 53,
      id: 0x1234,
      qtype: QTYPE.A,
      qclass: 1,
      answers: 2,
      rcode: RCODE.NOERROR,
      flags: 0,
      qnameLen: wire.length,
    });
    expect(event!.responseNs).toBeGreaterThan(queryNs);
    // the latency observed is exactly the event's
    expect(counted[key]!.latencySumNs).toBe(event!.responseNs - event!.queryNs);
    expect(dnsNameFromWire(event!.qname, event!.qnameLen)).toBe('www.example.com');
  });

  it('at the server\'s interface the query enters and the response leaves: reporter server', async () => {
    load();
    const events = subscribe();
    run(AT.server.query, udpQuery(query({ id: 7, name: 'db.internal', qtype: QTYPE.AAAA })));
    run(AT.server.response, udpResponse(response({ id: 7, name: 'db.internal', qtype: QTYPE.AAAA })));
    expect(queries()).toEqual({ [`${CLIENT.id}>${SERVER.id} ${QTYPE.AAAA} server`]: 1 });
    expect(responseCounts()).toEqual({ [`${CLIENT.id}>${SERVER.id} ${QTYPE.AAAA} 0 server`]: { responses: 1, matched: 1 } });
    const got = await events.drain();
    expect(got.map((e) => [e.reporter, e.id])).toEqual([[2, 7]]);
  });

  it('both ends on this node: each side counts and sends the exchange once, never twice by one', async () => {
    load();
    const events = subscribe();
    const q = udpQuery(query({ id: 99, name: 'api.shop.svc', qtype: QTYPE.SRV }));
    const r = udpResponse(response({ id: 99, name: 'api.shop.svc', qtype: QTYPE.SRV, rcode: RCODE.NXDOMAIN, answers: 0 }));
    // leaves the client, enters the server, leaves the server, enters the client
    run(AT.client.query, q);
    run(AT.server.query, q);
    run(AT.server.response, r);
    run(AT.client.response, r);
    expect(queries()).toEqual({
      [`${CLIENT.id}>${SERVER.id} ${QTYPE.SRV} client`]: 1,
      [`${CLIENT.id}>${SERVER.id} ${QTYPE.SRV} server`]: 1,
    });
    expect(responseCounts()).toEqual({
      [`${CLIENT.id}>${SERVER.id} ${QTYPE.SRV} ${RCODE.NXDOMAIN} client`]: { responses: 1, matched: 1 },
      [`${CLIENT.id}>${SERVER.id} ${QTYPE.SRV} ${RCODE.NXDOMAIN} server`]: { responses: 1, matched: 1 },
    });
    const got = await events.drain();
    expect(got.map((e) => [REPORTER_NAMES[e.reporter], e.rcode, e.answers]).sort()).toEqual([
      ['client', RCODE.NXDOMAIN, 0],
      ['server', RCODE.NXDOMAIN, 0],
    ]);
  });

  it('qtypes and rcodes are counted apart: A, AAAA, PTR, SRV with NOERROR, NXDOMAIN, SERVFAIL', () => {
    load();
    const cases = [
      { id: 1, name: 'a.example', qtype: QTYPE.A, rcode: RCODE.NOERROR },
      { id: 2, name: 'a.example', qtype: QTYPE.AAAA, rcode: RCODE.NOERROR },
      { id: 3, name: '5.1.0.10.in-addr.arpa', qtype: QTYPE.PTR, rcode: RCODE.NXDOMAIN },
      { id: 4, name: '_http._tcp.example', qtype: QTYPE.SRV, rcode: RCODE.SERVFAIL },
      { id: 5, name: 'b.example', qtype: QTYPE.A, rcode: RCODE.NXDOMAIN },
      { id: 6, name: 'c.example', qtype: QTYPE.A, rcode: RCODE.NXDOMAIN },
    ];
    for (const c of cases) {
      run('from', udpQuery(query(c)));
      run('to', udpResponse(response(c)));
    }
    const pair = `${CLIENT.id}>${SERVER.id}`;
    expect(queries()).toEqual({
      [`${pair} ${QTYPE.A} client`]: 3,
      [`${pair} ${QTYPE.AAAA} client`]: 1,
      [`${pair} ${QTYPE.PTR} client`]: 1,
      [`${pair} ${QTYPE.SRV} client`]: 1,
    });
    expect(responseCounts()).toEqual({
      [`${pair} ${QTYPE.A} ${RCODE.NOERROR} client`]: { responses: 1, matched: 1 },
      [`${pair} ${QTYPE.AAAA} ${RCODE.NOERROR} client`]: { responses: 1, matched: 1 },
      [`${pair} ${QTYPE.PTR} ${RCODE.NXDOMAIN} client`]: { responses: 1, matched: 1 },
      [`${pair} ${QTYPE.SRV} ${RCODE.SERVFAIL} client`]: { responses: 1, matched: 1 },
      [`${pair} ${QTYPE.A} ${RCODE.NXDOMAIN} client`]: { responses: 2, matched: 2 },
    });
    expect(pending()).toEqual([]);
    expect(malformed()).toEqual({});
  });

  it('a response without its query (other id, other client port, other side) is counted but not observed as latency, and sends nothing', async () => {
    load();
    const events = subscribe();
    run('from', udpQuery(query({ id: 10, name: 'x.example' })));
    run('to', udpResponse(response({ id: 11, name: 'x.example' })));
    run('to', udpResponse(response({ id: 10, name: 'x.example' }), CLIENT_PORT + 1));
    run('from', udpResponse(response({ id: 10, name: 'x.example' })));
    expect(responseCounts()).toEqual({
      [`${CLIENT.id}>${SERVER.id} ${QTYPE.A} 0 client`]: { responses: 2, matched: 0 },
      [`${CLIENT.id}>${SERVER.id} ${QTYPE.A} 0 server`]: { responses: 1, matched: 0 },
    });
    expect(pending().length).toBe(1);
    expect(await events.drain()).toEqual([]);
  });

  it('a duplicated response is counted twice but is one exchange', async () => {
    load();
    const events = subscribe();
    run('from', udpQuery(query({ id: 12, name: 'dup.example' })));
    run('to', udpResponse(response({ id: 12, name: 'dup.example' })));
    run('to', udpResponse(response({ id: 12, name: 'dup.example' })));
    expect(responseCounts()).toEqual({ [`${CLIENT.id}>${SERVER.id} ${QTYPE.A} 0 client`]: { responses: 2, matched: 1 } });
    expect((await events.drain()).length).toBe(1);
  });

  it('IPv6', async () => {
    load();
    const events = subscribe();
    run('from', frame6(udp(CLIENT_PORT, 53, query({ id: 5, name: 'v6.example', qtype: QTYPE.AAAA })), { src: CLIENT.v6, dst: SERVER.v6 }));
    run('to', frame6(udp(53, CLIENT_PORT, response({ id: 5, name: 'v6.example', qtype: QTYPE.AAAA })), { src: SERVER.v6, dst: CLIENT.v6 }));
    expect(queries()).toEqual({ [`${CLIENT.id6}>${SERVER.id6} ${QTYPE.AAAA} client`]: 1 });
    const [event] = await events.drain();
    expect(event).toMatchObject({ family: 6, clientAddr: CLIENT.v6, serverAddr: SERVER.v6, srcIdentity: CLIENT.id6, dstIdentity: SERVER.id6 });
  });

  it('the TC flag of a response is kept in its event', async () => {
    load();
    const events = subscribe();
    run('from', udpQuery(query({ id: 13, name: 'big.example', qtype: QTYPE.TXT })));
    run('to', udpResponse(response({ id: 13, name: 'big.example', qtype: QTYPE.TXT, tc: true, answers: 0 })));
    const [event] = await events.drain();
    expect(event!.flags).toBe(DnsFlag.TC);
    expect(responseCounts()).toEqual({ [`${CLIENT.id}>${SERVER.id} ${QTYPE.TXT} 0 client`]: { responses: 1, matched: 1 } });
  });
});

describe('DNS over TCP', () => {
  it('messages after the length prefix; segments without payload are not messages', async () => {
    load();
    const events = subscribe();
    const seg = (payload: Buffer | undefined, flags: number, fromClient: boolean): Buffer =>
      fromClient
        ? queryFrame(tcp({ sport: CLIENT_PORT, dport: 53, flags, payload }))
        : responseFrame(tcp({ sport: 53, dport: CLIENT_PORT, flags, payload }));
    run('from', seg(undefined, TCP_SYN, true));
    run('to', seg(undefined, TCP_SYN | TCP_ACK, false));
    run('from', seg(undefined, TCP_ACK, true));
    run('from', seg(tcpFramed(query({ id: 21, name: 'tcp.example', qtype: QTYPE.A })), TCP_ACK | TCP_PSH, true));
    run('to', seg(undefined, TCP_ACK, false));
    run('to', seg(tcpFramed(response({ id: 21, name: 'tcp.example', qtype: QTYPE.A, answers: 3 })), TCP_ACK | TCP_PSH, false));
    expect(queries()).toEqual({ [`${CLIENT.id}>${SERVER.id} ${QTYPE.A} client`]: 1 });
    expect(responseCounts()).toEqual({ [`${CLIENT.id}>${SERVER.id} ${QTYPE.A} 0 client`]: { responses: 1, matched: 1 } });
    expect(malformed()).toEqual({});
    const [event, ...more] = await events.drain();
    expect(more).toEqual([]);
    expect(event).toMatchObject({ protocol: 6, id: 21, answers: 3, clientPort: CLIENT_PORT, serverPort: 53 });
    expect(dnsNameFromWire(event!.qname, event!.qnameLen)).toBe('tcp.example');
  });

  it('a length prefix shorter than a header is malformed; a prefix longer than the segment still parses its question', () => {
    load();
    const msg = query({ id: 22, name: 'long.example' });
    run('from', queryFrame(tcp({ sport: CLIENT_PORT, dport: 53, flags: TCP_ACK | TCP_PSH, payload: tcpFramed(msg, 11) })));
    run('from', queryFrame(tcp({ sport: CLIENT_PORT, dport: 53, flags: TCP_ACK | TCP_PSH, payload: tcpFramed(msg, 4000) })));
    run('from', queryFrame(tcp({ sport: CLIENT_PORT, dport: 53, flags: TCP_ACK | TCP_PSH, payload: Buffer.from([0]) })));
    expect(malformed()).toEqual({ tcp_length: 1, header_truncated: 1 });
    expect(queries()).toEqual({ [`${CLIENT.id}>${SERVER.id} ${QTYPE.A} client`]: 1 });
  });

  it('a prefix shorter than the segment ends the message there', () => {
    load();
    const msg = query({ id: 23, name: 'cut.example' });
    // the prefix says the message ends inside the name: the bytes after it are not read as the name's
    run('from', queryFrame(tcp({ sport: CLIENT_PORT, dport: 53, flags: TCP_ACK | TCP_PSH, payload: tcpFramed(msg, 16) })));
    expect(malformed()).toEqual({ name_truncated: 1 });
    expectNothingCounted();
  });
});

describe('malformed messages are counted by reason, never as queries or responses', () => {
  it('a compression pointer in the question', () => {
    load();
    const name = Buffer.concat([Buffer.from([3]), Buffer.from('www'), Buffer.from([0xc0, 12])]);
    run('from', udpQuery(query({ id: 1, name })));
    expect(malformed()).toEqual({ compression_pointer: 1 });
    expectNothingCounted();
  });

  it('a compression loop: a pointer to itself', () => {
    load();
    run('from', udpQuery(query({ id: 1, name: Buffer.from([0xc0, 12]) })));
    expect(malformed()).toEqual({ compression_pointer: 1 });
    expectNothingCounted();
  });

  it('a label longer than 63 bytes, and the reserved label types', () => {
    load();
    const long = Buffer.concat([Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0])]);
    run('from', udpQuery(query({ id: 1, name: long })));
    run('from', udpQuery(query({ id: 2, name: Buffer.from([0x80, 0x61, 0]) })));
    expect(malformed()).toEqual({ label_too_long: 2 });
    // 63 is the longest label allowed
    run('from', udpQuery(query({ id: 3, name: Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61), Buffer.from([0])]) })));
    expect(queries()).toEqual({ [`${CLIENT.id}>${SERVER.id} ${QTYPE.A} client`]: 1 });
  });

  /** A name of exactly `wire` bytes in wire format: labels of 63 and one shorter, then the root. */
  function nameOfWireLength(wire: number): Buffer {
    const parts: Buffer[] = [];
    let left = wire - 1;
    while (left > 0) {
      const len = Math.min(63, left - 1);
      parts.push(Buffer.from([len]), Buffer.alloc(len, 0x62));
      left -= len + 1;
    }
    const name = Buffer.concat([...parts, Buffer.from([0])]);
    expect(name.length).toBe(wire);
    return name;
  }

  it('a name of 255 bytes is a query, cut to the first 128 bytes and flagged; 256 bytes is malformed', async () => {
    load();
    const events = subscribe();
    const name = nameOfWireLength(255);
    run('from', udpQuery(query({ id: 31, name })));
    expect(queries()).toEqual({ [`${CLIENT.id}>${SERVER.id} ${QTYPE.A} client`]: 1 });
    const [entry] = pending();
    expect(entry!.value.flags).toBe(DnsFlag.NAME_TRUNCATED);
    expect(entry!.value.qnameLen).toBe(DNS_NAME_MAX);
    expect(entry!.value.qname.equals(name.subarray(0, DNS_NAME_MAX))).toBe(true);

    run('to', udpResponse(response({ id: 31, name })));
    const [event] = await events.drain();
    expect(event!.flags).toBe(DnsFlag.NAME_TRUNCATED);
    expect(event!.qnameLen).toBe(DNS_NAME_MAX);
    // the cut name keeps its whole labels: the first two of 63 bytes
    expect(dnsNameFromWire(event!.qname, event!.qnameLen)).toBe(`${'b'.repeat(63)}.${'b'.repeat(63)}`);

    run('from', udpQuery(query({ id: 32, name: nameOfWireLength(256) })));
    expect(malformed()).toEqual({ name_too_long: 1 });
    expect(queries()).toEqual({ [`${CLIENT.id}>${SERVER.id} ${QTYPE.A} client`]: 1 });
  });

  it('truncated at every byte of the header and the question', () => {
    load();
    const msg = query({ id: 0x4242, name: 'svc.example.org', qtype: QTYPE.AAAA });
    const nameEnd = 12 + dnsName('svc.example.org').length;
    const expected: Record<string, number> = {};
    for (let n = 0; n < msg.length; n++) {
      run('from', udpQuery(msg.subarray(0, n)));
      const reason = n < 12 ? 'header_truncated' : n < nameEnd ? 'name_truncated' : 'question_truncated';
      expected[reason] = (expected[reason] ?? 0) + 1;
      expect(malformed(), `cut at ${n} bytes`).toEqual(expected);
    }
    expect(expected).toEqual({ header_truncated: 12, name_truncated: nameEnd - 12, question_truncated: 4 });
    expectNothingCounted();
    run('from', udpQuery(msg));
    expect(queries()).toEqual({ [`${CLIENT.id}>${SERVER.id} ${QTYPE.AAAA} client`]: 1 });
  });

  it('no question, and opcodes other than QUERY', () => {
    load();
    run('from', udpQuery(query({ id: 1, name: null })));
    run('from', udpQuery(query({ id: 2, name: 'zone.example', opcode: OPCODE.NOTIFY, qtype: QTYPE.SOA })));
    run('from', udpQuery(query({ id: 3, name: 'zone.example', opcode: OPCODE.UPDATE, qtype: QTYPE.SOA })));
    expect(malformed()).toEqual({ no_question: 1, unsupported_opcode: 2 });
    expectNothingCounted();
  });

  it('non-DNS traffic on port 53 (an HTTP request, a TLS ClientHello start)', () => {
    load();
    run('from', udpQuery(Buffer.from('GET / HTTP/1.1\r\nHost: example\r\n\r\n')));
    run('from', queryFrame(tcp({ sport: CLIENT_PORT, dport: 53, flags: TCP_ACK | TCP_PSH, payload: Buffer.from('GET / HTTP/1.1\r\n\r\n') })));
    run('from', udpQuery(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03, 0x00])));
    // "GE"/"T " read as opcode 10; the 12 TLS bytes read as a header with 200 questions and no name
    expect(malformed()).toEqual({ unsupported_opcode: 2, name_truncated: 1 });
    expectNothingCounted();
  });
});

describe('ports', () => {
  it('only the configured ports are parsed', () => {
    load([5353, 8053]);
    const msg = query({ id: 1, name: 'mdns.local' });
    run('from', udpQuery(msg, CLIENT_PORT, 53));
    expect(queries()).toEqual({});
    run('from', udpQuery(msg, CLIENT_PORT, 5353));
    run('from', udpQuery(query({ id: 2, name: 'x.local' }), CLIENT_PORT, 8053));
    expect(queries()).toEqual({ [`${CLIENT.id}>${SERVER.id} ${QTYPE.A} client`]: 2 });
  });

  it('other ports and protocols are not looked at', () => {
    load();
    run('from', udpQuery(Buffer.alloc(3), CLIENT_PORT, 54));
    run('from', queryFrame(tcp({ sport: CLIENT_PORT, dport: 443, flags: TCP_ACK | TCP_PSH, payload: Buffer.alloc(3) })));
    expect(malformed()).toEqual({});
    expectNothingCounted();
  });

  it('rejects port lists it cannot hold', () => {
    const o = BpfObject.open(FLOW_OBJECT);
    try {
      expect(() => setDnsPorts(o, [])).toThrow(RangeError);
      expect(() => setDnsPorts(o, [1, 2, 3, 4, 5])).toThrow(RangeError);
      expect(() => setDnsPorts(o, [0])).toThrow(RangeError);
      expect(() => setDnsPorts(o, [65536])).toThrow(RangeError);
    } finally {
      o.close();
    }
  });
});

describe('unanswered queries: the user-space sweep', () => {
  it('a query past the timeout becomes one unanswered exchange; a late response is then counted unmatched', () => {
    load();
    const delivered: DnsEvent[] = [];
    const tracker = new DnsTracker(obj!, 5, (e) => delivered.push(e));
    run('from', udpQuery(query({ id: 77, name: 'gone.example', qtype: QTYPE.AAAA })));
    const [entry] = pending();
    const queryNs = entry!.value.queryNs;

    tracker.sweep(queryNs + 4_999_999_999n);
    expect(delivered).toEqual([]);
    expect(pending().length).toBe(1);

    tracker.sweep(queryNs + 5_000_000_000n);
    expect(pending()).toEqual([]);
    expect(delivered.length).toBe(1);
    expect(delivered[0]).toMatchObject({
      type: EventType.DNS,
      family: 4,
      protocol: 17,
      reporter: 1,
      queryNs,
      responseNs: 0n,
      srcIdentity: CLIENT.id,
      dstIdentity: SERVER.id,
      clientAddr: CLIENT.v4,
      serverAddr: SERVER.v4,
      clientPort: CLIENT_PORT,
      serverPort: 53,
      id: 77,
      qtype: QTYPE.AAAA,
      rcode: 0,
      answers: 0,
      flags: DnsFlag.UNANSWERED,
    });
    expect(dnsNameFromWire(delivered[0]!.qname, delivered[0]!.qnameLen)).toBe('gone.example');
    expect([tracker.exchanges, tracker.unanswered]).toEqual([1, 1]);

    tracker.sweep(queryNs + 60_000_000_000n);
    expect(delivered.length).toBe(1);
    run('to', udpResponse(response({ id: 77, name: 'gone.example', qtype: QTYPE.AAAA })));
    expect(responseCounts()).toEqual({ [`${CLIENT.id}>${SERVER.id} ${QTYPE.AAAA} 0 client`]: { responses: 1, matched: 0 } });
  });

  it('snapshot(): counters summed over CPUs, latency in seconds, malformed by name', () => {
    load();
    const tracker = new DnsTracker(obj!, 5, () => {});
    run('from', udpQuery(query({ id: 1, name: 'a.example' })));
    run('to', udpResponse(response({ id: 1, name: 'a.example', rcode: RCODE.NXDOMAIN })));
    run('from', udpQuery(Buffer.alloc(5)));
    const snap = tracker.snapshot();
    expect(snap.queries).toEqual([{ srcIdentity: CLIENT.id, dstIdentity: SERVER.id, qtype: QTYPE.A, reporter: 1, count: 1 }]);
    expect(snap.responses.length).toBe(1);
    const r = snap.responses[0]!;
    expect({ ...r, latencySumSeconds: 0, latencyBuckets: [] }).toEqual({
      srcIdentity: CLIENT.id,
      dstIdentity: SERVER.id,
      qtype: QTYPE.A,
      rcode: RCODE.NXDOMAIN,
      reporter: 1,
      responses: 1,
      latencySumSeconds: 0,
      latencyBuckets: [],
    });
    expect(r.latencyBuckets.length).toBe(DNS_LATENCY_BUCKETS);
    expect(r.latencyBuckets.reduce((a, b) => a + b, 0)).toBe(1);
    expect(r.latencySumSeconds).toBeGreaterThan(0);
    expect(snap.malformed.filter((m) => m.count > 0)).toEqual([{ reason: 'header_truncated', count: 1 }]);
    expect(snap.malformed.map((m) => m.reason)).toEqual([...DNS_MALFORMED_REASON_NAMES]);
  });
});
