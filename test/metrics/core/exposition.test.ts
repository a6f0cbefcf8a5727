import { describe, expect, it } from 'vitest';
import { negotiateFormat, renderExposition } from '../../../src/metrics/core/exposition.js';
import { createMetrics } from '../../../src/metrics/core/registry.js';
import { emptySnapshot, FakeDatapath, FakeIdentities, FakeIdentityStatus, samplesOf } from '../../common/metrics-fakes.js';

// What Prometheus 2.x sends when it prefers OpenMetrics.
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

describe('negotiateFormat', () => {
  it('picks OpenMetrics when the client prefers it', () => {
    expect(negotiateFormat(PROMETHEUS_ACCEPT)).toBe('openmetrics');
    expect(negotiateFormat('application/openmetrics-text')).toBe('openmetrics');
    expect(negotiateFormat('Application/OpenMetrics-Text; version=1.0.0; charset=utf-8')).toBe('openmetrics');
  });

  it('keeps the Prometheus text format otherwise', () => {
    expect(negotiateFormat(undefined)).toBe('prometheus');
    expect(negotiateFormat('')).toBe('prometheus');
    expect(negotiateFormat('*/*')).toBe('prometheus');
    expect(negotiateFormat('text/plain;version=0.0.4')).toBe('prometheus');
    expect(negotiateFormat('text/plain;version=0.0.4;q=1,application/openmetrics-text;q=0.5')).toBe('prometheus');
    expect(negotiateFormat('application/openmetrics-text;q=0')).toBe('prometheus');
    expect(negotiateFormat('application/json')).toBe('prometheus');
  });
});

function registry() {
  return createMetrics({
    config: { contexts: ['workload'], seriesLimit: 10, destinationPorts: [] },
    identities: new FakeIdentities().add(70000, { workload: 'frontend' }),
    datapath: new FakeDatapath(
      emptySnapshot({
        traffic: [{ srcIdentity: 70000, dstIdentity: 2, protocol: 6, direction: 2, verdict: 1, packets: 7, bytes: 700 }],
        maps: [{ map: 'flow_traffic', entries: 1, capacity: 8 }],
      }),
    ),
    identityStatus: new FakeIdentityStatus(),
    build: { version: '1.2.3', node: 'v20.20.2' },
    processMetrics: false,
  });
}

const PACKETS = 'flowlens_packets_total{source_workload="frontend",destination_workload="reserved:world",protocol="tcp",direction="egress",verdict="forwarded"} 7';

describe('renderExposition', () => {
  it('renders OpenMetrics 1.0 with counter families named without _total', async () => {
    const out = await renderExposition(registry(), 'openmetrics');
    expect(out.contentType).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(out.body).toContain('# TYPE flowlens_packets counter\n');
    expect(out.body).toContain(`\n${PACKETS}\n`);
    expect(out.body).toContain('# TYPE flowlens_series_limited counter\n');
    expect(out.body).toContain('\nflowlens_series_limited_total{family="flowlens_packets_total"} 0\n');
    expect(out.body).toContain('# TYPE flowlens_bpf_map_entries gauge\nflowlens_bpf_map_entries{map="flow_traffic"} 1\n');
    expect(out.body.endsWith('\n# EOF\n')).toBe(true);
    expect(out.body).not.toContain('_total_total');
  });

  it('leaves the Prometheus text format intact after an OpenMetrics render', async () => {
    const reg = registry();
    await renderExposition(reg, 'openmetrics');
    const out = await renderExposition(reg, 'prometheus');
    expect(out.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(out.body).toContain('# TYPE flowlens_packets_total counter\n');
    expect(samplesOf(out.body, 'flowlens_packets_total')).toEqual([PACKETS]);
    expect(out.body).not.toContain('# EOF');
  });
});
