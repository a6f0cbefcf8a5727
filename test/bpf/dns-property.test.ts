/**
 * Property test of protocols/dns.bpf.h against a reference codec from the npm
 * registry (dns-packet): random valid messages, encoded by dns-packet, must
 * decode in the kernel to what dns-packet decodes (qname, qtype, rcode);
 * random invalid ones (cut in the header or question, a compression pointer or
 * an over-long label in the question, a name over 255 bytes, another opcode)
 * must each be counted as malformed under their reason and nowhere else.
 * Seeded, so a failure names the case that reproduces it.
 */
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfObject, type BpfMap } from '../../src/bpf/index.js';
import {
  DNS_MALFORMED_REASON_NAMES,
  DNS_NAME_MAX,
  DnsFlag,
  decodeDnsPendingValue,
  decodeU64,
  dnsNameFromWire,
  encodeDnsPendingKey,
  encodeDnsResponseKey,
  encodeIpcacheValue,
  encodeU32,
  ipcacheKey,
  type DnsMalformedReasonName,
} from '../../src/bpf/codecs.js';
import { qtypeLabel, rcodeLabel } from '../../src/datapath/code-names.js';
import { dnsName } from '../common/dns.js';
import { frame4, ip4, udp } from '../common/packets.js';

const OBJECT = 'bpf/.output/flow.bpf.o';
const CASES = 6000; // valid, and as many invalid: 12,000 per run
const SEED = Number(process.env['FLOWLENS_PROPERTY_SEED'] ?? 0x5eed);
const CLIENT = { v4: ip4('10.0.1.5'), id: 1001 };
const SERVER = { v4: ip4('10.0.2.7'), id: 1002 };
const QTYPES = ['A', 'NS', 'CNAME', 'SOA', 'PTR', 'HINFO', 'MX', 'TXT', 'AAAA', 'SRV', 'NAPTR', 'DS', 'RRSIG', 'NSEC', 'DNSKEY', 'TLSA', 'CAA', 'ANY', 'AXFR'];
const LABEL_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789-';

/** mulberry32: small, seeded, good enough to spread cases. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = prng(SEED);
const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)]!;

/** A random name of 1..maxWire wire bytes, labels of 1..63 characters. */
function randomName(maxWire: number): string {
  const labels: string[] = [];
  let wire = 1;
  const want = int(2, maxWire);
  while (wire < want) {
    const len = Math.min(int(1, 63), want - wire - 1);
    if (len < 1) break;
    labels.push(Array.from({ length: len }, () => pick([...LABEL_CHARS])).join(''));
    wire += len + 1;
  }
  return labels.join('.');
}

let obj: BpfObject;
let dnsPending: BpfMap;
let dnsResponses: BpfMap;
let dnsMalformed: BpfMap;

beforeAll(() => {
  obj = BpfObject.open(OBJECT);
  obj.load();
  const ipcache = obj.map('ipcache');
  ipcache.update(ipcacheKey(4, CLIENT.v4, 32), encodeIpcacheValue({ identity: CLIENT.id, flags: 0 }));
  ipcache.update(ipcacheKey(4, SERVER.v4, 32), encodeIpcacheValue({ identity: SERVER.id, flags: 0 }));
  dnsPending = obj.map('dns_pending');
  dnsResponses = obj.map('dns_responses');
  dnsMalformed = obj.map('dns_malformed');
});

afterAll(() => obj?.close());

function perCpuSum(map: BpfMap, key: Buffer): bigint {
  const value = map.lookup(key);
  if (!value) return 0n;
  let sum = 0n;
  for (const cpu of map.perCpu(value)) sum += decodeU64(cpu, 0);
  return sum;
}

function malformedCount(reason: DnsMalformedReasonName): bigint {
  return perCpuSum(dnsMalformed, encodeU32(DNS_MALFORMED_REASON_NAMES.indexOf(reason)));
}

function send(payload: Buffer, clientPort: number, response: boolean): void {
  const frame = response
    ? frame4(udp(53, clientPort, payload), { src: SERVER.v4, dst: CLIENT.v4 })
    : frame4(udp(clientPort, 53, payload), { src: CLIENT.v4, dst: SERVER.v4 });
  // client side: queries leave the client (from), responses enter it (to)
  const res = obj.program(response ? 'flow_to_endpoint' : 'flow_from_endpoint').testRun(frame);
  if ((res.retval | 0) !== -1) throw new Error(`retval ${res.retval}`);
}

describe(`dns.bpf.h against dns-packet (seed ${SEED})`, () => {
  it(`decodes ${CASES} random valid messages as dns-packet does`, () => {
    for (let i = 0; i < CASES; i++) {
      const response = rand() < 0.5;
      const name = randomName(rand() < 0.1 ? 255 : 60);
      const type = pick(QTYPES);
      const rcode = response ? int(0, 10) : 0;
      // opcode 0; AA, TC, RD, RA, AD, CD at random; the rcode in the low bits
      const flags = (int(0, 1) << 10) | (int(0, 1) << 9) | (int(0, 1) << 8) | (int(0, 1) << 7) | (int(0, 1) << 5) | (int(0, 1) << 4) | rcode;
      const id = int(0, 65535);
      const clientPort = 1024 + (i % 60000);
      const answers = response && rand() < 0.5 ? [{ type: 'A' as const, name, ttl: 60, data: '192.0.2.1' }] : [];
      const buf = dnsPacket.encode({ type: response ? 'response' : 'query', id, flags, questions: [{ type: type as 'A', name }], answers });
      const ref = dnsPacket.decode(buf);
      const where = `case ${i}: ${response ? 'response' : 'query'} ${type} ${name} rcode ${rcode}`;

      if (!response) {
        send(buf, clientPort, false);
        const key = encodeDnsPendingKey({ family: 4, clientAddr: CLIENT.v4, clientPort, id, protocol: 17, reporter: 1 });
        const raw = dnsPending.lookup(key);
        expect(raw, where).toBeDefined();
        const v = decodeDnsPendingValue(raw!);
        dnsPending.delete(key);
        const wire = dnsName(ref.questions![0]!.name);
        const cut = wire.length > DNS_NAME_MAX;
        expect(qtypeLabel(v.qtype), where).toBe(ref.questions![0]!.type);
        expect(v.qnameLen, where).toBe(Math.min(wire.length, DNS_NAME_MAX));
        expect(v.qname.subarray(0, v.qnameLen).equals(wire.subarray(0, v.qnameLen)), where).toBe(true);
        expect(v.flags, where).toBe(cut ? DnsFlag.NAME_TRUNCATED : 0);
        // dns-packet writes the root as "."
        if (!cut) expect(dnsNameFromWire(v.qname, v.qnameLen) || '.', where).toBe(ref.questions![0]!.name);
      } else {
        const key = encodeDnsResponseKey({ srcIdentity: CLIENT.id, dstIdentity: SERVER.id, qtype: dnsQtype(type), rcode, reporter: 1 });
        const before = perCpuSum(dnsResponses, key);
        send(buf, clientPort, true);
        expect(perCpuSum(dnsResponses, key) - before, where).toBe(1n);
        expect(rcodeLabel(rcode), where).toBe((ref as { rcode?: string }).rcode);
        expect(qtypeLabel(dnsQtype(type)), where).toBe(ref.questions![0]!.type);
      }
    }
    for (const reason of DNS_MALFORMED_REASON_NAMES) expect(malformedCount(reason), reason).toBe(0n);
  });

  it(`flags ${CASES} random invalid messages as malformed, each under its reason, and counts none of them`, () => {
    const expected = new Map<DnsMalformedReasonName, bigint>();
    const pendingBefore = dnsPending.entries().length;
    let responsesBefore = 0n;
    for (const { value } of dnsResponses.entries()) for (const cpu of dnsResponses.perCpu(value)) responsesBefore += decodeU64(cpu, 0);

    for (let i = 0; i < CASES; i++) {
      const id = int(0, 65535);
      const name = randomName(60);
      const wire = dnsName(name);
      const header = Buffer.alloc(12);
      header.writeUInt16BE(id, 0);
      header.writeUInt16BE(0x0100, 2);
      header.writeUInt16BE(1, 4);
      const tail = Buffer.from([0, 1, 0, 1]);
      const valid = Buffer.concat([header, wire, tail]);
      let msg: Buffer;
      let reason: DnsMalformedReasonName;
      switch (int(0, 4)) {
        case 0: {
          const n = int(0, valid.length - 1);
          msg = valid.subarray(0, n);
          reason = n < 12 ? 'header_truncated' : n < 12 + wire.length ? 'name_truncated' : 'question_truncated';
          break;
        }
        case 1: {
          // a pointer where the root label should be: to the header, to itself, anywhere
          const labels = wire.subarray(0, wire.length - 1);
          msg = Buffer.concat([header, labels, Buffer.from([0xc0 | int(0, 0x3f), int(0, 255)]), tail]);
          reason = 'compression_pointer';
          break;
        }
        case 2: {
          // a length byte of type 01 or 10 (64..191), with as many bytes after it as it says
          const len = int(64, 191);
          msg = Buffer.concat([header, wire.subarray(0, wire.length - 1), Buffer.from([len]), Buffer.alloc(len, 0x61), Buffer.from([0]), tail]);
          reason = 'label_too_long';
          break;
        }
        case 3: {
          const long = dnsName(randomLongName());
          msg = Buffer.concat([header, long, tail]);
          reason = 'name_too_long';
          break;
        }
        default: {
          const h = Buffer.from(header);
          h.writeUInt16BE(0x0100 | (int(1, 15) << 11) | (rand() < 0.5 ? 0x8000 : 0), 2);
          msg = Buffer.concat([h, wire, tail]);
          reason = 'unsupported_opcode';
        }
      }
      const where = `case ${i}: ${reason} ${msg.toString('hex')}`;
      // the reference refuses a cut message too; the rest it reads (it follows pointers, takes any
      // opcode and label length) but flowlens does not, by design: they are no query it could attribute
      if (reason.endsWith('_truncated')) expect(() => dnsPacket.decode(msg), where).toThrow();
      send(msg, 1024 + (i % 60000), false);
      expected.set(reason, (expected.get(reason) ?? 0n) + 1n);
      expect(malformedCount(reason), where).toBe(expected.get(reason));
    }
    expect([...expected.values()].reduce((a, b) => a + b, 0n)).toBe(BigInt(CASES));
    for (const reason of DNS_MALFORMED_REASON_NAMES) expect(malformedCount(reason), reason).toBe(expected.get(reason) ?? 0n);
    expect(dnsPending.entries().length).toBe(pendingBefore);
    let responsesAfter = 0n;
    for (const { value } of dnsResponses.entries()) for (const cpu of dnsResponses.perCpu(value)) responsesAfter += decodeU64(cpu, 0);
    expect(responsesAfter).toBe(responsesBefore);
  });
});

/** A name of 256..300 wire bytes. */
function randomLongName(): string {
  const labels: string[] = [];
  let wire = 1;
  const want = int(256, 300);
  while (wire < want) {
    const len = Math.min(63, Math.max(1, want - wire - 1));
    labels.push(Array.from({ length: len }, () => pick([...LABEL_CHARS])).join(''));
    wire += len + 1;
  }
  return labels.join('.');
}

/** dns-packet's number for a type name: read back from a question it encodes. */
function dnsQtype(type: string): number {
  const buf = dnsPacket.encode({ type: 'query', id: 0, questions: [{ type: type as 'A', name: 'x' }] });
  return buf.readUInt16BE(buf.length - 4);
}
