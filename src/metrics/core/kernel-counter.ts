// A counter whose values are the kernel's absolute totals, read at scrape
// time. It is a real prom-client Counter (registered, typed 'counter',
// rendered with _total in both text formats), but get() returns the series
// table directly instead of replaying reset() and inc() per series: inc()
// hashes and validates every label set on every scrape, which made a
// 10,000-series render about 1.6 times slower; here label objects (and,
// through sharedLabels, their text) are built once per series.
//
// Every counter of absolute totals takes this path: the kernel's maps, and
// the self-metrics whose totals are kept in user space (spans, the flow
// store, identity sources), which have no increments of their own to replay.

import { Counter, type Registry } from 'prom-client';
import type { SeriesValue } from './series.js';

export interface KernelCounterConfiguration {
  name: string;
  help: string;
  /** Empty for a family of one unlabelled series. */
  labelNames: readonly string[];
  registers: Registry[];
  /** Computes this scrape's values; runs once per get(). */
  read: () => SeriesValue[];
}

// prom-client does not export the type of get()'s result.
type CounterObject = Awaited<ReturnType<Counter<string>['get']>>;

export class KernelCounter extends Counter<string> {
  private readonly read: () => SeriesValue[];

  constructor(config: KernelCounterConfiguration) {
    super({ name: config.name, help: config.help, labelNames: [...config.labelNames], registers: config.registers });
    this.read = config.read;
  }

  override async get(): Promise<CounterObject> {
    // Kept synchronous up to here: the scrape scope relies on every family's
    // values being read in the same turn (see scrape.ts).
    const values = this.read();
    // The fields prom-client's own Counter.get() returns. name is read from
    // the instance because OpenMetrics rendering renames counters in place.
    // (Cast: the typings declare type as a numeric enum; at run time it is the string.)
    const self = this as unknown as { name: string; help: string };
    return { name: self.name, help: self.help, type: 'counter', values, aggregator: 'sum' } as unknown as CounterObject;
  }
}
