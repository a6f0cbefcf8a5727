// The series of a family fed by kernel records keyed by an identity pair:
// each record's two identities become the context labels, under the
// cardinality limit, and records of an expired identity are left out. Shared
// by the counter and the histogram families, so both honour the limit and
// identity expiry the same way.

import { KEY_SEPARATOR, type RenderedEnd, type ScrapeView } from './scrape.js';
import { OVERFLOW } from './labels.js';
import { SeriesTable, type Labels, type Series } from './series.js';
import type { FamilyContext } from './family-context.js';
import { OVERFLOW_IDENTITY } from '../../datapath/records.js';

export interface IdentityPairRecord {
  srcIdentity: number;
  dstIdentity: number;
}

export class IdentityPairSeries {
  readonly table: SeriesTable;
  readonly labelNames: readonly string[];
  /** A record of this scrape was left out because an identity expired. */
  private skipped = false;

  /** destinationOnly: label only the destination's contexts (the source is described by extra labels). */
  constructor(ctx: FamilyContext, name: string, extraLabelNames: readonly string[], private readonly destinationOnly = false) {
    const contextNames = destinationOnly ? ctx.contextLabelNames.filter((n) => n.startsWith('destination_')) : ctx.contextLabelNames;
    this.labelNames = [...contextNames, ...extraLabelNames];
    this.table = new SeriesTable(name, this.labelNames, ctx.seriesLimit, OVERFLOW);
    ctx.tables.push(this.table);
  }

  beginScrape(): void {
    this.table.beginScrape();
    this.skipped = false;
  }

  /**
   * The series a record adds to: the overflow series for the kernel's
   * overflow key (counts a full map could not key by their own labels),
   * undefined when either identity expired. `render` gives the non-context
   * label values, in the order of the family's extra label names.
   */
  seriesOf<R extends IdentityPairRecord>(view: ScrapeView, record: R, render: (record: R) => readonly string[]): Series | undefined {
    if (record.srcIdentity === OVERFLOW_IDENTITY) return this.table.overflowSeries;
    const src = this.destinationOnly ? NO_END : view.end(record.srcIdentity);
    const dst = view.end(record.dstIdentity);
    if (src.expired || dst.expired) {
      this.skipped = true;
      return undefined;
    }
    const extra = render(record);
    const key = seriesKey(src, dst, extra);
    return this.table.find(key) ?? this.table.admit(key, labelsOf(this.labelNames, src, dst, extra));
  }

  /** Series left without records (their identities expired) give their slots back. */
  endScrape(): void {
    if (this.skipped) this.table.releaseInactive();
  }
}

/** Stands for a source whose contexts are not labelled. */
const NO_END: RenderedEnd = { values: [], key: '' };

function seriesKey(src: RenderedEnd, dst: RenderedEnd, extra: readonly string[]): string {
  let key = src.key + KEY_SEPARATOR + dst.key;
  for (const value of extra) key += KEY_SEPARATOR + value;
  return key;
}

function labelsOf(names: readonly string[], src: RenderedEnd, dst: RenderedEnd, extra: readonly string[]): Labels {
  const labels: Record<string, string> = {};
  let i = 0;
  for (const v of src.values) labels[names[i++]!] = v;
  for (const v of dst.values) labels[names[i++]!] = v;
  for (const v of extra) labels[names[i++]!] = v;
  return labels;
}
