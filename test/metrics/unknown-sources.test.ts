import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/core/registry.js';
import type { FlowStartRecord } from '../../src/datapath/records.js';
import { emptySnapshot, FakeDatapath, FakeIdentities, FakeIdentityStatus, samplesOf } from '../common/metrics-fakes.js';

const INGRESS = 1;
const EGRESS = 2;
const start = (src: number, dst: number, over: Partial<FlowStartRecord> = {}): FlowStartRecord => ({
  srcIdentity: src,
  dstIdentity: dst,
  protocol: 6,
  dstPort: 443,
  direction: INGRESS,
  verdict: 1,
  flows: 1,
  ...over,
});

describe('flowlens_unknown_source_flows_total', () => {
  it('counts flows from world and unmanaged where they enter a workload, with only destination contexts', async () => {
    const identities = new FakeIdentities().add(70001, { namespace: 'shop', workload: 'cart' }).add(70000, { namespace: 'shop', workload: 'web' });
    const registry = createMetrics({
      config: { contexts: ['namespace', 'workload'], seriesLimit: 100, destinationPorts: [443] },
      identities,
      datapath: new FakeDatapath(
        emptySnapshot({
          starts: [
            start(2, 70001, { flows: 3 }),
            start(2, 70001, { flows: 2, verdict: 2 }),
            start(3, 70001, { flows: 1, dstPort: 8443 }),
            // seen leaving an outsider's own interface: the same flows, not counted twice
            start(2, 70001, { flows: 3, direction: EGRESS }),
            // a known source is not an unknown one
            start(70000, 70001, { flows: 9 }),
          ],
        }),
      ),
      identityStatus: new FakeIdentityStatus(),
      build: { version: '0', node: 'v20' },
      processMetrics: false,
    });
    expect(samplesOf(await registry.metrics(), 'flowlens_unknown_source_flows_total')).toEqual([
      'flowlens_unknown_source_flows_total{destination_namespace="shop",destination_workload="cart",source_class="world",destination_port="443",verdict="forwarded"} 3',
      'flowlens_unknown_source_flows_total{destination_namespace="shop",destination_workload="cart",source_class="world",destination_port="443",verdict="dropped"} 2',
      'flowlens_unknown_source_flows_total{destination_namespace="shop",destination_workload="cart",source_class="unmanaged",destination_port="1024-49151",verdict="forwarded"} 1',
    ]);
  });
});
