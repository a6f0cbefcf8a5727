import type { Registry } from 'prom-client';
import { KernelGauge } from './core/kernel-gauge.js';
import { sumByLabels } from './core/series.js';
import { BUILD_INFO } from './names.js';

export interface BuildInfo {
  version: string;
  commit?: string;
  /** Node.js version, e.g. process.version. */
  node: string;
}

export function registerBuildInfo(registers: Registry[], build: BuildInfo): void {
  const labels = { version: build.version, commit: build.commit ?? '', node_version: build.node };
  new KernelGauge({
    name: BUILD_INFO,
    help: 'Always 1; labels say which flowlens build is running (commit is empty when unknown).',
    labelNames: ['version', 'commit', 'node_version'],
    registers,
    // Read at scrape time, like every family, so registry.resetMetrics() cannot make it disappear.
    read: () => sumByLabels([[labels, 1]]),
  });
}
