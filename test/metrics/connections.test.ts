import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/core/registry.js';
import type { ConnectionAttemptRecord } from '../../src/datapath/records.js';
import { emptySnapshot, FakeDatapath, FakeIdentities, FakeIdentityStatus, samplesOf } from '../common/metrics-fakes.js';

const FAMILY = 'flowlens_tcp_connection_attempts_total';

const attempt = (over: Partial<ConnectionAttemptRecord>): ConnectionAttemptRecord => ({
  srcIdentity: 70000,
  dstIdentity: 70001,
  dstPort: 8080,
  direction: 2,
  outcome: 'established',
  count: 1,
  ...over,
});

function render(attempts: ConnectionAttemptRecord[], destinationPorts: number[]): Promise<string> {
  const identities = new FakeIdentities()
    .add(70000, { namespace: 'shop', workload: 'frontend' })
    .add(70001, { namespace: 'shop', workload: 'cart' });
  const registry = createMetrics({
    config: { contexts: ['workload'], seriesLimit: 100, destinationPorts },
    identities,
    datapath: new FakeDatapath(emptySnapshot({ connectionAttempts: attempts })),
    identityStatus: new FakeIdentityStatus(),
    build: { version: '0', node: 'v20' },
    processMetrics: false,
  });
  return registry.metrics();
}

describe(FAMILY, () => {
  it('renders outcome, destination port and direction per workload pair, folding unlisted ports like flows_total', async () => {
    const text = await render(
      [
        attempt({ count: 5 }),
        attempt({ dstPort: 9090, count: 2 }), // folded into 1024-49151 with nothing else
        attempt({ dstPort: 9091, count: 3 }), // ... summed with the line above
        attempt({ outcome: 'refused', dstPort: 7000, count: 4 }),
        attempt({ outcome: 'unanswered', dstPort: 8080, direction: 1, count: 6 }),
        attempt({ srcIdentity: 2, dstIdentity: 70001, outcome: 'refused', dstPort: 22, direction: 1, count: 1 }),
      ],
      [8080],
    );
    expect(samplesOf(text, FAMILY)).toEqual([
      `${FAMILY}{source_workload="frontend",destination_workload="cart",outcome="established",destination_port="8080",direction="egress"} 5`,
      `${FAMILY}{source_workload="frontend",destination_workload="cart",outcome="established",destination_port="1024-49151",direction="egress"} 5`,
      `${FAMILY}{source_workload="frontend",destination_workload="cart",outcome="refused",destination_port="1024-49151",direction="egress"} 4`,
      `${FAMILY}{source_workload="frontend",destination_workload="cart",outcome="unanswered",destination_port="8080",direction="ingress"} 6`,
      `${FAMILY}{source_workload="reserved:world",destination_workload="cart",outcome="refused",destination_port="1-1023",direction="ingress"} 1`,
    ]);
    expect(text).toContain(`# TYPE ${FAMILY} counter`);
  });

  it('has no samples without attempts', async () => {
    expect(samplesOf(await render([], []), FAMILY)).toEqual([]);
  });
});
