import { describe, expect, it } from 'vitest';
import { FlowStore, ROW_BYTES } from '../../src/flows/store.js';
import { INTERNED_OVERHEAD_BYTES } from '../../src/flows/interner.js';
import type { FlowRecord } from '../../src/flows/record.js';
import type { DropPolicyExplanation } from '../../src/identity/network-policy.js';
import { API, DB, FRONTEND, WORLD, rec } from '../common/flows.js';

const POLICY: DropPolicyExplanation = {
  verdict: 'denied',
  explanation: 'denied: namespace shop has default-deny policy deny-all selecting pod api-1 (ingress)',
  egress: { direction: 'egress', pod: { namespace: 'shop', name: 'frontend-1' }, policies: [], allowedBy: [], verdict: 'not-selected' },
  ingress: { direction: 'ingress', pod: { namespace: 'shop', name: 'api-1' }, policies: [{ namespace: 'shop', name: 'deny-all', defaultDeny: true }], allowedBy: [], verdict: 'denied' },
};

/** One record of every shape the exporter's RecordBuilder makes, key order as it makes them. */
function shapes(): FlowRecord[] {
  const base = (second: number, nanos: number, type: FlowRecord['type'], verdict: FlowRecord['verdict'], summary: string, source = FRONTEND(), destination = API()): FlowRecord => ({
    seq: 0,
    time: rec(second, {}, nanos).time,
    node: 'node-a',
    direction: 'egress',
    protocol: 'tcp',
    ipVersion: 4,
    source,
    destination,
    ifindex: 5,
    type,
    verdict,
    summary,
  });
  const flow = { ...base(0, 1, 'flow', 'forwarded', 'new flow, TCP flags SYN'), tcpFlags: ['SYN'] };
  const noFlags = { ...base(0, 2, 'flow', 'forwarded', 'new flow, TCP flags none'), tcpFlags: [] };
  const udp = { ...base(0, 999_999_999, 'flow', 'dropped', 'new flow', WORLD(), DB(53, '10.0.1.3')), protocol: 'udp' };
  const unknown = { ...base(1, 0, 'drop', 'dropped', 'dropped by the kernel: x (other)', WORLD(0, ''), API(0, '')), protocol: 'unknown', ipVersion: 0 as const, direction: 'unknown' as const, drop: { reason: 'x', reasonClass: 'other' } };
  const tcp = { ...base(1, 5, 'tcp', 'dropped', 'TCP connection refused (RST: no socket listening)'), tcp: { outcome: 'refused' as const } };
  const drop = { ...base(2, 7, 'drop', 'dropped', 'dropped by the kernel: netfilter_drop; denied'), drop: { reason: 'netfilter_drop', reasonClass: 'policy' }, policy: POLICY };
  const v6 = { ...base(2, 8, 'flow', 'forwarded', 'new flow', FRONTEND(40000, 'fd00::1'), API(8080, '2001:db8:0:1::2')), ipVersion: 6 as const, direction: 'ingress' as const, tcpFlags: ['SYN', 'ACK'] };
  const dns = { ...base(3, 9, 'dns', 'forwarded', 'DNS A api.shop -> NOERROR in 1.2 ms'), protocol: 'udp', dns: { qname: 'api.shop', qtype: 'A', rcode: 'NOERROR', latencySeconds: 0.0012 } };
  const unanswered = { ...base(3, 10, 'dns', 'forwarded', 'DNS query AAAA . unanswered'), protocol: 'udp', dns: { qname: '', qtype: 'AAAA' } };
  const http = { ...base(4, 11, 'http', 'forwarded', 'HTTP GET /api/orders -> 200 in 3.0 ms'), http: { method: 'GET', path: '/api/orders', status: 200, latencySeconds: 0.003 } };
  const noLatency = { ...base(4, 12, 'http', 'forwarded', 'HTTP unknown (path not kept) -> 502'), http: { method: 'unknown', path: '', status: 502 } };
  return [flow, noFlags, udp, unknown, tcp, drop, v6, dns, unanswered, http, noLatency];
}

const seqs = (records: Iterable<{ seq: number }>) => [...records].map((r) => r.seq);

describe('FlowStore', () => {
  it('numbers records from 1 in arrival order', () => {
    const store = new FlowStore(10);
    for (let i = 0; i < 3; i++) store.push(rec(i));
    expect(seqs(store.records())).toEqual([1, 2, 3]);
    expect(seqs(store.newestFirst())).toEqual([3, 2, 1]);
  });

  it('holds at most its capacity and evicts the oldest first', () => {
    const store = new FlowStore(4);
    for (let i = 0; i < 11; i++) store.push(rec(i));
    expect(store.size).toBe(4);
    expect(seqs(store.records())).toEqual([8, 9, 10, 11]);
    const stats = store.stats();
    expect(stats).toMatchObject({ capacity: 4, records: 4, received: 11, evicted: 7 });
  });

  it('reports the same bytes after evictions as a store that only ever held the records it holds now', () => {
    const evicting = new FlowStore(3);
    const records = [
      rec(0, { summary: 'a much longer summary than the others, unique to this record' }),
      rec(1, { http: { method: 'GET', path: '/only/in/the/evicted/record', status: 200 }, type: 'http' }),
      rec(2), rec(3), rec(4, { drop: { reason: 'netfilter_drop', reasonClass: 'policy' } }),
    ];
    for (const r of records) evicting.push(r);
    const fresh = new FlowStore(3);
    for (const r of records.slice(2)) fresh.push(structuredClone(r));
    expect(evicting.stats().bytes).toBe(fresh.stats().bytes);
  });

  it('counts its rows, and each distinct string once however many records hold it', () => {
    const store = new FlowStore(10);
    store.push(rec(0));
    // 10 strings ('2026-01-01T00:00:00', 'node-a', 'tcp', 'new flow', '70001', 'shop', 'frontend', '', '70002', 'api': 61 characters)
    // and 2 label sets ({"app":"frontend"} and {}: 20 characters)
    const one = 10 * ROW_BYTES + 61 + 20 + 12 * INTERNED_OVERHEAD_BYTES;
    expect(store.stats().bytes).toBe(one);
    // the same strings again: nothing more (the rows are there already)
    store.push(rec(0));
    expect(store.stats().bytes).toBe(one);
    // a new summary: its characters and the overhead of one more string
    store.push(rec(0, { summary: 'twelve chars' }));
    expect(store.stats().bytes).toBe(one + 12 + INTERNED_OVERHEAD_BYTES);
  });

  it('gives back every record as it was pushed, field for field and in the same key order', () => {
    const store = new FlowStore(100);
    const records = shapes();
    for (const r of records) store.push(r);
    const back = [...store.records()];
    expect(back).toStrictEqual(records);
    expect(back.map((r) => JSON.stringify(r))).toEqual(records.map((r) => JSON.stringify(r)));
    expect([...store.newestFirst()].map((r) => JSON.stringify(r))).toEqual(records.map((r) => JSON.stringify(r)).reverse());
  });

  it('gives back records of shapes a row cannot hold exactly as they were pushed', () => {
    const store = new FlowStore(100);
    const odd: FlowRecord[] = [
      // two details at once
      rec(1, { drop: { reason: 'netfilter_drop', reasonClass: 'policy' }, tcpFlags: ['SYN'] }),
      // a policy explanation without a drop
      rec(2, { policy: POLICY }),
      // addresses and times in other forms than the exporter writes
      rec(3, { source: FRONTEND(1, '010.0.0.1'), destination: API(2, '2001:db8::1') }),
      { ...rec(4), time: '2026-01-01T00:00:04Z' },
      rec(5, { tcpFlags: ['S,YN'] }),
      rec(6, { source: { ...FRONTEND(), identity: -1 } }),
      rec(7, { ifindex: 2 ** 33 }),
    ];
    for (const r of odd) store.push(r);
    expect([...store.records()]).toStrictEqual(odd);
    // and the strings of the evicted ones go with them
    const small = new FlowStore(2);
    for (const r of [...odd, rec(8), rec(9)]) small.push(r);
    const fresh = new FlowStore(2);
    for (const r of [rec(8), rec(9)]) fresh.push(r);
    expect(small.stats().bytes).toBe(fresh.stats().bytes);
  });

  it('keeps its records exact while its rows grow and after the ring wraps many times', () => {
    const store = new FlowStore(3000);
    const all: FlowRecord[] = [];
    for (let i = 0; i < 10_000; i++) {
      const r = rec(i % 7, { summary: `record ${i % 50}`, source: FRONTEND(i % 65536, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`) }, i);
      all.push(r);
      store.push(r);
    }
    expect([...store.records()]).toStrictEqual(all.slice(-3000));
    expect(store.stats()).toMatchObject({ records: 3000, received: 10_000, evicted: 7000 });
  });

  it('query returns the newest matching records, oldest first, up to the limit', () => {
    const store = new FlowStore(100);
    for (let i = 0; i < 20; i++) store.push(rec(i, { verdict: i % 3 === 0 ? 'dropped' : 'forwarded' }));
    const dropped = store.query((r) => r.verdict === 'dropped', 3);
    expect(seqs(dropped)).toEqual([13, 16, 19]);
    expect(store.query(() => true, 0)).toEqual([]);
    expect(store.query(() => true, 1000)).toHaveLength(20);
  });

  it('tells subscribers every new record until they unsubscribe; a throwing one does not stop the others', () => {
    const store = new FlowStore(2);
    const seen: number[] = [];
    store.subscribe(() => {
      throw new Error('closed stream');
    });
    const off = store.subscribe((r) => seen.push(r.seq));
    store.push(rec(0));
    store.push(rec(1));
    off();
    store.push(rec(2));
    expect(seen).toEqual([1, 2]);
    expect(store.stats().subscribers).toBe(1);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new FlowStore(0)).toThrow(RangeError);
    expect(() => new FlowStore(1.5)).toThrow(RangeError);
  });
});
