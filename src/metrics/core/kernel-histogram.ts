// A histogram whose buckets are the kernel's absolute counts, read at scrape
// time, like KernelCounter for counters: a real prom-client Histogram
// (registered, typed 'histogram'), whose get() returns the series computed
// by `read` instead of replaying observe() per observation.

import { Histogram, type Registry } from 'prom-client';
import type { Labels } from './series.js';
import type { Exemplar } from './exemplars.js';

/** One series of the histogram: non-cumulative counts per bucket (the last above every bound), and the sum. */
export interface HistogramSeries {
  labels: Labels;
  /** bounds.length + 1 counts; slot i counts observations in (bounds[i-1], bounds[i]]. */
  buckets: readonly number[];
  sum: number;
  /** Per bucket (as buckets), the exemplar shown on its line in OpenMetrics, if any. */
  exemplars?: ReadonlyArray<Exemplar | undefined>;
}

export interface KernelHistogramConfiguration {
  name: string;
  help: string;
  labelNames: readonly string[];
  /** Upper bounds (le) in increasing order; +Inf is implied. */
  bounds: readonly number[];
  registers: Registry[];
  read: () => HistogramSeries[];
}

// prom-client does not export the type of get()'s result.
type HistogramObject = Awaited<ReturnType<Histogram<string>['get']>>;

export class KernelHistogram extends Histogram<string> {
  private readonly read: () => HistogramSeries[];
  private readonly les: readonly string[];

  constructor(config: KernelHistogramConfiguration) {
    super({
      name: config.name,
      help: config.help,
      labelNames: [...config.labelNames],
      buckets: [...config.bounds],
      registers: config.registers,
    });
    this.read = config.read;
    this.les = [...config.bounds.map(String), '+Inf'];
  }

  override async get(): Promise<HistogramObject> {
    return this.render();
  }

  async getForPromString(): Promise<HistogramObject> {
    return this.render();
  }

  private render(): HistogramObject {
    // synchronous, as KernelCounter: the scrape scope relies on one turn (see scrape.ts)
    const series = this.read();
    const self = this as unknown as { name: string; help: string };
    const values: Array<{ labels: Labels; value: number; metricName: string; exemplar?: Exemplar }> = [];
    for (const s of series) {
      let acc = 0;
      for (let i = 0; i < this.les.length; i++) {
        acc += s.buckets[i] ?? 0;
        const exemplar = s.exemplars?.[i];
        // an exemplar on the bucket its value falls in (OpenMetrics: within (previous le, le]), counted there
        values.push({
          labels: { ...s.labels, le: this.les[i]! },
          value: acc,
          metricName: `${self.name}_bucket`,
          ...(exemplar !== undefined && (s.buckets[i] ?? 0) > 0 ? { exemplar } : {}),
        });
      }
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${self.name}_sum` });
      values.push({ labels: { ...s.labels }, value: acc, metricName: `${self.name}_count` });
    }
    return { name: self.name, help: self.help, type: 'histogram', values, aggregator: 'sum' } as unknown as HistogramObject;
  }
}
