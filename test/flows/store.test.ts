import { describe, expect, it } from 'vitest';
import { FlowStore } from '../../src/flows/store.js';
import { recordBytes } from '../../src/flows/record.js';
import { rec } from '../common/flows.js';

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

  it('reports the estimated bytes of exactly the records it holds', () => {
    const store = new FlowStore(3);
    const records = [rec(0), rec(1, { summary: 'a much longer summary than the others' }), rec(2), rec(3), rec(4, { drop: { reason: 'netfilter_drop', reasonClass: 'policy' } })];
    for (const r of records) store.push(r);
    const held = records.slice(2);
    expect(store.stats().bytes).toBe(held.reduce((sum, r) => sum + recordBytes(r), 0));
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
