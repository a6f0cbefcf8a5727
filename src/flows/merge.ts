// Merging the record streams of several exporters (one per node) by time, as
// `flowlens observe --server A,B` shows a whole cluster.

import type { FlowRecord } from './record.js';

/** Time order; ties broken by node then seq, so the order is total and stable. */
export function compareRecords(a: FlowRecord, b: FlowRecord): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  if (a.node !== b.node) return a.node < b.node ? -1 : 1;
  return a.seq - b.seq;
}

/** All records of several lists in time order (each list may be in any order). */
export function mergeByTime(lists: readonly (readonly FlowRecord[])[]): FlowRecord[] {
  return lists.flat().sort(compareRecords);
}

/**
 * Reorders live records from several streams: each is held `delayMs` after it
 * arrives, so that a record from a slower stream with an earlier time can
 * still go before it, then released in time order. A record that arrives
 * later than the delay still goes out, after its delay, but then after
 * records with later times: the delay bounds how late a stream may be.
 */
export class TimeOrderedMerger {
  private pending: Array<{ record: FlowRecord; dueMs: number }> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: {
      delayMs: number;
      emit: (record: FlowRecord) => void;
      now?: () => number;
      /** Release on a timer (default true); tests call release() themselves. */
      timer?: boolean;
    },
  ) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  push(record: FlowRecord): void {
    this.pending.push({ record, dueMs: this.now() + this.opts.delayMs });
    if ((this.opts.timer ?? true) && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.release();
      }, this.opts.delayMs);
    }
  }

  /**
   * Emits every held record whose delay is over, and with it every held record
   * with an earlier or equal time, in time order.
   */
  release(): void {
    const now = this.now();
    let horizon: FlowRecord | undefined;
    for (const p of this.pending) {
      if (p.dueMs <= now && (!horizon || compareRecords(p.record, horizon) > 0)) horizon = p.record;
    }
    if (!horizon) {
      this.reschedule();
      return;
    }
    const ready: FlowRecord[] = [];
    const keep: typeof this.pending = [];
    for (const p of this.pending) {
      if (compareRecords(p.record, horizon) <= 0) ready.push(p.record);
      else keep.push(p);
    }
    this.pending = keep;
    ready.sort(compareRecords);
    for (const r of ready) this.opts.emit(r);
    this.reschedule();
  }

  /** Emits everything held, in time order (at the end of the streams). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const all = this.pending.map((p) => p.record).sort(compareRecords);
    this.pending = [];
    for (const r of all) this.opts.emit(r);
  }

  get held(): number {
    return this.pending.length;
  }

  private reschedule(): void {
    if (!(this.opts.timer ?? true) || this.timer || this.pending.length === 0) return;
    const next = Math.min(...this.pending.map((p) => p.dueMs));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.release();
    }, Math.max(0, next - this.now()));
  }
}
