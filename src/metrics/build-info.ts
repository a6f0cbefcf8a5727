import { Gauge, type Registry } from 'prom-client';
import { BUILD_INFO } from './names.js';

export interface BuildInfo {
  version: string;
  commit?: string;
  /** Node.js version, e.g. process.version. */
  node: string;
}

export function registerBuildInfo(registers: Registry[], build: BuildInfo): void {
  const labels = { version: build.version, commit: build.commit ?? '', node_version: build.node };
  new Gauge({
    name: BUILD_INFO,
    help: 'Always 1; labels say which flowlens build is running (commit is empty when unknown).',
    labelNames: ['version', 'commit', 'node_version'],
    registers,
    // Set at scrape time so registry.resetMetrics() cannot make it disappear.
    collect() {
      this.set(labels, 1);
    },
  });
}
