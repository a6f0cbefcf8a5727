import { describe, expect, it } from 'vitest';
import { benchmarkSnapshot, renderBenchmark } from '../../src/metrics/bench.js';
import { createMetrics } from '../../src/metrics/core/registry.js';
import { FakeDatapath, FakeIdentities, FakeIdentityStatus, samplesOf } from '../common/metrics-fakes.js';

describe('render benchmark', () => {
  it('builds a snapshot with exactly the requested number of packet series', async () => {
    const registry = createMetrics({
      config: { contexts: ['identity'], seriesLimit: 1000, destinationPorts: [] },
      identities: new FakeIdentities(),
      datapath: new FakeDatapath(benchmarkSnapshot(1000)),
      identityStatus: new FakeIdentityStatus(),
      build: { version: 'x', node: 'v20' },
      processMetrics: false,
    });
    const text = await registry.metrics();
    expect(samplesOf(text, 'flowlens_packets_total')).toHaveLength(1000);
    expect(text).not.toContain('="overflow"');
  });

  it('reports the median of its runs', async () => {
    const result = await renderBenchmark(200, { runs: 3, warmup: 1 });
    expect(result.series).toBe(200);
    expect(result.runs).toBe(3);
    expect(result.ms).toBeGreaterThan(0);
    expect(result.bytes).toBeGreaterThan(200 * 100);
  });
});
