// A counter family fed by kernel records keyed by identity pair (flows,
// packets, bytes, TCP flags, drops, DNS and HTTP counts): each record's two
// identities become the context labels, under the cardinality limit.

import type { ScrapeView } from './scrape.js';
import type { SeriesTable, SeriesValue } from './series.js';
import { KernelCounter } from './kernel-counter.js';
import type { FamilyContext } from './family-context.js';
import { IdentityPairSeries, type IdentityPairRecord } from './identity-pair-series.js';
import { OVERFLOW_IDENTITY } from '../../datapath/records.js';

/**
 * Registers a counter family fed by one kind of kernel record keyed by an
 * identity pair (srcIdentity, dstIdentity). `render`
 * returns the non-context label values of a record in `extraLabelNames`
 * order; records whose labels render alike are summed.
 */
export function registerIdentityPairCounter<R extends IdentityPairRecord>(
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
  const pairs = new IdentityPairSeries(ctx, spec.name, spec.extraLabelNames, spec.destinationOnly);

  const read = (): SeriesValue[] => {
    const view = ctx.scope.current();
    pairs.beginScrape();
    for (const record of spec.records(view)) {
      const value = spec.value(record);
      // an empty overflow key is no reason to show the overflow series
      if (record.srcIdentity === OVERFLOW_IDENTITY && value === 0) continue;
      const series = pairs.seriesOf(view, record, spec.render);
      if (series !== undefined) pairs.table.add(series, value);
    }
    pairs.endScrape();
    return pairs.table.values();
  };

  new KernelCounter({ name: spec.name, help: spec.help, labelNames: pairs.labelNames, registers: ctx.registers, read });
  return pairs.table;
}
