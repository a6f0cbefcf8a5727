import { describe, expect, it } from 'vitest';
import { TimeOrderedMerger, mergeByTime } from '../../src/flows/merge.js';
import type { FlowRecord } from '../../src/flows/record.js';
import { rec } from '../common/flows.js';

const on = (node: string, second: number, seq: number, nanos = 0): FlowRecord => ({ ...rec(second, { node }, nanos), seq });
const ids = (rs: FlowRecord[]) => rs.map((r) => `${r.node}#${r.seq}`);

describe('mergeByTime', () => {
  it('interleaves several streams by time, to the nanosecond', () => {
    const a = [on('a', 1, 1), on('a', 3, 2), on('a', 3, 3, 500)];
    const b = [on('b', 2, 1), on('b', 3, 2, 499), on('b', 4, 3)];
    expect(ids(mergeByTime([a, b]))).toEqual(['a#1', 'b#1', 'a#2', 'b#2', 'a#3', 'b#3']);
  });
  it('breaks ties by node then seq, so the order does not depend on the input order', () => {
    const x = [on('b', 1, 7), on('a', 1, 9), on('a', 1, 8)];
    expect(ids(mergeByTime([x]))).toEqual(['a#8', 'a#9', 'b#7']);
    expect(ids(mergeByTime([[x[2]!], [x[0]!, x[1]!]]))).toEqual(['a#8', 'a#9', 'b#7']);
  });
});

describe('TimeOrderedMerger', () => {
  function merger(delayMs: number) {
    let now = 0;
    const out: FlowRecord[] = [];
    const m = new TimeOrderedMerger({ delayMs, emit: (r) => out.push(r), now: () => now, timer: false });
    return { m, out, at: (ms: number) => (now = ms) };
  }

  it('holds records for the delay and releases them in time order', () => {
    const { m, out, at } = merger(250);
    at(0);
    m.push(on('a', 5, 1));
    at(100);
    m.push(on('b', 4, 1)); // earlier event, arrived later from a slower stream
    m.release();
    expect(out).toEqual([]);
    at(250);
    m.release();
    // a#1 is due; b#1 has an earlier time, so it goes first, before its own delay is over
    expect(ids(out)).toEqual(['b#1', 'a#1']);
    expect(m.held).toBe(0);
  });

  it('keeps later records that are not due yet', () => {
    const { m, out, at } = merger(250);
    at(0);
    m.push(on('a', 1, 1));
    at(200);
    m.push(on('b', 2, 1));
    at(260);
    m.release();
    expect(ids(out)).toEqual(['a#1']);
    expect(m.held).toBe(1);
    at(460);
    m.release();
    expect(ids(out)).toEqual(['a#1', 'b#1']);
  });

  it('flush releases everything held, in time order', () => {
    const { m, out } = merger(1000);
    m.push(on('a', 3, 1));
    m.push(on('b', 1, 1));
    m.push(on('c', 2, 1));
    m.flush();
    expect(ids(out)).toEqual(['b#1', 'c#1', 'a#1']);
  });

  it('releases on its own timer', async () => {
    const out: FlowRecord[] = [];
    const m = new TimeOrderedMerger({ delayMs: 20, emit: (r) => out.push(r) });
    m.push(on('a', 2, 1));
    m.push(on('b', 1, 1));
    expect(out).toEqual([]);
    // the timer fires once the delay has passed, however late; the bound only turns a hang into a failure
    for (const deadline = Date.now() + 10_000; out.length < 2 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 10));
    expect(ids(out)).toEqual(['b#1', 'a#1']);
  });
});
