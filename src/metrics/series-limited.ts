import { Counter, type Registry } from 'prom-client';
import type { SeriesTable } from './core/series.js';
import { SERIES_LIMITED_TOTAL } from './names.js';

export function registerSeriesLimited(registers: Registry[], tables: readonly SeriesTable[]): void {
  new Counter({
    name: SERIES_LIMITED_TOTAL,
    help:
      'Distinct label sets refused a series of their own because the family reached the series limit ' +
      '(metrics.seriesLimit); their counts go to the family\'s series with labels "overflow".',
    labelNames: ['family'],
    registers,
    collect() {
      this.reset();
      // Every family is listed from the start, so increase() works before the first refusal.
      for (const t of tables) this.inc({ family: t.family }, t.refusedCount);
    },
  });
}
