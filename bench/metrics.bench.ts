import { Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { renderBenchmark } from '../src/metrics/bench.js';
import { report } from './report.js';

/**
 * /metrics render time with 10,000 series of flowlens_packets_total (and as
 * many of flowlens_bytes_total, which shares the records), against a baseline
 * measured in the same run: a bare prom-client gauge with 10,000 series of the
 * same label names.
 */

const SERIES = 10_000;

async function baselineMs(series: number, runs = 9): Promise<number> {
  const registry = new Registry();
  const names = ['source_namespace', 'source_workload', 'source_identity', 'destination_namespace', 'destination_workload', 'destination_identity', 'protocol', 'direction', 'verdict'];
  const gauge = new Gauge({ name: 'baseline_series', help: 'baseline', labelNames: names, registers: [registry] });
  for (let i = 0; i < series; i++) {
    gauge.set({ source_namespace: `ns${i % 50}`, source_workload: `w${i}`, source_identity: String(70000 + i), destination_namespace: 'ns', destination_workload: `d${i % 7}`, destination_identity: String(90000 + (i % 7)), protocol: 'tcp', direction: 'egress', verdict: 'forwarded' }, i);
  }
  const times: number[] = [];
  for (let r = 0; r < runs + 3; r++) {
    const t0 = performance.now();
    await registry.metrics();
    if (r >= 3) times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

describe('/metrics render', () => {
  it(`renders ${SERIES} series`, async () => {
    const base = await baselineMs(SERIES);
    const result = await renderBenchmark(SERIES);
    report(`/metrics render, ${SERIES} series (ms, median; target <= 50)`, result.ms.toFixed(1));
    report(`bare prom-client gauge, ${SERIES} series (ms, median)`, base.toFixed(1));
    report('render / bare gauge', (result.ms / base).toFixed(2));
    expect(result.series).toBe(SERIES);
  });
});
