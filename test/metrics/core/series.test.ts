import { describe, expect, it } from 'vitest';
import { SeriesTable, sumByLabels, unlabelled } from '../../../src/metrics/core/series.js';

describe('SeriesTable', () => {
  it('admits up to the limit, sends the rest to one overflow series, and counts each refused key once', () => {
    const table = new SeriesTable('f', ['a'], 1, 'overflow');
    table.beginScrape();
    table.add(table.admit('x', { a: 'x' }), 1);
    table.add(table.admit('y', { a: 'y' }), 2);
    table.add(table.find('y')!, 3);
    expect(table.values().map((v) => [v.labels, v.value])).toEqual([
      [{ a: 'x' }, 1],
      [{ a: 'overflow' }, 5],
    ]);
    expect(table.refusedCount).toBe(1);
    expect(table.admittedCount).toBe(1);
    expect(table.find('y')).toBe(table.find('y'));
  });

  it('starts every scrape from zero and lists only series seen in it', () => {
    const table = new SeriesTable('f', ['a'], 5, 'overflow');
    table.beginScrape();
    const x = table.admit('x', { a: 'x' });
    table.add(x, 10);
    table.add(table.admit('y', { a: 'y' }), 1);
    table.beginScrape();
    table.add(x, 4);
    expect(table.values()).toEqual([{ labels: { a: 'x' }, sharedLabels: { a: 'x' }, value: 4 }]);
  });

  it('refuses everything with a limit of 0', () => {
    const table = new SeriesTable('f', ['a', 'b'], 0, 'overflow');
    table.beginScrape();
    table.add(table.admit('x', { a: 'x', b: 'x' }), 1);
    expect(table.values()).toEqual([{ labels: { a: 'overflow', b: 'overflow' }, sharedLabels: { a: 'overflow', b: 'overflow' }, value: 1 }]);
  });
});

describe('sumByLabels', () => {
  it('sums rows with equal labels in the first one\'s place, as prom-client\'s inc() did, and keeps zeros', () => {
    const values = sumByLabels([
      [{ source: 'flow', reason: 'rate_limit' }, 5],
      [{ source: 'dns', reason: 'ring_full' }, 0],
      [{ source: 'flow', reason: 'rate_limit' }, 2],
    ]);
    expect(values.map((v) => [v.labels, v.value])).toEqual([
      [{ source: 'flow', reason: 'rate_limit' }, 7],
      [{ source: 'dns', reason: 'ring_full' }, 0],
    ]);
    // prom-client caches the text of sharedLabels per object
    expect(values.every((v) => v.sharedLabels === v.labels)).toBe(true);
  });

  it('an unlabelled family is one series', () => {
    expect(unlabelled(3).map((v) => [v.labels, v.value])).toEqual([[{}, 3]]);
  });
});
