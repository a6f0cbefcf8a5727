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

import { OTHER_NAME, type QueryNamesConfig } from '../config/dns-query-names.js';
import { DnsFlag } from '../datapath/records.js';
import { monotonicMs, nameFolder, queryNameOf, type NameFolder } from './dns-name-folders.js';
import { qtypeLabel, rcodeLabel, reporterLabel } from '../datapath/code-names.js';
import { CONTEXT_HELP, OVERFLOW_HELP, type FamilyContext } from './core/family-context.js';
import { KernelCounter } from './core/kernel-counter.js';
import { OVERFLOW } from './core/labels.js';
import { KEY_SEPARATOR } from './core/scrape.js';
import { SeriesTable, type SeriesValue } from './core/series.js';
import { DNS_QUERIES_BY_NAME_TOTAL } from './names.js';

/** rcode of an exchange whose query got no response within dns.unansweredTimeoutSeconds. */
export const UNANSWERED_RCODE = 'unanswered';

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
export function registerDnsQueryNames(ctx: FamilyContext, names: DnsQueryNames): SeriesTable {
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
