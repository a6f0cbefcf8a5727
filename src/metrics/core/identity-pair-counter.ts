// A counter family fed by kernel records keyed by identity pair (flows,
// packets, bytes, TCP flags, drops, DNS and HTTP counts): each record's two
// identities become the context labels, under the cardinality limit.

import { KEY_SEPARATOR, type ScrapeView, type RenderedEnd } from './scrape.js';
import { OVERFLOW } from './labels.js';
import { SeriesTable, type Labels, type SeriesValue } from './series.js';
import { KernelCounter } from './kernel-counter.js';
import type { FamilyContext } from './family-context.js';
import { OVERFLOW_IDENTITY } from '../../datapath/records.js';

/**
 * Registers a counter family fed by one kind of kernel record keyed by an
 * identity pair (srcIdentity, dstIdentity). `render`
 * returns the non-context label values of a record in `extraLabelNames`
 * order; records whose labels render alike are summed.
 */
export function registerIdentityPairCounter<R extends { srcIdentity: number; dstIdentity: number }>(
  ctx: FamilyContext,
  spec: {
    name: string;
    help: string;
    extraLabelNames: readonly string[];
    records: (view: ScrapeView) => readonly R[];
    render: (record: R) => readonly string[];
    value: (record: R) => number;
    /** Label only the destination's contexts (the source is described by extra labels). */
    destinationOnly?: boolean;
  },
): SeriesTable {
  const contextNames = spec.destinationOnly
    ? ctx.contextLabelNames.filter((n) => n.startsWith('destination_'))
    : ctx.contextLabelNames;
  const labelNames = [...contextNames, ...spec.extraLabelNames];
  const table = new SeriesTable(spec.name, labelNames, ctx.seriesLimit, OVERFLOW);
  ctx.tables.push(table);

  const read = (): SeriesValue[] => {
    const view = ctx.scope.current();
    table.beginScrape();
    let skipped = false;
    for (const record of spec.records(view)) {
      // the kernel's overflow key: counts a full map could not key by their own labels
      if (record.srcIdentity === OVERFLOW_IDENTITY) {
        const value = spec.value(record);
        if (value !== 0) table.add(table.overflowSeries, value);
        continue;
      }
      const src = spec.destinationOnly ? NO_END : view.end(record.srcIdentity);
      const dst = view.end(record.dstIdentity);
      if (src.expired || dst.expired) {
        skipped = true;
        continue;
      }
      const extra = spec.render(record);
      const key = seriesKey(src, dst, extra);
      const series = table.find(key) ?? table.admit(key, labelsOf(labelNames, src, dst, extra));
      table.add(series, spec.value(record));
    }
    // Series left without records (their identities expired) give their slots back.
    if (skipped) table.releaseInactive();
    return table.values();
  };

  new KernelCounter({ name: spec.name, help: spec.help, labelNames, registers: ctx.registers, read });
  return table;
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
