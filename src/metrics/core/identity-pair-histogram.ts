// A histogram family fed by kernel records keyed by identity pair (DNS and
// HTTP latencies): the series as for the counters (IdentityPairSeries: the
// cardinality limit, the overflow series, identity expiry), each holding the
// kernel's per-bucket counts summed over the records that render alike.

import type { ScrapeView } from './scrape.js';
import type { Series, SeriesTable } from './series.js';
import { KernelHistogram, type HistogramSeries } from './kernel-histogram.js';
import type { FamilyContext } from './family-context.js';
import { IdentityPairSeries, type IdentityPairRecord } from './identity-pair-series.js';
import { newest, type Exemplar } from './exemplars.js';

export function registerIdentityPairHistogram<R extends IdentityPairRecord>(
  ctx: FamilyContext,
  spec: {
    name: string;
    help: string;
    extraLabelNames: readonly string[];
    /** Upper bounds (le) in increasing order; +Inf is implied. */
    bounds: readonly number[];
    records: (view: ScrapeView) => readonly R[];
    render: (record: R) => readonly string[];
    /** Non-cumulative counts, bounds.length + 1 of them (the last above every bound). */
    buckets: (record: R) => readonly number[];
    /** Sum of the observations counted in buckets. */
    sum: (record: R) => number;
    /** The record's exemplars by bucket (ExemplarStore), if any: each series shows the newest per bucket. */
    exemplars?: (record: R) => ReadonlyArray<Exemplar | undefined> | undefined;
  },
): SeriesTable {
  const pairs = new IdentityPairSeries(ctx, spec.name, spec.extraLabelNames);
  const slots = spec.bounds.length + 1;

  const read = (): HistogramSeries[] => {
    const view = ctx.scope.current();
    pairs.beginScrape();
    // this scrape's histogram of each series, in the order series first get a record
    const histograms = new Map<Series, { labels: Series['labels']; buckets: number[]; sum: number; exemplars?: Array<Exemplar | undefined> }>();
    for (const record of spec.records(view)) {
      const counts = spec.buckets(record);
      let observations = 0;
      for (const n of counts) observations += n;
      // nothing observed (a response matched to no query or request): no series
      if (observations === 0) continue;
      const series = pairs.seriesOf(view, record, spec.render);
      if (series === undefined) continue;
      // marks the series active in this scrape, so it keeps its slot under the limit
      pairs.table.add(series, observations);
      let histogram = histograms.get(series);
      if (histogram === undefined) {
        histogram = { labels: series.labels, buckets: new Array<number>(slots).fill(0), sum: 0 };
        histograms.set(series, histogram);
      }
      for (let i = 0; i < slots; i++) histogram.buckets[i]! += counts[i] ?? 0;
      histogram.sum += spec.sum(record);
      const exemplars = spec.exemplars?.(record);
      if (exemplars !== undefined) newest((histogram.exemplars ??= new Array<Exemplar | undefined>(slots).fill(undefined)), exemplars);
    }
    pairs.endScrape();
    return [...histograms.values()];
  };

  new KernelHistogram({ name: spec.name, help: spec.help, labelNames: pairs.labelNames, bounds: spec.bounds, registers: ctx.registers, read });
  return pairs.table;
}
