// Folding DNS query names into bounded label values (the two rules of
// src/metrics/dns-names.ts): a configured suffix list, or the N names most
// queried, tracked with a decayed space-saving sketch.

import { dnsNameFromWire } from '../datapath/records.js';
import { OTHER_NAME, normalizeSuffix, type QueryNamesConfig } from '../config/dns-query-names.js';

/** The root name (a query for "."), which renders as an empty string. */
export const ROOT_NAME = '.';

/** How often the top-N set is re-ranked, and the half-life of the counts it is ranked by. */
export const TOP_RANK_INTERVAL_MS = 60_000;
/** Names the top-N sketch tracks per reported name (at least TOP_MIN_CANDIDATES). */
export const TOP_CANDIDATES_PER_NAME = 4;
export const TOP_MIN_CANDIDATES = 64;
/** A name outside the top N replaces the weakest reported one only when its count is more than this many times larger. */
export const TOP_REPLACE_FACTOR = 2;

/** The question name of an exchange as label text: lower case (DNS names are case-insensitive), "." for the root. */
export function queryNameOf(qname: Buffer, qnameLen: number): string {
  // dnsNameFromWire escapes every byte outside printable ASCII (and '.' inside
  // a label) as \DDD, so only ASCII letters change case and '.' is a boundary.
  const name = dnsNameFromWire(qname, qnameLen).toLowerCase();
  return name === '' ? ROOT_NAME : name;
}

/** Folds a name into its label value; `fold` may also count it (top-N). */
export interface NameFolder {
  fold(name: string, now: number): string;
  /** Re-ranks if due (top-N); a no-op otherwise. */
  tick(now: number): void;
  /** Increases whenever a label value stops standing for names (a name left the top N). */
  readonly generation: number;
  /** Whether the label value still stands for names. */
  current(label: string): boolean;
}

/**
 * The most specific configured suffix a name falls under: the name itself if
 * listed, else the longest listed suffix it ends in at a label boundary.
 */
export class SuffixFolder implements NameFolder {
  private readonly suffixes: ReadonlySet<string>;
  readonly generation = 0;

  constructor(suffixes: readonly string[]) {
    const set = new Set<string>();
    for (const s of suffixes) {
      const n = normalizeSuffix(s);
      if (!n.ok) throw new RangeError(`DNS name suffix "${s}": ${n.reason}`);
      set.add(n.suffix);
    }
    this.suffixes = set;
  }

  /** A name is matched from its longest tail down: the first listed tail is the most specific. */
  fold(name: string): string {
    if (this.suffixes.has(name)) return name;
    for (let i = name.indexOf('.'); i !== -1; i = name.indexOf('.', i + 1)) {
      const tail = name.slice(i + 1);
      if (this.suffixes.has(tail)) return tail;
    }
    return OTHER_NAME;
  }

  tick(): void {}

  current(): boolean {
    return true;
  }
}

// --- top N ------------------------------------------------------------------------

interface Candidate {
  name: string;
  /** Estimated (decayed) count: the true count plus at most `error`. */
  count: number;
  /** Count inherited from the candidate it replaced (space-saving's overestimate). */
  error: number;
  /** Last time it was counted, in observations: the tie-break among equal counts. */
  seq: number;
  /** Position in the heap. */
  index: number;
}

export interface TopNamesOptions {
  /** Candidates tracked; TOP_CANDIDATES_PER_NAME * n (at least TOP_MIN_CANDIDATES) by default. */
  capacity?: number;
  intervalMs?: number;
  /** Time of the first ranking is start + intervalMs. */
  start?: number;
}

/**
 * The N most queried names, bounded in memory and stable in what it reports.
 *
 * Counting is space-saving (Metwally et al.): a fixed number of candidates,
 * a min-heap by count; a name not tracked takes the place of the candidate
 * with the lowest count (the least recently counted among equals) and
 * inherits that count as its possible error. So memory is bounded by the
 * capacity, and any name with more than total/capacity observations is
 * tracked.
 *
 * What is reported changes only at a ranking, every intervalMs:
 * 1. reported names no longer tracked leave;
 * 2. free places go to the tracked names with the highest guaranteed count
 *    (count - error, which must be above 0), ties by name;
 * 3. then the best unreported name replaces the weakest reported one while
 *    its guaranteed count is more than TOP_REPLACE_FACTOR times larger;
 * after which every count and error is halved, so counts are a decayed rate
 * with a half-life of one interval and a name that stops being asked for
 * fades out. Nothing is reported before the first ranking.
 */
export class TopNames {
  private readonly byName = new Map<string, Candidate>();
  private readonly heap: Candidate[] = [];
  private readonly reportedSet = new Set<string>();
  private seq = 0;
  private nextRank: number;
  readonly capacity: number;
  readonly intervalMs: number;
  /** Rankings that removed a reported name. */
  generation = 0;

  constructor(
    readonly n: number,
    options: TopNamesOptions = {},
  ) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`top names: N must be a positive integer, got ${n}`);
    this.capacity = options.capacity ?? Math.max(TOP_CANDIDATES_PER_NAME * n, TOP_MIN_CANDIDATES);
    if (!Number.isInteger(this.capacity) || this.capacity < n) {
      throw new RangeError(`top names: capacity must be an integer >= N (${n}), got ${this.capacity}`);
    }
    this.intervalMs = options.intervalMs ?? TOP_RANK_INTERVAL_MS;
    this.nextRank = (options.start ?? monotonicMs()) + this.intervalMs;
  }

  /** Names reported now, best first. */
  reported(): string[] {
    return [...this.reportedSet].sort((a, b) => this.compare(this.byName.get(a)!, this.byName.get(b)!));
  }

  isReported(name: string): boolean {
    return this.reportedSet.has(name);
  }

  /** Tracked candidates, for tests and the memory bound. */
  get tracked(): number {
    return this.heap.length;
  }

  /** Counts one observation of a name. */
  observe(name: string): void {
    this.seq += 1;
    let c = this.byName.get(name);
    if (c !== undefined) {
      c.count += 1;
      c.seq = this.seq;
      this.siftDown(c.index);
      return;
    }
    if (this.heap.length < this.capacity) {
      c = { name, count: 1, error: 0, seq: this.seq, index: this.heap.length };
      this.heap.push(c);
      this.byName.set(name, c);
      this.siftUp(c.index);
      return;
    }
    // replace the weakest candidate; a reported one leaves at the next ranking
    c = this.heap[0]!;
    this.byName.delete(c.name);
    c.name = name;
    c.error = c.count;
    c.count += 1;
    c.seq = this.seq;
    this.byName.set(name, c);
    this.siftDown(0);
  }

  /** Ranks if a ranking is due at `now`; true if the reported set changed. */
  tick(now: number): boolean {
    if (now < this.nextRank) return false;
    const intervals = Math.floor((now - this.nextRank) / this.intervalMs) + 1;
    this.nextRank += intervals * this.intervalMs;
    const changed = this.rank();
    // halved once per elapsed interval; a uniform scale keeps the heap's order
    const scale = 0.5 ** intervals;
    for (const c of this.heap) {
      c.count *= scale;
      c.error *= scale;
    }
    return changed;
  }

  private rank(): boolean {
    let changed = false;
    let removed = false;
    for (const name of this.reportedSet) {
      if (!this.byName.has(name)) {
        this.reportedSet.delete(name);
        changed = removed = true;
      }
    }
    const challengers = this.heap
      .filter((c) => !this.reportedSet.has(c.name) && guaranteed(c) > 0)
      .sort((a, b) => this.compare(a, b));
    let next = 0;
    while (this.reportedSet.size < this.n && next < challengers.length) {
      this.reportedSet.add(challengers[next++]!.name);
      changed = true;
    }
    if (next < challengers.length) {
      // the reported, weakest first
      const held = [...this.reportedSet].map((name) => this.byName.get(name)!).sort((a, b) => this.compare(b, a));
      let weakest = 0;
      while (next < challengers.length && weakest < held.length) {
        const challenger = challengers[next]!;
        if (!(guaranteed(challenger) > TOP_REPLACE_FACTOR * guaranteed(held[weakest]!))) break;
        this.reportedSet.delete(held[weakest++]!.name);
        this.reportedSet.add(challenger.name);
        next += 1;
        changed = removed = true;
      }
    }
    if (removed) this.generation += 1;
    return changed;
  }

  /** Best first: higher guaranteed count, then name. */
  private compare(a: Candidate, b: Candidate): number {
    return guaranteed(b) - guaranteed(a) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  }

  private less(a: Candidate, b: Candidate): boolean {
    return a.count < b.count || (a.count === b.count && a.seq < b.seq);
  }

  private swap(i: number, j: number): void {
    const a = this.heap[i]!;
    const b = this.heap[j]!;
    this.heap[i] = b;
    this.heap[j] = a;
    a.index = j;
    b.index = i;
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(this.heap[i]!, this.heap[parent]!)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const size = this.heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let least = i;
      if (l < size && this.less(this.heap[l]!, this.heap[least]!)) least = l;
      if (r < size && this.less(this.heap[r]!, this.heap[least]!)) least = r;
      if (least === i) return;
      this.swap(i, least);
      i = least;
    }
  }
}

function guaranteed(c: Candidate): number {
  return c.count - c.error;
}

/** The top-N rule as a folder: names are counted as they are folded. */
export class TopFolder implements NameFolder {
  constructor(readonly top: TopNames) {}

  get generation(): number {
    return this.top.generation;
  }

  fold(name: string, now: number): string {
    this.top.tick(now);
    // "other" itself cannot be told from the folded value: it is folded too
    if (name === OTHER_NAME) return OTHER_NAME;
    this.top.observe(name);
    return this.top.isReported(name) ? name : OTHER_NAME;
  }

  tick(now: number): void {
    this.top.tick(now);
  }

  current(label: string): boolean {
    return label === OTHER_NAME || this.top.isReported(label);
  }
}

/** Milliseconds on a clock that wall-clock changes do not move: rankings stay 60 s apart. */
export function monotonicMs(): number {
  return performance.now();
}

export function nameFolder(config: QueryNamesConfig, now: number = monotonicMs()): NameFolder | null {
  switch (config.mode) {
    case 'off':
      return null;
    case 'suffixes':
      return new SuffixFolder(config.suffixes);
    case 'top':
      return new TopFolder(new TopNames(config.top, { start: now }));
  }
}
