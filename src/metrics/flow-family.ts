// What the flow families (flows, packets, bytes, tcp flags) share: the
// scrape view, the context labels and the cardinality limit.

import type { Registry } from 'prom-client';
import { KEY_SEPARATOR, type ScrapeScope, type ScrapeView, type RenderedEnd } from './scrape.js';
import { OVERFLOW } from './labels.js';
import { SeriesTable, type Labels, type SeriesValue } from './series.js';
import { KernelCounter } from './kernel-counter.js';
import { OVERFLOW_IDENTITY } from '../datapath/counters.js';

export interface FlowFamilyContext {
  scope: ScrapeScope;
  /** source_* then destination_*, in configured order. */
  contextLabelNames: readonly string[];
  seriesLimit: number;
  registers: Registry[];
  /** Every family's table, for flowlens_series_limited_total. */
  tables: SeriesTable[];
}

export const CONTEXT_HELP = 'Context labels (source_*, destination_*) name the security identity of each end.';

export const OVERFLOW_HELP =
  'Label sets beyond the series limit, and counts the kernel could not key because its map was full, ' +
  'are summed into one series whose labels are all "overflow" ' +
  '(see flowlens_series_limited_total and flowlens_bpf_map_update_errors_total).';

/**
 * Registers a counter family fed by one kind of kernel record. `render`
 * returns the non-context label values of a record in `extraLabelNames`
 * order; records whose labels render alike are summed.
 */
export function registerFlowFamily<R extends { srcIdentity: number; dstIdentity: number }>(
  ctx: FlowFamilyContext,
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
