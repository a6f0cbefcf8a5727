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

describe('identity TTL for the DNS and HTTP latency histograms', () => {
  const DNS = 'flowlens_dns_response_duration_seconds';
  const HTTP = 'flowlens_http_request_duration_seconds';
  const slots = (n: number, at: number) => Array.from({ length: n }, (_, i) => (i === at ? 1 : 0));

  function histogramSetup() {
    let clock = 5_000_000;
    const identities = new ChurningIdentities();
    identities.inner
      .add(70000, { namespace: 'shop', workload: 'frontend' })
      .add(70001, { namespace: 'shop', workload: 'frontend-old' })
      .add(70002, { namespace: 'kube-system', workload: 'coredns' });
    const dnsResponse = (src: number) =>
      ({ srcIdentity: src, dstIdentity: 70002, qtype: 1, rcode: 0, reporter: 1, responses: 1, latencySumSeconds: 0.001, latencyBuckets: slots(14, 1) });
    const httpResponse = (src: number) =>
      ({ srcIdentity: src, dstIdentity: 70002, method: 'GET', status: 200, reporter: 'client' as const, count: 1, buckets: slots(14, 0), durationSeconds: 0.0005 });
    const datapath = new FakeDatapath(emptySnapshot({
      dns: { queries: [], responses: [dnsResponse(70000), dnsResponse(70001)], malformed: [] },
      httpResponses: [httpResponse(70000), httpResponse(70001)],
    }));
    const registry = createMetrics({
      // a limit of 2: the slot an expired series gives back is visible
      config: { contexts: ['workload'], seriesLimit: 2, destinationPorts: [], identityTtlSeconds: 300 },
      identities,
      datapath,
      identityStatus: new FakeIdentityStatus(),
      build: { version: '1', commit: 'x', node: 'v20' },
      processMetrics: false,
      now: () => clock,
    });
    return { registry, identities, datapath, dnsResponse, httpResponse, advance: (ms: number) => (clock += ms) };
  }

  /** The source workload of each _count series of `family`. */
  const sources = (text: string, family: string) =>
    samplesOf(text, `${family}_count`).map((l) => /source_workload="([^"]*)"/.exec(l)![1]);

  it('drops the series of an expired identity from both, bucket, sum and count lines alike', async () => {
    const { registry, identities, advance } = histogramSetup();
    let text = await registry.metrics();
    expect(sources(text, DNS)).toEqual(['frontend', 'frontend-old']);
    expect(sources(text, HTTP)).toEqual(['frontend', 'frontend-old']);

    identities.gone.add(70001);
    for (const wait of [0, 299_999]) {
      advance(wait);
      text = await registry.metrics();
      expect(sources(text, DNS)).toEqual(['frontend', 'frontend-old']);
      expect(sources(text, HTTP)).toEqual(['frontend', 'frontend-old']);
    }

    advance(1);
    text = await registry.metrics();
    for (const family of [DNS, HTTP]) {
      expect(sources(text, family)).toEqual(['frontend']);
      const lines = text.split('\n').filter((l) => l.startsWith(`${family}_`));
      expect(lines).toHaveLength(14 + 2);
      expect(lines.some((l) => l.includes('frontend-old'))).toBe(false);
    }
  });

  it('gives the slots of expired histogram series back to the series limit', async () => {
    const { registry, identities, datapath, dnsResponse, httpResponse, advance } = histogramSetup();
    identities.gone.add(70001);
    await registry.metrics();
    advance(300_000);
    identities.inner.add(70003, { namespace: 'shop', workload: 'checkout' });
    datapath.current = emptySnapshot({
      dns: { queries: [], responses: [dnsResponse(70000), dnsResponse(70001), dnsResponse(70003)], malformed: [] },
      httpResponses: [httpResponse(70000), httpResponse(70001), httpResponse(70003)],
    });
    // the scrape that finds the expiry places checkout before the slot is freed ...
    let text = await registry.metrics();
    expect(sources(text, DNS)).toEqual(['frontend', 'overflow']);
    expect(sources(text, HTTP)).toEqual(['frontend', 'overflow']);
    // ... and checkout has its own series from the next scrape on
    text = await registry.metrics();
    expect(sources(text, DNS)).toEqual(['frontend', 'checkout']);
    expect(sources(text, HTTP)).toEqual(['frontend', 'checkout']);
  });
});
