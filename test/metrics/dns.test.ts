import { describe, expect, it } from 'vitest';
import { DNS_LATENCY_BUCKETS } from '../../src/bpf/codecs.js';
import { qtypeLabel, rcodeLabel } from '../../src/datapath/code-names.js';
import { createMetrics } from '../../src/metrics/core/registry.js';
import type { DnsSnapshot } from '../../src/datapath/records.js';
import { emptySnapshot, FakeDatapath, FakeIdentities, FakeIdentityStatus, samplesOf } from '../common/metrics-fakes.js';

const CLIENT = 70000;
const RESOLVER = 70001;
const CLIENT_SIDE = 1;
const SERVER_SIDE = 2;

function setup(dns: DnsSnapshot | undefined, seriesLimit = 100) {
  const identities = new FakeIdentities()
    .add(CLIENT, { namespace: 'shop', workload: 'frontend' })
    .add(RESOLVER, { namespace: 'kube-system', workload: 'coredns' });
  const datapath = new FakeDatapath(emptySnapshot({ dns }));
  const registry = createMetrics({
    config: { contexts: ['namespace', 'workload'], seriesLimit, destinationPorts: [] },
    identities,
    datapath,
    identityStatus: new FakeIdentityStatus(),
    build: { version: '1.2.3', node: 'v20' },
    processMetrics: false,
  });
  return { registry, datapath };
}

const PAIR = 'source_namespace="shop",source_workload="frontend",destination_namespace="kube-system",destination_workload="coredns"';

/** Non-cumulative buckets with `n` observations in slot `slot`. */
function buckets(...slots: Array<[slot: number, n: number]>): number[] {
  const b = new Array<number>(DNS_LATENCY_BUCKETS).fill(0);
  for (const [slot, n] of slots) b[slot] = n;
  return b;
}

describe('DNS families', () => {
  it('queries, responses and the latency histogram by qtype, rcode and reporter', async () => {
    const { registry } = setup({
      queries: [
        { srcIdentity: CLIENT, dstIdentity: RESOLVER, qtype: 1, reporter: CLIENT_SIDE, count: 5 },
        { srcIdentity: CLIENT, dstIdentity: RESOLVER, qtype: 1, reporter: SERVER_SIDE, count: 5 },
        { srcIdentity: CLIENT, dstIdentity: RESOLVER, qtype: 28, reporter: CLIENT_SIDE, count: 2 },
      ],
      responses: [
        // 0.5 ms < t <= 1 ms twice, 5 s < t once
        { srcIdentity: CLIENT, dstIdentity: RESOLVER, qtype: 1, rcode: 3, reporter: CLIENT_SIDE, responses: 4, latencySumSeconds: 6.0015, latencyBuckets: buckets([1, 2], [13, 1]) },
        // responses never matched: counted, not observed
        { srcIdentity: CLIENT, dstIdentity: RESOLVER, qtype: 28, rcode: 0, reporter: CLIENT_SIDE, responses: 2, latencySumSeconds: 0, latencyBuckets: buckets() },
      ],
      malformed: [
        { reason: 'header_truncated', count: 0 },
        { reason: 'compression_pointer', count: 3 },
      ],
    });
    const text = await registry.metrics();
    expect(samplesOf(text, 'flowlens_dns_queries_total').sort()).toEqual([
      `flowlens_dns_queries_total{${PAIR},qtype="A",reporter="client"} 5`,
      `flowlens_dns_queries_total{${PAIR},qtype="A",reporter="server"} 5`,
      `flowlens_dns_queries_total{${PAIR},qtype="AAAA",reporter="client"} 2`,
    ]);
    expect(samplesOf(text, 'flowlens_dns_responses_total').sort()).toEqual([
      `flowlens_dns_responses_total{${PAIR},qtype="A",rcode="NXDOMAIN",reporter="client"} 4`,
      `flowlens_dns_responses_total{${PAIR},qtype="AAAA",rcode="NOERROR",reporter="client"} 2`,
    ]);
    const labels = `${PAIR},qtype="A",rcode="NXDOMAIN",reporter="client"`;
    const histogram = text.split('\n').filter((l) => l.startsWith('flowlens_dns_response_duration_seconds'));
    expect(histogram).toEqual([
      ...['0.0005', '0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '+Inf'].map(
        (le, i) => `flowlens_dns_response_duration_seconds_bucket{${labels},le="${le}"} ${i === 0 ? 0 : i < 13 ? 2 : 3}`,
      ),
      `flowlens_dns_response_duration_seconds_sum{${labels}} 6.0015`,
      `flowlens_dns_response_duration_seconds_count{${labels}} 3`,
    ]);
    expect(text).toContain('# TYPE flowlens_dns_response_duration_seconds histogram');
    expect(samplesOf(text, 'flowlens_dns_malformed_messages_total')).toEqual([
      'flowlens_dns_malformed_messages_total{reason="header_truncated"} 0',
      'flowlens_dns_malformed_messages_total{reason="compression_pointer"} 3',
    ]);
  });

  it('no DNS in the snapshot: no DNS series', async () => {
    const { registry } = setup(undefined);
    const text = await registry.metrics();
    expect(samplesOf(text, 'flowlens_dns_queries_total')).toEqual([]);
    expect(text.split('\n').filter((l) => l.startsWith('flowlens_dns_response_duration_seconds'))).toEqual([]);
  });

  it('histogram series over the limit go to the overflow series, summed', async () => {
    const other = 70002;
    const { registry } = setup(
      {
        queries: [],
        malformed: [],
        responses: [
          { srcIdentity: CLIENT, dstIdentity: RESOLVER, qtype: 1, rcode: 0, reporter: 1, responses: 1, latencySumSeconds: 0.001, latencyBuckets: buckets([1, 1]) },
          { srcIdentity: other, dstIdentity: RESOLVER, qtype: 1, rcode: 0, reporter: 1, responses: 1, latencySumSeconds: 0.002, latencyBuckets: buckets([2, 1]) },
          { srcIdentity: other, dstIdentity: RESOLVER, qtype: 28, rcode: 0, reporter: 1, responses: 1, latencySumSeconds: 0.003, latencyBuckets: buckets([3, 1]) },
        ],
      },
      1,
    );
    const text = await registry.metrics();
    const counts = text.split('\n').filter((l) => l.startsWith('flowlens_dns_response_duration_seconds_count'));
    expect(counts).toEqual([
      `flowlens_dns_response_duration_seconds_count{source_namespace="shop",source_workload="frontend",destination_namespace="kube-system",destination_workload="coredns",qtype="A",rcode="NOERROR",reporter="client"} 1`,
      `flowlens_dns_response_duration_seconds_count{source_namespace="overflow",source_workload="overflow",destination_namespace="overflow",destination_workload="overflow",qtype="overflow",rcode="overflow",reporter="overflow"} 2`,
    ]);
    expect(samplesOf(text, 'flowlens_series_limited_total').find((l) => l.includes('dns_response_duration'))).toBe(
      'flowlens_series_limited_total{family="flowlens_dns_response_duration_seconds"} 2',
    );
  });

  it('labels: IANA mnemonics, RFC 3597 names for the rest', () => {
    expect([qtypeLabel(1), qtypeLabel(28), qtypeLabel(33), qtypeLabel(12), qtypeLabel(65), qtypeLabel(4242)]).toEqual(['A', 'AAAA', 'SRV', 'PTR', 'HTTPS', 'TYPE4242']);
    expect([rcodeLabel(0), rcodeLabel(2), rcodeLabel(3), rcodeLabel(15)]).toEqual(['NOERROR', 'SERVFAIL', 'NXDOMAIN', 'RCODE15']);
  });
});
