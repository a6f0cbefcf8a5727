// The recent-flow store: a ring of the last N records, oldest evicted first.
// Its memory is bounded by N (records keep no per-record copies of identity
// labels) and reported by the flowlens_flow_store_* self-metrics.

import { recordBytes, type FlowRecord } from './record.js';

export const DEFAULT_FLOW_STORE_CAPACITY = 65535;

export type FlowListener = (record: FlowRecord) => void;

export interface FlowStoreStats {
  capacity: number;
  records: number;
  /** Records pushed since start. */
  received: number;
  /** Records the ring overwrote to make room. */
  evicted: number;
  /** Estimated heap bytes of the records held (recordBytes). */
  bytes: number;
  subscribers: number;
}

export class FlowStore {
  private readonly ring: Array<FlowRecord | undefined>;
  private readonly sizes: Float64Array;
  /** Index the next record goes to. */
  private head = 0;
  private count = 0;
  private nextSeq = 1;
  private evictedCount = 0;
  private byteCount = 0;
  private readonly listeners = new Set<FlowListener>();

  constructor(readonly capacity: number = DEFAULT_FLOW_STORE_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`flow store capacity must be an integer >= 1, got ${capacity}`);
    this.ring = new Array<FlowRecord | undefined>(capacity);
    this.sizes = new Float64Array(capacity);
  }

  /** Adds a record (its seq is set here), evicting the oldest when full, and tells every subscriber. */
  push(record: FlowRecord): FlowRecord {
    record.seq = this.nextSeq++;
    if (this.count === this.capacity) {
      this.evictedCount++;
      this.byteCount -= this.sizes[this.head]!;
    } else {
      this.count++;
    }
    const size = recordBytes(record);
    this.ring[this.head] = record;
    this.sizes[this.head] = size;
    this.byteCount += size;
    this.head = (this.head + 1) % this.capacity;
    for (const listener of this.listeners) {
      try {
        listener(record);
      } catch {
        // one broken subscriber (a closed stream) must not stop the others or the datapath
      }
    }
    return record;
  }

  get size(): number {
    return this.count;
  }

  /** Records oldest first. */
  *records(): IterableIterator<FlowRecord> {
    const start = (this.head - this.count + this.capacity) % this.capacity;
    for (let i = 0; i < this.count; i++) yield this.ring[(start + i) % this.capacity]!;
  }

  /** Records newest first. */
  *newestFirst(): IterableIterator<FlowRecord> {
    for (let i = 1; i <= this.count; i++) yield this.ring[(this.head - i + this.capacity) % this.capacity]!;
  }

  /**
   * The newest `limit` records `match` accepts, returned oldest first. Walks
   * from the newest and stops at `limit`; it does not stop at a time bound,
   * since records arrive close to, not exactly in, time order (drop events are
   * read every 100 ms, unanswered attempts when the sweep finds them).
   */
  query(match: (r: FlowRecord) => boolean, limit: number): FlowRecord[] {
    const out: FlowRecord[] = [];
    if (limit <= 0) return out;
    for (const r of this.newestFirst()) {
      if (!match(r)) continue;
      out.push(r);
      if (out.length >= limit) break;
    }
    return out.reverse();
  }

  /** Calls `listener` with every record pushed from now on; returns the unsubscribe function. */
  subscribe(listener: FlowListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  stats(): FlowStoreStats {
    return {
      capacity: this.capacity,
      records: this.count,
      received: this.nextSeq - 1,
      evicted: this.evictedCount,
      bytes: this.byteCount,
      subscribers: this.listeners.size,
    };
  }
}
