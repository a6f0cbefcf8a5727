// DNS query names as a metric label, bounded (DESIGN.md: "query names are off
// by default and, when on, limited to a configured suffix list or top-N").
//
// The kernel's DNS counters have no name: the name is only in the exchange
// events (one per query matched to its response at a side, or swept as
// unanswered), which share the rate-limited events ring buffer. So the
// per-name family is counted here, in user space, from those events, and is
// exact only while every exchange reaches user space: lost events
// (flowlens_events_lost_total) are missing from it, never guessed.
//
// A name becomes one label value by one of two rules:
// - suffixes: the most specific configured suffix the name equals or ends in
//   at a label boundary (`example.com` covers `a.example.com`, not
//   `badexample.com`); the label is the suffix, so series are bounded by the list;
// - top: the name itself while it is among the N reported names (TopNames).
// Everything else, and every name the kernel had to truncate (its last labels,
// the ones a suffix or the full name needs, are missing), folds into `other`.

import { DnsFlag, dnsNameFromWire } from '../bpf/codecs.js';
import { qtypeLabel, rcodeLabel, reporterLabel } from './dns.js';
import { CONTEXT_HELP, OVERFLOW_HELP, type FlowFamilyContext } from './flow-family.js';
import { KernelCounter } from './kernel-counter.js';
import { OVERFLOW } from './labels.js';
import { KEY_SEPARATOR } from './scrape.js';
import { SeriesTable, type SeriesValue } from './series.js';

export const DNS_QUERIES_BY_NAME_TOTAL = 'flowlens_dns_queries_by_name_total';

/** The one label value every name outside the suffix list or the top N folds into. */
export const OTHER_NAME = 'other';
/** rcode of an exchange whose query got no response within dns.unansweredTimeoutSeconds. */
export const UNANSWERED_RCODE = 'unanswered';
/** The root name (a query for "."), which renders as an empty string. */
export const ROOT_NAME = '.';

export const QUERY_NAME_MODES = ['off', 'suffixes', 'top'] as const;
export type QueryNameMode = (typeof QUERY_NAME_MODES)[number];

/** Upper bound of dns.queryNames.top, and of the suffix list's length. */
export const QUERY_NAMES_MAX = 1000;
/** How often the top-N set is re-ranked, and the half-life of the counts it is ranked by. */
export const TOP_RANK_INTERVAL_MS = 60_000;
/** Names the top-N sketch tracks per reported name (at least TOP_MIN_CANDIDATES). */
export const TOP_CANDIDATES_PER_NAME = 4;
export const TOP_MIN_CANDIDATES = 64;
/** A name outside the top N replaces the weakest reported one only when its count is more than this many times larger. */
export const TOP_REPLACE_FACTOR = 2;

export interface QueryNamesConfig {
  mode: QueryNameMode;
  suffixes: readonly string[];
  top: number;
}

// --- names --------------------------------------------------------------------

/**
 * A configured suffix in the form names are compared in: lower case, without
 * a trailing dot. Returns why it is not a usable suffix instead, for the
 * config schema.
 */
export function normalizeSuffix(text: string): { ok: true; suffix: string } | { ok: false; reason: string } {
  const suffix = text.trim().toLowerCase().replace(/\.$/, '');
  const expected = 'expected a domain name such as example.com';
  if (suffix === '') return { ok: false, reason: `${expected} (the root matches every name: use mode top)` };
  if (suffix === OTHER_NAME) return { ok: false, reason: `"${OTHER_NAME}" is the label of the names outside the list` };
  if (!/^[\x21-\x7e]+$/.test(suffix) || suffix.includes('\\')) {
    return { ok: false, reason: `${expected} (printable ASCII without spaces or backslashes)` };
  }
  const labels = suffix.split('.');
  if (labels.some((l) => l === '')) return { ok: false, reason: `${expected} (an empty label)` };
  if (labels.some((l) => l.length > 63)) return { ok: false, reason: `${expected} (a label over 63 characters)` };
  if (suffix.length > 253) return { ok: false, reason: `${expected} (over 253 characters)` };
  return { ok: true, suffix };
}

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

// --- counting exchanges by name -------------------------------------------------

/** The fields of a DNS exchange (dns_event) the per-name family reads. */
export interface DnsExchangeInput {
  srcIdentity: number;
  dstIdentity: number;
  qtype: number;
  rcode: number;
  reporter: number;
  /** DnsFlag bits: NAME_TRUNCATED folds the name, UNANSWERED makes the rcode `unanswered`. */
  flags: number;
  qnameLen: number;
  qname: Buffer;
}

export interface DnsNameRecord {
  readonly key: string;
  readonly srcIdentity: number;
  readonly dstIdentity: number;
  /** The label value: a suffix, a top-N name or `other`. */
  readonly qname: string;
  readonly qtype: number;
  /** The rcode, or -1 when unanswered. */
  readonly rcode: number;
  readonly reporter: number;
  count: number;
}

/** Stands for a key refused a record because the table was full. */
const REFUSED = Symbol('refused');

/**
 * Exchanges counted by (client identity, server identity, name label, qtype,
 * rcode, reporter), since start. At most `limit` keys get a record (the
 * family's metrics.seriesLimit); exchanges of other keys are counted in
 * `overflow`. Refused keys are remembered (up to `limit` of them, so the
 * table holds at most twice the limit) so each is counted once in
 * `refusedKeys`; a record freed (its name left the top N, its identity
 * expired) makes room for them again.
 */
export class DnsQueryNames {
  private readonly records = new Map<string, DnsNameRecord | typeof REFUSED>();
  private admitted = 0;
  private refused = 0;
  private seenGeneration: number;
  /** Exchanges of keys without a record. */
  overflow = 0;
  /** Exchanges counted in total. */
  exchanges = 0;
  /** Records removed since the last takeRemoved(). */
  private removed = false;

  constructor(
    readonly folder: NameFolder,
    readonly limit: number,
    private readonly now: () => number = monotonicMs,
  ) {
    if (!(Number.isInteger(limit) && limit >= 0)) throw new RangeError(`DNS names: limit must be an integer >= 0, got ${limit}`);
    this.seenGeneration = folder.generation;
  }

  static fromConfig(config: QueryNamesConfig, limit: number, now: () => number = monotonicMs): DnsQueryNames | null {
    const folder = nameFolder(config, now());
    return folder === null ? null : new DnsQueryNames(folder, limit, now);
  }

  get refusedKeys(): number {
    return this.refused;
  }

  get size(): number {
    return this.admitted;
  }

  observe(e: DnsExchangeInput): void {
    const now = this.now();
    const truncated = (e.flags & DnsFlag.NAME_TRUNCATED) !== 0;
    const qname = truncated ? OTHER_NAME : this.folder.fold(queryNameOf(e.qname, e.qnameLen), now);
    if (truncated) this.folder.tick(now);
    this.prune();
    const rcode = (e.flags & DnsFlag.UNANSWERED) !== 0 ? -1 : e.rcode;
    this.exchanges += 1;
    // numbers first, the name last: the name may hold any character, the numbers none of the separator
    const key = `${e.srcIdentity}:${e.dstIdentity}:${e.qtype}:${rcode}:${e.reporter}:${qname}`;
    let record = this.records.get(key);
    if (record === REFUSED && this.admitted < this.limit) {
      // room again: a refused key (counted once as refused) gets its record
      this.records.delete(key);
      record = undefined;
    }
    if (record === undefined) {
      if (this.admitted >= this.limit) {
        if (this.records.size < 2 * this.limit) {
          this.records.set(key, REFUSED);
          this.refused += 1;
        }
        this.overflow += 1;
        return;
      }
      record = { key, srcIdentity: e.srcIdentity, dstIdentity: e.dstIdentity, qname, qtype: e.qtype, rcode, reporter: e.reporter, count: 0 };
      this.records.set(key, record);
      this.admitted += 1;
    } else if (record === REFUSED) {
      this.overflow += 1;
      return;
    }
    record.count += 1;
  }

  /** Brings rankings up to date (at a scrape) and drops the records of names that left the top N. */
  tick(): void {
    this.folder.tick(this.now());
    this.prune();
  }

  /** The records, in the order their keys were first counted. */
  *list(): Iterable<DnsNameRecord> {
    for (const r of this.records.values()) if (r !== REFUSED) yield r;
  }

  /** Forgets a record (its identities expired); a later exchange starts it again from 0. */
  forget(record: DnsNameRecord): void {
    if (this.records.get(record.key) !== record) return;
    this.records.delete(record.key);
    this.admitted -= 1;
    this.removed = true;
  }

  /** Whether records were removed since the last call: their series then give back their slots. */
  takeRemoved(): boolean {
    const removed = this.removed;
    this.removed = false;
    return removed;
  }

  private prune(): void {
    if (this.folder.generation === this.seenGeneration) return;
    this.seenGeneration = this.folder.generation;
    for (const [key, r] of this.records) {
      if (r === REFUSED || this.folder.current(r.qname)) continue;
      this.records.delete(key);
      this.admitted -= 1;
      this.removed = true;
    }
  }
}

// --- the family ---------------------------------------------------------------------

export function rcodeOrUnanswered(rcode: number): string {
  return rcode < 0 ? UNANSWERED_RCODE : rcodeLabel(rcode);
}

/**
 * flowlens_dns_queries_by_name_total. Registered only when query names are
 * on (a DnsQueryNames exists); rendered like the kernel families (contexts,
 * identity expiry, metrics.seriesLimit, the overflow series), from the
 * counts of exchange events instead of the kernel's maps.
 */
export function registerDnsQueryNames(ctx: FlowFamilyContext, names: DnsQueryNames): SeriesTable {
  const extraLabelNames = ['qname', 'qtype', 'rcode', 'reporter'];
  const labelNames = [...ctx.contextLabelNames, ...extraLabelNames];
  const table = new SeriesTable(DNS_QUERIES_BY_NAME_TOTAL, labelNames, ctx.seriesLimit, OVERFLOW);
  ctx.tables.push(table);
  let refusedSeen = 0;

  const read = (): SeriesValue[] => {
    const view = ctx.scope.current();
    names.tick();
    table.beginScrape();
    for (const r of [...names.list()]) {
      const src = view.end(r.srcIdentity);
      const dst = view.end(r.dstIdentity);
      if (src.expired || dst.expired) {
        names.forget(r);
        continue;
      }
      const extra = [r.qname, qtypeLabel(r.qtype), rcodeOrUnanswered(r.rcode), reporterLabel(r.reporter)];
      let key = src.key + KEY_SEPARATOR + dst.key;
      for (const v of extra) key += KEY_SEPARATOR + v;
      let series = table.find(key);
      if (!series) {
        const labels: Record<string, string> = {};
        [...src.values, ...dst.values, ...extra].forEach((v, i) => (labels[labelNames[i]!] = v));
        series = table.admit(key, labels);
      }
      table.add(series, r.count);
    }
    // keys refused before they became series: the overflow series, and counted as refused label sets
    table.refuseOutside(names.refusedKeys - refusedSeen);
    refusedSeen = names.refusedKeys;
    if (names.overflow > 0) table.add(table.overflowSeries, names.overflow);
    // series of names that left the top N, or of expired identities, give their slots back
    if (names.takeRemoved()) table.releaseInactive();
    return table.values();
  };

  new KernelCounter({
    name: DNS_QUERIES_BY_NAME_TOTAL,
    help:
      'DNS exchanges (a query and its response, or a query left unanswered, rcode "unanswered") by the query name, ' +
      'counted in user space from the exchange events: exact only while flowlens_events_lost_total stays flat, since ' +
      'exchanges lost to datapath.eventsPerSecond or a full ring buffer are not counted. qname is a configured suffix ' +
      `(dns.queryNames.mode=suffixes) or a name among the top N (mode=top), else "${OTHER_NAME}" (also for names over ` +
      `128 bytes, which the kernel truncates). ${CONTEXT_HELP} ${OVERFLOW_HELP}`,
    labelNames,
    registers: ctx.registers,
    read,
  });
  return table;
}
