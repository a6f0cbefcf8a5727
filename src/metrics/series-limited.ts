import type { Registry } from 'prom-client';
import { KernelCounter } from './core/kernel-counter.js';
import { sumByLabels, type SeriesTable } from './core/series.js';
import { SERIES_LIMITED_TOTAL } from './names.js';

export function registerSeriesLimited(registers: Registry[], tables: readonly SeriesTable[]): void {
  new KernelCounter({
    name: SERIES_LIMITED_TOTAL,
    help:
      'Distinct label sets refused a series of their own because the family reached the series limit ' +
      '(metrics.seriesLimit); their counts go to the family\'s series with labels "overflow".',
    labelNames: ['family'],
    registers,
    // Every family is listed from the start, so increase() works before the first refusal.
    read: () => sumByLabels(tables.map((t) => [{ family: t.family }, t.refusedCount])),
  });
}
