// What every family registered from datapath records shares: the scrape
// view, the context labels, the cardinality limit and the registries.

import type { Registry } from 'prom-client';
import type { ScrapeScope } from './scrape.js';
import type { SeriesTable } from './series.js';

export interface FamilyContext {
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
