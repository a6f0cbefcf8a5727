// A gauge whose values are read whole at scrape time, like KernelCounter: a
// real prom-client Gauge (registered, typed 'gauge'), whose get() returns
// what `read` computed instead of replaying reset() and set() per series.

import { Gauge } from 'prom-client';
import type { KernelCounterConfiguration } from './kernel-counter.js';

export type KernelGaugeConfiguration = KernelCounterConfiguration;

// prom-client does not export the type of get()'s result.
type GaugeObject = Awaited<ReturnType<Gauge<string>['get']>>;

export class KernelGauge extends Gauge<string> {
  private readonly read: KernelGaugeConfiguration['read'];

  constructor(config: KernelGaugeConfiguration) {
    super({ name: config.name, help: config.help, labelNames: [...config.labelNames], registers: config.registers });
    this.read = config.read;
  }

  override async get(): Promise<GaugeObject> {
    // synchronous up to here, as KernelCounter: the scrape scope relies on one turn (see scrape.ts)
    const values = this.read();
    const self = this as unknown as { name: string; help: string };
    return { name: self.name, help: self.help, type: 'gauge', values, aggregator: 'sum' } as unknown as GaugeObject;
  }
}
