// The whole /metrics text for one representative snapshot, in both formats,
// compared byte for byte with a stored rendering: a change to how a family
// reaches prom-client must not change what a scraper reads. The snapshot
// exercises every family, records that sum into one series, the kernel's
// overflow key, and the series limit. A deliberate change of the text is
// made by updating the fixtures (vitest -u) and saying why in the commit.

import { describe, expect, it } from 'vitest';
import { DnsFlag } from '../../../src/bpf/codecs.js';
import { renderExposition } from '../../../src/metrics/core/exposition.js';
import { SuffixFolder } from '../../../src/metrics/dns-name-folders.js';
import { DnsQueryNames } from '../../../src/metrics/dns-names.js';
import { createMetrics } from '../../../src/metrics/core/registry.js';
import { OVERFLOW_IDENTITY, type DatapathSnapshot } from '../../../src/datapath/records.js';
import { dnsName } from '../../common/dns.js';
import { emptySnapshot, FakeDatapath, FakeIdentities, FakeIdentityStatus } from '../../common/metrics-fakes.js';

const FRONTEND = 70000;
const CART = 70001;
const COREDNS = 70002;
const WORLD = 2;
const OVER = OVERFLOW_IDENTITY;

/** Non-cumulative buckets of `length` slots with `n` observations in slot `slot`. */
function buckets(length: number, ...slots: Array<[slot: number, n: number]>): number[] {
  const b = new Array<number>(length).fill(0);
  for (const [slot, n] of slots) b[slot] = n;
  return b;
}

const SNAPSHOT: DatapathSnapshot = emptySnapshot({
  traffic: [
    { srcIdentity: FRONTEND, dstIdentity: CART, protocol: 6, direction: 2, verdict: 1, packets: 10, bytes: 1000 },
    // same labels as the first: summed into one series
    { srcIdentity: FRONTEND, dstIdentity: CART, protocol: 6, direction: 2, verdict: 1, packets: 5, bytes: 500 },
    { srcIdentity: CART, dstIdentity: FRONTEND, protocol: 6, direction: 1, verdict: 1, packets: 7, bytes: 700 },
    { srcIdentity: FRONTEND, dstIdentity: WORLD, protocol: 17, direction: 2, verdict: 2, packets: 3, bytes: 300 },
    // beyond the series limit of 3
    { srcIdentity: WORLD, dstIdentity: FRONTEND, protocol: 1, direction: 1, verdict: 1, packets: 2, bytes: 200 },
    { srcIdentity: OVER, dstIdentity: OVER, protocol: 0, direction: 0, verdict: 0, packets: 4, bytes: 400 },
  ],
  starts: [
    { srcIdentity: FRONTEND, dstIdentity: CART, protocol: 6, dstPort: 8080, direction: 2, verdict: 1, flows: 3 },
    { srcIdentity: WORLD, dstIdentity: FRONTEND, protocol: 6, dstPort: 443, direction: 1, verdict: 2, flows: 1 },
  ],
  tcpFlags: [{ srcIdentity: FRONTEND, dstIdentity: CART, flag: 1, direction: 2, count: 3 }],
  retransmits: [{ srcIdentity: CART, dstIdentity: FRONTEND, segments: 2 }],
  drops: [
    { srcIdentity: WORLD, dstIdentity: FRONTEND, reason: 'NETFILTER_DROP', reasonClass: 'policy', protocol: 6, dstPort: 443, direction: 1, packets: 4 },
    { srcIdentity: 0, dstIdentity: 0, reason: 'PKT_TOO_SMALL', reasonClass: 'malformed', protocol: 0, dstPort: 0, direction: 1, packets: 1 },
  ],
  connectionAttempts: [
    { srcIdentity: FRONTEND, dstIdentity: CART, dstPort: 8080, direction: 2, outcome: 'established', count: 3 },
    { srcIdentity: FRONTEND, dstIdentity: CART, dstPort: 9090, direction: 2, outcome: 'refused', count: 1 },
  ],
  httpRequests: [
    { srcIdentity: FRONTEND, dstIdentity: CART, method: 'GET', reporter: 'client', count: 6 },
    { srcIdentity: FRONTEND, dstIdentity: CART, method: 'POST', reporter: 'server', count: 2 },
  ],
  httpResponses: [
    { srcIdentity: FRONTEND, dstIdentity: CART, method: 'GET', status: 200, reporter: 'client', count: 4, buckets: buckets(14, [0, 2], [5, 2]), durationSeconds: 0.0625 },
    // same status class: the same histogram series
    { srcIdentity: FRONTEND, dstIdentity: CART, method: 'GET', status: 204, reporter: 'client', count: 1, buckets: buckets(14, [13, 1]), durationSeconds: 12.5 },
    // untimed: a counter series, no histogram series
    { srcIdentity: FRONTEND, dstIdentity: CART, method: 'unknown', status: 502, reporter: 'client', count: 2, buckets: buckets(14), durationSeconds: 0 },
    { srcIdentity: OVER, dstIdentity: OVER, method: 'GET', status: 500, reporter: 'server', count: 1, buckets: buckets(14, [2, 1]), durationSeconds: 0.004 },
    { srcIdentity: CART, dstIdentity: FRONTEND, method: 'PUT', status: 404, reporter: 'server', count: 1, buckets: buckets(14, [1, 1]), durationSeconds: 0.002 },
    { srcIdentity: CART, dstIdentity: FRONTEND, method: 'PUT', status: 500, reporter: 'server', count: 1, buckets: buckets(14, [3, 1]), durationSeconds: 0.0075 },
  ],
  httpMessages: [
    { reason: 'unmatched_response', count: 2 },
    { reason: 'retransmit', count: 0 },
  ],
  parsePackets: [
    { reason: 'not_ip', count: 12 },
    { reason: 'ipv4_truncated', count: 1 },
    { reason: 'not_ip', count: 3 },
  ],
  eventsLost: [
    { source: 'flow', reason: 'rate_limit', count: 5 },
    { source: 'dns', reason: 'ring_full', count: 0 },
  ],
  maps: [
    { map: 'flow_traffic', entries: 6, capacity: 65536 },
    { map: 'dns_pending', entries: 0, capacity: 4096 },
  ],
  mapUpdateErrors: [{ map: 'flow_traffic', count: 1 }],
  programs: [{ program: 'flowlens_tc', runs: 1234, runSeconds: 0.0125 }],
  attachedInterfaces: 3,
  dns: {
    queries: [
      { srcIdentity: FRONTEND, dstIdentity: COREDNS, qtype: 1, reporter: 1, count: 5 },
      { srcIdentity: FRONTEND, dstIdentity: COREDNS, qtype: 28, reporter: 1, count: 2 },
    ],
    responses: [
      { srcIdentity: FRONTEND, dstIdentity: COREDNS, qtype: 1, rcode: 0, reporter: 1, responses: 5, latencySumSeconds: 0.0125, latencyBuckets: buckets(14, [1, 3], [4, 1]) },
      // unmatched responses: counted, not observed
      { srcIdentity: FRONTEND, dstIdentity: COREDNS, qtype: 28, rcode: 3, reporter: 1, responses: 2, latencySumSeconds: 0, latencyBuckets: buckets(14) },
      { srcIdentity: OVER, dstIdentity: OVER, qtype: 1, rcode: 0, reporter: 2, responses: 1, latencySumSeconds: 6, latencyBuckets: buckets(14, [13, 1]) },
      { srcIdentity: CART, dstIdentity: COREDNS, qtype: 1, rcode: 2, reporter: 2, responses: 1, latencySumSeconds: 0.003, latencyBuckets: buckets(14, [3, 1]) },
      { srcIdentity: FRONTEND, dstIdentity: COREDNS, qtype: 33, rcode: 0, reporter: 2, responses: 1, latencySumSeconds: 0.2, latencyBuckets: buckets(14, [8, 1]) },
    ],
    malformed: [
      { reason: 'header_truncated', count: 0 },
      { reason: 'compression_pointer', count: 3 },
    ],
  },
});

function registry() {
  const identities = new FakeIdentities()
    .add(FRONTEND, { namespace: 'shop', workload: 'frontend' })
    .add(CART, { namespace: 'shop', workload: 'cart' })
    .add(COREDNS, { namespace: 'kube-system', workload: 'coredns' });
  const names = new DnsQueryNames(new SuffixFolder(['example.com']), 3, () => 0);
  const wire = dnsName('api.example.com');
  const qname = Buffer.alloc(128);
  wire.copy(qname);
  for (const flags of [0, 0, DnsFlag.UNANSWERED]) {
    names.observe({ srcIdentity: FRONTEND, dstIdentity: COREDNS, qtype: 1, rcode: 0, reporter: 1, flags, qnameLen: wire.length, qname });
  }
  return createMetrics({
    config: { contexts: ['namespace', 'workload'], seriesLimit: 3, destinationPorts: [443, 8080] },
    identities,
    datapath: new FakeDatapath(SNAPSHOT),
    identityStatus: new FakeIdentityStatus([
      { source: 'static', up: true, identities: 3, reloadFailures: 1 },
      { source: 'kubernetes', up: false, identities: 0, reloadFailures: 0, watchRestarts: 2, lastSyncSeconds: 1764800000 },
    ]),
    build: { version: '1.2.3', commit: 'abc1234', node: 'v20.20.2' },
    flowStore: {
      store: () => ({ capacity: 1000, records: 12, received: 40, evicted: 28, bytes: 4096 }),
      streams: () => 1,
      streamSkipped: () => 0,
    },
    spans: { exported: 9, dropped: { queue_full: 2 } },
    dnsNames: names,
    processMetrics: false,
  });
}

describe('/metrics exposition of a representative snapshot', () => {
  it('renders the Prometheus text format as stored, scrape after scrape', async () => {
    const reg = registry();
    const first = (await renderExposition(reg, 'prometheus')).body;
    await expect(first).toMatchFileSnapshot('./fixtures/exposition.prom');
    expect((await renderExposition(reg, 'prometheus')).body).toBe(first);
  });

  it('renders OpenMetrics as stored, scrape after scrape', async () => {
    const reg = registry();
    const first = (await renderExposition(reg, 'openmetrics')).body;
    await expect(first).toMatchFileSnapshot('./fixtures/exposition.openmetrics');
    expect((await renderExposition(reg, 'openmetrics')).body).toBe(first);
  });
});
