import { describe, expect, it } from 'vitest';
import { IdentityExpiry } from '../../../src/metrics/core/identity-ttl.js';
import { createMetrics } from '../../../src/metrics/core/registry.js';
import type { IdentityContext, IdentityLookup } from '../../../src/identity/contexts.js';
import { emptySnapshot, FakeDatapath, FakeIdentities, FakeIdentityStatus, samplesOf } from '../../common/metrics-fakes.js';

const TCP = 6;
const EGRESS = 2;
const FORWARDED = 1;
const WORLD = 2;

/** FakeIdentities whose workloads can be removed, as a source forgets a deleted workload. */
class ChurningIdentities implements IdentityLookup {
  readonly inner = new FakeIdentities();
  readonly gone = new Set<number>();
  context(id: number): IdentityContext {
    return this.inner.context(id);
  }
  known(id: number): boolean {
    return id < 65536 || !this.gone.has(id);
  }
}

const traffic = (src: number, dst: number, packets: number) =>
  ({ srcIdentity: src, dstIdentity: dst, protocol: TCP, direction: EGRESS, verdict: FORWARDED, packets, bytes: packets * 100 });

function setup(seriesLimit = 100) {
  let clock = 5_000_000;
  const identities = new ChurningIdentities();
  identities.inner
    .add(70000, { namespace: 'shop', workload: 'frontend' })
    .add(70001, { namespace: 'shop', workload: 'frontend-old' })
    .add(70002, { namespace: 'shop', workload: 'cart' });
  const datapath = new FakeDatapath(emptySnapshot({
    traffic: [traffic(70000, WORLD, 5), traffic(70001, WORLD, 7), traffic(70002, 70001, 3)],
  }));
  const registry = createMetrics({
    config: { contexts: ['workload'], seriesLimit, destinationPorts: [], identityTtlSeconds: 300 },
    identities,
    datapath,
    identityStatus: new FakeIdentityStatus(),
    build: { version: '1', commit: 'x', node: 'v20' },
    processMetrics: false,
    now: () => clock,
  });
  return { registry, identities, datapath, advance: (ms: number) => (clock += ms) };
}

const packets = async (registry: ReturnType<typeof setup>['registry']) => samplesOf(await registry.metrics(), 'flowlens_packets_total');

describe('identity TTL for series', () => {
  it('drops every series of an identity unknown for the TTL, and only then', async () => {
    const { registry, identities, advance } = setup();
    const all = [
      'flowlens_packets_total{source_workload="frontend",destination_workload="reserved:world",protocol="tcp",direction="egress",verdict="forwarded"} 5',
      'flowlens_packets_total{source_workload="frontend-old",destination_workload="reserved:world",protocol="tcp",direction="egress",verdict="forwarded"} 7',
      'flowlens_packets_total{source_workload="cart",destination_workload="frontend-old",protocol="tcp",direction="egress",verdict="forwarded"} 3',
    ];
    expect(await packets(registry)).toEqual(all);

    identities.gone.add(70001); // its workload was deleted: the counters stay in the kernel
    expect(await packets(registry)).toEqual(all);
    advance(299_999);
    expect(await packets(registry)).toEqual(all);
    advance(1);
    // as source and as destination
    expect(await packets(registry)).toEqual([all[0]]);
    expect(samplesOf(await registry.metrics(), 'flowlens_bytes_total')).toHaveLength(1);
  });

  it('counts an identity that comes back again', async () => {
    const { registry, identities, advance } = setup();
    identities.gone.add(70001);
    await packets(registry);
    advance(300_000);
    expect(await packets(registry)).toHaveLength(1);
    identities.gone.delete(70001);
    expect(await packets(registry)).toHaveLength(3);
    // and its TTL starts over when it goes again
    identities.gone.add(70001);
    await packets(registry);
    advance(299_000);
    expect(await packets(registry)).toHaveLength(3);
  });

  it('gives the slots of expired series back to the series limit', async () => {
    const { registry, identities, datapath, advance } = setup(2);
    expect((await packets(registry)).map((l) => l.split('{')[1]!.split(',')[0])).toEqual([
      'source_workload="frontend"', 'source_workload="frontend-old"', 'source_workload="overflow"',
    ]);
    identities.gone.add(70001);
    await packets(registry);
    advance(300_000);
    // cart -> frontend-old is expired too; a new workload takes a freed slot instead of overflowing
    identities.inner.add(70003, { namespace: 'shop', workload: 'checkout' });
    datapath.current = emptySnapshot({ traffic: [...datapath.current.traffic, traffic(70003, WORLD, 9)] });
    // the scrape that finds the expiry frees the slots after its records were placed ...
    expect((await packets(registry)).map((l) => l.split('{')[1]!.split(',')[0])).toEqual([
      'source_workload="frontend"', 'source_workload="overflow"',
    ]);
    // ... so the new workload has its own series from the next one on
    expect(await packets(registry)).toEqual([
      'flowlens_packets_total{source_workload="frontend",destination_workload="reserved:world",protocol="tcp",direction="egress",verdict="forwarded"} 5',
      'flowlens_packets_total{source_workload="checkout",destination_workload="reserved:world",protocol="tcp",direction="egress",verdict="forwarded"} 9',
    ]);
  });

  it('never expires reserved identities, and keeps everything without a known() check', () => {
    let clock = 0;
    const withKnown = new IdentityExpiry({ context: () => ({}) as IdentityContext, known: (id) => id < 65536 }, 1000, () => clock);
    expect(withKnown.expired(2)).toBe(false);
    expect(withKnown.expired(70000)).toBe(false);
    clock = 1000;
    expect(withKnown.expired(2)).toBe(false);
    expect(withKnown.expired(70000)).toBe(true);
    expect(withKnown.unknownCount).toBe(1);
    const without = new IdentityExpiry({ context: () => ({}) as IdentityContext }, 1000, () => clock);
    clock = 10_000;
    expect(without.expired(70000)).toBe(false);
  });
});
