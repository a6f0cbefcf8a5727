import { describe, expect, it } from 'vitest';
import { DnsFlag } from '../../src/bpf/codecs.js';
import { OTHER_NAME } from '../../src/config/dns-query-names.js';
import { SuffixFolder, TopFolder, TopNames } from '../../src/metrics/dns-name-folders.js';
import { DnsQueryNames, type DnsExchangeInput } from '../../src/metrics/dns-names.js';
import { createMetrics } from '../../src/metrics/core/registry.js';
import { dnsName, QTYPE, RCODE } from '../common/dns.js';
import { emptySnapshot, FakeDatapath, FakeIdentities, FakeIdentityStatus, samplesOf } from '../common/metrics-fakes.js';

const CLIENT = 70000;
const RESOLVER = 70001;
const OTHER_CLIENT = 70002;
const CLIENT_SIDE = 1;
const SERVER_SIDE = 2;
const FAMILY = 'flowlens_dns_queries_by_name_total';

function exchange(name: string, opts: Partial<Omit<DnsExchangeInput, 'qname' | 'qnameLen'>> = {}): DnsExchangeInput {
  const wire = dnsName(name);
  // the event's buffer is always FLOWLENS_DNS_NAME_MAX bytes; qnameLen says how many count
  const qname = Buffer.alloc(128);
  wire.copy(qname, 0, 0, Math.min(wire.length, 128));
  return {
    srcIdentity: CLIENT,
    dstIdentity: RESOLVER,
    qtype: QTYPE.A,
    rcode: RCODE.NOERROR,
    reporter: CLIENT_SIDE,
    flags: 0,
    qnameLen: Math.min(wire.length, 128),
    qname,
    ...opts,
  };
}

/** An identity lookup whose identities can be forgotten, for metrics.identityTtlSeconds. */
class ForgettingIdentities extends FakeIdentities {
  readonly gone = new Set<number>();
  known(id: number): boolean {
    return !this.gone.has(id);
  }
}

function setup(names: DnsQueryNames, seriesLimit = 100, identityTtlSeconds?: number) {
  const identities = new ForgettingIdentities()
    .add(CLIENT, { namespace: 'shop', workload: 'frontend' })
    .add(OTHER_CLIENT, { namespace: 'shop', workload: 'backend' })
    .add(RESOLVER, { namespace: 'kube-system', workload: 'coredns' });
  let now = 0;
  const registry = createMetrics({
    config: { contexts: ['namespace', 'workload'], seriesLimit, destinationPorts: [], ...(identityTtlSeconds !== undefined ? { identityTtlSeconds } : {}) },
    identities,
    datapath: new FakeDatapath(emptySnapshot()),
    identityStatus: new FakeIdentityStatus(),
    build: { version: '1.2.3', node: 'v20' },
    processMetrics: false,
    dnsNames: names,
    now: () => now,
  });
  return { registry, identities, setNow: (t: number) => (now = t) };
}

const PAIR = 'source_namespace="shop",source_workload="frontend",destination_namespace="kube-system",destination_workload="coredns"';

describe(FAMILY, () => {
  it('counts exchanges by suffix, qtype, rcode and reporter; other for the rest and for truncated names', async () => {
    const names = new DnsQueryNames(new SuffixFolder(['example.com', 'api.example.com', 'cluster.local']), 100);
    const { registry } = setup(names);
    names.observe(exchange('www.example.com'));
    names.observe(exchange('mail.example.com'));
    names.observe(exchange('WWW.Example.COM', { reporter: SERVER_SIDE }));
    names.observe(exchange('v1.api.example.com', { qtype: QTYPE.AAAA }));
    names.observe(exchange('badexample.com', { rcode: RCODE.NXDOMAIN }));
    names.observe(exchange('example.org', { rcode: RCODE.NXDOMAIN }));
    names.observe(exchange('db.svc.cluster.local', { qtype: QTYPE.SRV, flags: DnsFlag.UNANSWERED }));
    // over 128 bytes in the kernel: the tail that holds the suffix is cut off
    names.observe(exchange(`${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(20)}.example.com`, { flags: DnsFlag.NAME_TRUNCATED }));

    const text = await registry.metrics();
    expect(samplesOf(text, FAMILY).sort()).toEqual([
      `${FAMILY}{${PAIR},qname="api.example.com",qtype="AAAA",rcode="NOERROR",reporter="client"} 1`,
      `${FAMILY}{${PAIR},qname="cluster.local",qtype="SRV",rcode="unanswered",reporter="client"} 1`,
      `${FAMILY}{${PAIR},qname="example.com",qtype="A",rcode="NOERROR",reporter="client"} 2`,
      `${FAMILY}{${PAIR},qname="example.com",qtype="A",rcode="NOERROR",reporter="server"} 1`,
      `${FAMILY}{${PAIR},qname="other",qtype="A",rcode="NOERROR",reporter="client"} 1`,
      `${FAMILY}{${PAIR},qname="other",qtype="A",rcode="NXDOMAIN",reporter="client"} 2`,
    ]);
    expect(text).toContain(`# TYPE ${FAMILY} counter`);
    expect(names.exchanges).toBe(8);

    // counts accumulate across scrapes
    names.observe(exchange('www.example.com'));
    expect(samplesOf(await registry.metrics(), FAMILY)).toContain(
      `${FAMILY}{${PAIR},qname="example.com",qtype="A",rcode="NOERROR",reporter="client"} 3`,
    );
  });

  it('is absent unless query names are on', async () => {
    expect(DnsQueryNames.fromConfig({ mode: 'off', suffixes: ['example.com'], top: 10 }, 100)).toBeNull();
    const registry = createMetrics({
      config: { contexts: ['namespace'], seriesLimit: 100, destinationPorts: [] },
      identities: new FakeIdentities(),
      datapath: new FakeDatapath(emptySnapshot()),
      identityStatus: new FakeIdentityStatus(),
      build: { version: '1', node: 'v20' },
      processMetrics: false,
    });
    expect(await registry.metrics()).not.toContain(FAMILY);
  });

  it('keys beyond the series limit go to the overflow series and are counted as refused once each', async () => {
    const names = new DnsQueryNames(new SuffixFolder(['example.com']), 2);
    const { registry } = setup(names, 2);
    names.observe(exchange('a.example.com'));
    names.observe(exchange('b.example.org'));
    // a third key, twice, and a fourth: no room
    names.observe(exchange('a.example.com', { qtype: QTYPE.AAAA }));
    names.observe(exchange('a.example.com', { qtype: QTYPE.AAAA }));
    names.observe(exchange('a.example.com', { srcIdentity: OTHER_CLIENT }));
    expect(names.size).toBe(2);
    expect(names.overflow).toBe(3);
    const text = await registry.metrics();
    const overflow = ['source_namespace', 'source_workload', 'destination_namespace', 'destination_workload', 'qname', 'qtype', 'rcode', 'reporter']
      .map((l) => `${l}="overflow"`)
      .join(',');
    expect(samplesOf(text, FAMILY)).toEqual([
      `${FAMILY}{${PAIR},qname="example.com",qtype="A",rcode="NOERROR",reporter="client"} 1`,
      `${FAMILY}{${PAIR},qname="other",qtype="A",rcode="NOERROR",reporter="client"} 1`,
      `${FAMILY}{${overflow}} 3`,
    ]);
    expect(samplesOf(text, 'flowlens_series_limited_total')).toContain(`flowlens_series_limited_total{family="${FAMILY}"} 2`);
    expect(samplesOf(await registry.metrics(), 'flowlens_series_limited_total')).toContain(`flowlens_series_limited_total{family="${FAMILY}"} 2`);
  });

  it('top N: a name has its own series while reported; when it leaves, its series goes and frees its place', async () => {
    let now = 0;
    const names = new DnsQueryNames(new TopFolder(new TopNames(1, { capacity: 4, intervalMs: 1000, start: 0 })), 100, () => now);
    const { registry } = setup(names);
    for (let i = 0; i < 3; i++) names.observe(exchange('a.example'));
    names.observe(exchange('b.example'));
    expect(samplesOf(await registry.metrics(), FAMILY)).toEqual([
      `${FAMILY}{${PAIR},qname="other",qtype="A",rcode="NOERROR",reporter="client"} 4`,
    ]);
    now = 1000;
    for (let i = 0; i < 2; i++) names.observe(exchange('a.example'));
    names.observe(exchange('b.example'));
    expect(samplesOf(await registry.metrics(), FAMILY)).toEqual([
      `${FAMILY}{${PAIR},qname="other",qtype="A",rcode="NOERROR",reporter="client"} 5`,
      `${FAMILY}{${PAIR},qname="a.example",qtype="A",rcode="NOERROR",reporter="client"} 2`,
    ]);
    // b overtakes at the ranking at 2000: b 0.5 + 11 = 11.5 against a 1.5 + 2 = 3.5, more than twice
    for (let i = 0; i < 10; i++) names.observe(exchange('b.example'));
    now = 2000;
    // the ranking runs at the scrape: a's series goes, b's starts with the exchanges after it
    expect(samplesOf(await registry.metrics(), FAMILY)).toEqual([
      `${FAMILY}{${PAIR},qname="other",qtype="A",rcode="NOERROR",reporter="client"} 15`,
    ]);
    names.observe(exchange('b.example'));
    names.observe(exchange('a.example'));
    expect(samplesOf(await registry.metrics(), FAMILY)).toEqual([
      `${FAMILY}{${PAIR},qname="other",qtype="A",rcode="NOERROR",reporter="client"} 16`,
      `${FAMILY}{${PAIR},qname="b.example",qtype="A",rcode="NOERROR",reporter="client"} 1`,
    ]);
    expect(names.size).toBe(2);
  });

  it('forgets the counts of identities that expired', async () => {
    const names = new DnsQueryNames(new SuffixFolder(['example.com']), 100);
    const { registry, identities, setNow } = setup(names, 100, 10);
    names.observe(exchange('a.example.com'));
    names.observe(exchange('a.example.com', { srcIdentity: OTHER_CLIENT }));
    expect(samplesOf(await registry.metrics(), FAMILY)).toHaveLength(2);
    identities.gone.add(OTHER_CLIENT);
    setNow(0);
    expect(samplesOf(await registry.metrics(), FAMILY)).toHaveLength(2);
    setNow(10_000);
    expect(samplesOf(await registry.metrics(), FAMILY)).toEqual([
      `${FAMILY}{${PAIR},qname="example.com",qtype="A",rcode="NOERROR",reporter="client"} 1`,
    ]);
    expect(names.size).toBe(1);
  });
});
