import { describe, expect, it } from 'vitest';
import { DnsFlag } from '../../src/bpf/codecs.js';
import {
  DnsQueryNames,
  normalizeSuffix,
  OTHER_NAME,
  queryNameOf,
  SuffixFolder,
  TopFolder,
  TopNames,
  type DnsExchangeInput,
} from '../../src/metrics/dns-names.js';
import { createMetrics } from '../../src/metrics/registry.js';
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

describe('suffixes', () => {
  it('normalises configured suffixes and refuses what cannot be one', () => {
    expect(normalizeSuffix('Example.COM.')).toEqual({ ok: true, suffix: 'example.com' });
    expect(normalizeSuffix('svc.cluster.local')).toEqual({ ok: true, suffix: 'svc.cluster.local' });
    expect(normalizeSuffix('_tcp.example.com')).toEqual({ ok: true, suffix: '_tcp.example.com' });
    for (const bad of ['', '.', 'a..b', '.example.com', 'exa mple.com', 'a\\b', OTHER_NAME, `${'x'.repeat(64)}.com`, `${'abcdefghi.'.repeat(26)}com`]) {
      expect(normalizeSuffix(bad).ok, bad).toBe(false);
    }
  });

  it('matches at label boundaries only, the most specific listed suffix first', () => {
    const f = new SuffixFolder(['example.com', 'api.example.com', 'Cluster.Local.']);
    expect(f.fold('example.com')).toBe('example.com');
    expect(f.fold('a.example.com')).toBe('example.com');
    expect(f.fold('a.b.c.example.com')).toBe('example.com');
    expect(f.fold('badexample.com')).toBe(OTHER_NAME);
    expect(f.fold('example.com.evil.net')).toBe(OTHER_NAME);
    expect(f.fold('com')).toBe(OTHER_NAME);
    expect(f.fold('api.example.com')).toBe('api.example.com');
    expect(f.fold('v1.api.example.com')).toBe('api.example.com');
    expect(f.fold('xapi.example.com')).toBe('example.com');
    expect(f.fold('db.svc.cluster.local')).toBe('cluster.local');
    // an escaped dot inside a label is not a boundary
    expect(f.fold('a\\046example.com')).toBe(OTHER_NAME);
    expect(f.fold('.')).toBe(OTHER_NAME);
  });

  it('reads names from the wire in lower case, the root as "."', () => {
    expect(queryNameOf(dnsName('WWW.Example.COM'), dnsName('WWW.Example.COM').length)).toBe('www.example.com');
    expect(queryNameOf(dnsName(''), 1)).toBe('.');
    // a label holding a dot stays one label
    const wire = Buffer.from([3, 0x61, 0x2e, 0x62, 3, 0x63, 0x6f, 0x6d, 0]);
    expect(queryNameOf(wire, wire.length)).toBe('a\\046b.com');
  });
});

describe('top N', () => {
  it('reports nothing before the first ranking, then the N best by guaranteed count', () => {
    const top = new TopNames(2, { capacity: 3, intervalMs: 1000, start: 0 });
    const stream = (name: string, times: number) => {
      for (let i = 0; i < times; i++) top.observe(name);
    };
    stream('a', 5);
    stream('b', 3);
    stream('c', 1);
    // the table is full: d replaces the weakest candidate, c, and inherits its count as error
    stream('d', 1);
    expect(top.tracked).toBe(3);
    expect(top.tick(999)).toBe(false);
    expect(top.reported()).toEqual([]);

    expect(top.tick(1000)).toBe(true);
    // d's guaranteed count is 2 - 1 = 1: third
    expect(top.reported()).toEqual(['a', 'b']);
    expect(top.generation).toBe(0);

    // counts halved at the ranking: a 2.5, b 1.5, d 1 (error 0.5). d now far ahead: it replaces b,
    // the weakest, since 10.5 > 2 * 1.5
    stream('d', 10);
    expect(top.tick(2000)).toBe(true);
    expect(top.reported()).toEqual(['d', 'a']);
    expect(top.isReported('b')).toBe(false);
    expect(top.generation).toBe(1);

    // halved again: a 1.25, b 0.75, d 5.25 (error 0.25). c comes back, replacing b (the weakest),
    // with 2 observations: guaranteed 2, not more than twice a's 1.25, so a stays
    stream('c', 2);
    expect(top.tick(3000)).toBe(false);
    expect(top.reported()).toEqual(['d', 'a']);
    // halved: c 1.375 (error 0.375), a 0.625; two more and c is at 3.375 - 0.375 = 3 > 2 * 0.625,
    // ahead of d (2.625 - 0.125 = 2.5) too
    stream('c', 2);
    expect(top.tick(4000)).toBe(true);
    expect(top.reported()).toEqual(['c', 'd']);
    expect(top.generation).toBe(2);
  });

  it('is bounded by its capacity and finds a heavy hitter in a long tail, the same way every run', () => {
    const run = () => {
      const top = new TopNames(5, { intervalMs: 1000, start: 0 });
      for (let i = 0; i < 20_000; i++) {
        // 10% heavy, 5% warm, the rest 17,000 distinct names seen once
        if (i % 10 === 0) top.observe('heavy.example.com');
        else if (i % 20 === 1) top.observe('warm.example.com');
        else top.observe(`n${i}.tail.example.com`);
      }
      expect(top.capacity).toBe(64);
      expect(top.tracked).toBe(64);
      top.tick(1000);
      return top.reported();
    };
    const first = run();
    expect(first.slice(0, 2)).toEqual(['heavy.example.com', 'warm.example.com']);
    expect(first.length).toBeLessThanOrEqual(5);
    expect(run()).toEqual(first);
  });

  it('a name that stops being asked for fades out; a long gap decays once per interval', () => {
    const top = new TopNames(1, { capacity: 4, intervalMs: 1000, start: 0 });
    for (let i = 0; i < 100; i++) top.observe('old');
    top.tick(1000);
    expect(top.reported()).toEqual(['old']);
    // nine intervals pass without a ranking: old is at 100 / 2^10 < 0.1 after the next one
    for (let i = 0; i < 3; i++) top.observe('new');
    expect(top.tick(10_000)).toBe(false);
    expect(top.reported()).toEqual(['old']);
    for (let i = 0; i < 3; i++) top.observe('new');
    expect(top.tick(11_000)).toBe(true);
    expect(top.reported()).toEqual(['new']);
  });

  it('folds names outside the reported set, and "other" itself', () => {
    const folder = new TopFolder(new TopNames(1, { capacity: 4, intervalMs: 1000, start: 0 }));
    expect(folder.fold('a.example', 0)).toBe(OTHER_NAME);
    expect(folder.fold('a.example', 1)).toBe(OTHER_NAME);
    expect(folder.fold('b.example', 2)).toBe(OTHER_NAME);
    // the ranking at 1000 runs before this observation is folded
    expect(folder.fold('a.example', 1000)).toBe('a.example');
    expect(folder.fold('b.example', 1001)).toBe(OTHER_NAME);
    expect(folder.fold(OTHER_NAME, 1002)).toBe(OTHER_NAME);
    expect(folder.current('a.example')).toBe(true);
    expect(folder.current('b.example')).toBe(false);
  });
});

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
