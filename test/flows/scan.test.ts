import { describe, expect, it } from 'vitest';
import { QueryBudgetError, scanNewest } from '../../src/flows/scan.js';
import { FlowStore } from '../../src/flows/store.js';
import { rec } from '../common/flows.js';

function storeOf(capacity: number, count: number): FlowStore {
  const store = new FlowStore(capacity);
  for (let i = 0; i < count; i++) store.push(rec(i));
  return store;
}

/** A clock that moves `step` ms at every reading. */
function steppingClock(step: number): () => number {
  let t = 0;
  return () => (t += step);
}

describe('scanNewest', () => {
  it('visits newest first and stops when asked', async () => {
    const store = storeOf(10, 7);
    const seen: number[] = [];
    const visited = await scanNewest(store, (r) => {
      seen.push(r.seq);
      return seen.length < 4;
    }, { chunk: 3 });
    expect([visited, seen]).toEqual([4, [7, 6, 5, 4]]);
  });

  it('gives the event loop a turn between chunks, and only between them', async () => {
    const store = storeOf(100, 10);
    const log: string[] = [];
    // something else that wants the event loop: it logs a turn each time it gets one
    let running = true;
    const other = () => {
      if (!running) return;
      log.push('turn');
      setImmediate(other);
    };
    setImmediate(other);
    // three chunks of four records: two turns in between
    await scanNewest(store, (r) => {
      log.push(String(r.seq));
      return true;
    }, { chunk: 4 });
    running = false;
    const chunks = log.join(' ').split(/(?: turn)+ /);
    expect(chunks).toEqual(['10 9 8 7', '6 5 4 3', '2 1']);
  });

  it('does not visit records pushed while it runs, and none twice, while the ring moves under it', async () => {
    // not full: every record there at the start is visited once
    const growing = storeOf(100, 20);
    const seen: number[] = [];
    await scanNewest(growing, (r) => {
      seen.push(r.seq);
      growing.push(rec(100));
      return true;
    }, { chunk: 3 });
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => 20 - i));

    // full: pushing evicts the oldest, so the walk meets the evictions in the middle
    const full = storeOf(10, 10);
    const fullSeen: number[] = [];
    await scanNewest(full, (r) => {
      fullSeen.push(r.seq);
      full.push(rec(100));
      return true;
    }, { chunk: 3 });
    expect(fullSeen).toEqual([10, 9, 8, 7, 6]);
  });

  it('stops with QueryBudgetError once its own work passes the budget', async () => {
    const store = storeOf(100, 100);
    // every chunk reads the clock twice: 10 ms of work a chunk
    const scan = scanNewest(store, () => true, { chunk: 10, budgetMs: 35, clock: steppingClock(10) });
    await expect(scan).rejects.toThrow(QueryBudgetError);
    await expect(scanNewest(store, () => true, { chunk: 10, budgetMs: 35, clock: steppingClock(10) })).rejects.toMatchObject({
      budgetMs: 35,
      scanned: 40,
      message:
        'the query was stopped after 35 ms of work (40 records looked at); ' +
        'narrow it with filters (since, type, verdict, namespace, ...) or ask for fewer records (limit, window)',
    });
    // within the budget it finishes
    expect(await scanNewest(store, () => true, { chunk: 10, budgetMs: 100, clock: steppingClock(10) })).toBe(100);
  });
});
