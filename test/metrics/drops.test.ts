import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/core/registry.js';
import type { DropRecord } from '../../src/datapath/records.js';
import { emptySnapshot, FakeDatapath, FakeIdentities, FakeIdentityStatus, samplesOf } from '../common/metrics-fakes.js';

const drop = (over: Partial<DropRecord>): DropRecord => ({
  srcIdentity: 70000,
  dstIdentity: 70001,
  reason: 'netfilter_drop',
  reasonClass: 'policy',
  protocol: 6,
  dstPort: 8080,
  direction: 1,
  packets: 1,
  ...over,
});

describe('flowlens_drops_total', () => {
  it('renders reason, class, protocol and direction per identity pair, summing ports the family does not label', async () => {
    const identities = new FakeIdentities()
      .add(70000, { namespace: 'shop', workload: 'frontend' })
      .add(70001, { namespace: 'shop', workload: 'cart' });
    const datapath = new FakeDatapath(
      emptySnapshot({
        drops: [
          drop({ packets: 3 }),
          drop({ dstPort: 9090, packets: 2 }),
          drop({ srcIdentity: 0, dstIdentity: 0, reason: 'not_specified', reasonClass: 'other', protocol: 0, direction: 0, dstPort: 0, packets: 4 }),
        ],
      }),
    );
    const registry = createMetrics({
      config: { contexts: ['workload', 'identity'], seriesLimit: 100, destinationPorts: [] },
      identities,
      datapath,
      identityStatus: new FakeIdentityStatus(),
      build: { version: '0', node: 'v20' },
      processMetrics: false,
    });
    expect(samplesOf(await registry.metrics(), 'flowlens_drops_total')).toEqual([
      'flowlens_drops_total{source_workload="frontend",source_identity="70000",destination_workload="cart",destination_identity="70001",reason="netfilter_drop",reason_class="policy",protocol="tcp",direction="ingress"} 5',
      'flowlens_drops_total{source_workload="",source_identity="0",destination_workload="",destination_identity="0",reason="not_specified",reason_class="other",protocol="unknown",direction="unknown"} 4',
    ]);
  });
});
