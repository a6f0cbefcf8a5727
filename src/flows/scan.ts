// Walking the recent-flow store for one API query without starving the rest
// of the process. /metrics, the probes and the event reader share the
// thread that answers queries, so a query walks the store in chunks, gives
// the event loop a turn between chunks, and is stopped when its own work
// passes a time budget (three 6-second queries once held a scrape for 17.5 s).

import { setImmediate as nextTurn } from 'node:timers/promises';
import type { FlowRecord } from './record.js';
import type { FlowStore } from './store.js';

/** Work time one query may take (its own chunks, not the time others ran in between). */
export const DEFAULT_QUERY_BUDGET_MS = 250;
/** Records between two looks at the clock and two turns of the event loop (well under a millisecond of filtering). */
export const SCAN_CHUNK = 1024;

export interface ScanOptions {
  budgetMs?: number;
  /** A monotonic clock in milliseconds (tests pass a fake one). */
  clock?: () => number;
  chunk?: number;
}

/** The query did more work than its budget allows; the API answers 503. */
export class QueryBudgetError extends Error {
  constructor(
    readonly budgetMs: number,
    /** Records looked at before it stopped. */
    readonly scanned: number,
  ) {
    super(
      `the query was stopped after ${budgetMs} ms of work (${scanned} records looked at); ` +
        'narrow it with filters (since, type, verdict, namespace, ...) or ask for fewer records (limit, window)',
    );
    this.name = 'QueryBudgetError';
  }
}

/**
 * Calls `visit` with the store's records, newest first, until it returns
 * false or the records end; resolves with the number visited. Records pushed
 * while the scan runs are not visited: the ring moves under the walk between
 * chunks, and seq (increasing, never reused) tells the new records and the
 * ones already seen apart. Throws QueryBudgetError when the work passes the
 * budget (checked after every chunk).
 */
export async function scanNewest(
  store: FlowStore,
  visit: (record: FlowRecord) => boolean,
  options: ScanOptions = {},
): Promise<number> {
  const budgetMs = options.budgetMs ?? DEFAULT_QUERY_BUDGET_MS;
  const clock = options.clock ?? (() => performance.now());
  const chunk = options.chunk ?? SCAN_CHUNK;
  // the newest record when the scan starts: everything after it is new
  const newestSeq = store.stats().received;
  let belowSeq = newestSeq + 1;
  let visited = 0;
  let spentMs = 0;
  const walk = store.newestFirst();
  for (;;) {
    const start = clock();
    for (let i = 0; i < chunk; i++) {
      const next = walk.next();
      if (next.done) return visited;
      const r = next.value;
      // seq decreases along the walk; anything else is new, or seen before the ring moved
      if (r.seq >= belowSeq) continue;
      belowSeq = r.seq;
      visited++;
      if (!visit(r)) return visited;
    }
    spentMs += clock() - start;
    if (spentMs > budgetMs) throw new QueryBudgetError(budgetMs, visited);
    await nextTurn();
  }
}
