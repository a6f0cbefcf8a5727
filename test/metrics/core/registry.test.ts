import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../../src/metrics/core/registry.js';
import { KernelCounter } from '../../../src/metrics/core/kernel-counter.js';
import { KernelGauge } from '../../../src/metrics/core/kernel-gauge.js';
import { KernelHistogram } from '../../../src/metrics/core/kernel-histogram.js';
import { SuffixFolder } from '../../../src/metrics/dns-name-folders.js';
import { DnsQueryNames } from '../../../src/metrics/dns-names.js';
import type { ContextName } from '../../../src/metrics/types.js';
import type { DatapathSnapshot } from '../../../src/datapath/records.js';
import { emptySnapshot, FakeDatapath, FakeIdentities, FakeIdentityStatus, samplesOf } from '../../common/metrics-fakes.js';

const TCP = 6;
const UDP = 17;
const INGRESS = 1;
const EGRESS = 2;
const FORWARDED = 1;
const DROPPED = 2;
const WORLD = 2;

function setup(options: { contexts?: ContextName[]; seriesLimit?: number; destinationPorts?: number[]; snapshot?: DatapathSnapshot } = {}) {
  const identities = new FakeIdentities()
    .add(70000, { namespace: 'shop', workload: 'frontend', app: 'frontend', pod: 'frontend-7d9f-abcde' })
    .add(70001, { namespace: 'shop', workload: 'cart', app: 'cart', pod: 'cart-5c6d-fghij' })
    // Same workload as 70000 with other identity-relevant labels (e.g. a canary).
    .add(70002, { namespace: 'shop', workload: 'frontend', app: 'frontend', pod: 'frontend-canary-xyz' });
  const datapath = new FakeDatapath(options.snapshot ?? emptySnapshot());
  const status = new FakeIdentityStatus();
  const registry = createMetrics({
    config: {
      contexts: options.contexts ?? ['namespace', 'workload', 'identity'],
      seriesLimit: options.seriesLimit ?? 100,
      destinationPorts: options.destinationPorts ?? [],
    },
    identities,
    datapath,
    identityStatus: status,
    build: { version: '1.2.3', commit: 'abc1234', node: 'v20.20.2' },
    processMetrics: false,
  });
  return { registry, datapath, identities, status };
}

const traffic = (src: number, dst: number, packets: number, bytes: number, over: Partial<{ protocol: number; direction: number; verdict: number }> = {}) => ({
  srcIdentity: src,
  dstIdentity: dst,
  protocol: TCP,
  direction: EGRESS,
  verdict: FORWARDED,
  packets,
  bytes,
  ...over,
});

const start = (src: number, dst: number, dstPort: number, flows: number, over: Partial<{ protocol: number; direction: number; verdict: number }> = {}) => ({
  srcIdentity: src,
  dstIdentity: dst,
  dstPort,
  protocol: TCP,
  direction: EGRESS,
  verdict: FORWARDED,
  flows,
  ...over,
});

const FRONTEND_TO_WORLD =
  'source_namespace="shop",source_workload="frontend",source_identity="70000",' +
  'destination_namespace="",destination_workload="reserved:world",destination_identity="reserved:world"';

describe('flow families', () => {
  it('renders packets and bytes with context, protocol, direction and verdict labels', async () => {
    const { registry } = setup({ snapshot: emptySnapshot({ traffic: [traffic(70000, WORLD, 7, 4200)] }) });
    const text = await registry.metrics();

    expect(text).toContain('# TYPE flowlens_packets_total counter\n');
    expect(samplesOf(text, 'flowlens_packets_total')).toEqual([
      `flowlens_packets_total{${FRONTEND_TO_WORLD},protocol="tcp",direction="egress",verdict="forwarded"} 7`,
    ]);
    expect(samplesOf(text, 'flowlens_bytes_total')).toEqual([
      `flowlens_bytes_total{${FRONTEND_TO_WORLD},protocol="tcp",direction="egress",verdict="forwarded"} 4200`,
    ]);
  });

  it('exposes the flow families as prom-client counters with their labels, for JSON consumers too', async () => {
    const { registry } = setup({ contexts: ['workload'], snapshot: emptySnapshot({ traffic: [traffic(70000, WORLD, 7, 4200)] }) });
    const packets = (await registry.getMetricsAsJSON()).find((m) => m.name === 'flowlens_packets_total');
    expect(packets?.type).toBe('counter');
    expect(packets?.values.map((v) => ({ labels: v.labels, value: v.value }))).toEqual([
      {
        labels: { source_workload: 'frontend', destination_workload: 'reserved:world', protocol: 'tcp', direction: 'egress', verdict: 'forwarded' },
        value: 7,
      },
    ]);
  });

  it('names protocols, directions and verdicts, and keeps unknown protocol numbers apart', async () => {
    const { registry } = setup({
      contexts: ['identity'],
      snapshot: emptySnapshot({
        traffic: [
          traffic(70000, 70001, 1, 10, { protocol: UDP, direction: INGRESS, verdict: DROPPED }),
          traffic(70000, 70001, 2, 20, { protocol: 47 }),
          traffic(70000, 70001, 3, 30, { protocol: 132 }),
          traffic(70000, 70001, 4, 40, { protocol: 58 }),
        ],
      }),
    });
    expect(samplesOf(await registry.metrics(), 'flowlens_packets_total')).toEqual([
      'flowlens_packets_total{source_identity="70000",destination_identity="70001",protocol="udp",direction="ingress",verdict="dropped"} 1',
      'flowlens_packets_total{source_identity="70000",destination_identity="70001",protocol="ip-47",direction="egress",verdict="forwarded"} 2',
      'flowlens_packets_total{source_identity="70000",destination_identity="70001",protocol="sctp",direction="egress",verdict="forwarded"} 3',
      'flowlens_packets_total{source_identity="70000",destination_identity="70001",protocol="icmpv6",direction="egress",verdict="forwarded"} 4',
    ]);
  });

  it('sums records whose labels render alike, and exports the kernel totals of every scrape as they are', async () => {
    const { registry, datapath } = setup({
      contexts: ['namespace', 'workload'],
      snapshot: emptySnapshot({ traffic: [traffic(70000, WORLD, 7, 700), traffic(70002, WORLD, 5, 500), traffic(70001, WORLD, 1, 100)] }),
    });
    const frontend = 'source_namespace="shop",source_workload="frontend",destination_namespace="",destination_workload="reserved:world"';
    const cart = 'source_namespace="shop",source_workload="cart",destination_namespace="",destination_workload="reserved:world"';
    const tail = 'protocol="tcp",direction="egress",verdict="forwarded"';

    expect(samplesOf(await registry.metrics(), 'flowlens_packets_total')).toEqual([
      `flowlens_packets_total{${frontend},${tail}} 12`,
      `flowlens_packets_total{${cart},${tail}} 1`,
    ]);

    // The kernel's totals grew; the scrape shows the new totals, not an accumulation.
    datapath.current = emptySnapshot({ traffic: [traffic(70000, WORLD, 9, 900), traffic(70002, WORLD, 6, 600), traffic(70001, WORLD, 1, 100)] });
    const text = await registry.metrics();
    expect(samplesOf(text, 'flowlens_packets_total')).toEqual([
      `flowlens_packets_total{${frontend},${tail}} 15`,
      `flowlens_packets_total{${cart},${tail}} 1`,
    ]);
    expect(samplesOf(text, 'flowlens_bytes_total')).toEqual([
      `flowlens_bytes_total{${frontend},${tail}} 1500`,
      `flowlens_bytes_total{${cart},${tail}} 100`,
    ]);
  });

  it('keeps identities apart when identity is a context', async () => {
    const { registry } = setup({
      snapshot: emptySnapshot({ traffic: [traffic(70000, WORLD, 7, 700), traffic(70002, WORLD, 5, 500)] }),
    });
    const lines = samplesOf(await registry.metrics(), 'flowlens_packets_total');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('source_identity="70000"');
    expect(lines[0]).toMatch(/ 7$/);
    expect(lines[1]).toContain('source_identity="70002"');
    expect(lines[1]).toMatch(/ 5$/);
  });

  it('uses the configured contexts as label names, in configured order', async () => {
    const { registry } = setup({
      contexts: ['identity', 'pod'],
      snapshot: emptySnapshot({ traffic: [traffic(70000, 70001, 3, 300)] }),
    });
    const text = await registry.metrics();
    expect(samplesOf(text, 'flowlens_packets_total')).toEqual([
      'flowlens_packets_total{source_identity="70000",source_pod="frontend-7d9f-abcde",' +
        'destination_identity="70001",destination_pod="cart-5c6d-fghij",protocol="tcp",direction="egress",verdict="forwarded"} 3',
    ]);
    expect(text).not.toContain('source_namespace');
    expect(text).not.toContain('source_workload');
  });

  it('renders configured destination ports as numbers and folds the rest into ranges', async () => {
    const { registry } = setup({
      contexts: ['workload'],
      destinationPorts: [443, 8080],
      snapshot: emptySnapshot({
        starts: [
          start(70000, 70001, 443, 10),
          start(70000, 70001, 8080, 20),
          start(70000, 70001, 22, 1),
          start(70000, 70001, 80, 2), // folds with 22
          start(70000, 70001, 9090, 3),
          start(70000, 70001, 50000, 4),
          start(70000, 70001, 65535, 5), // folds with 50000
          start(70000, 70001, 0, 6, { protocol: 1 }),
        ],
      }),
    });
    const ends = 'source_workload="frontend",destination_workload="cart"';
    expect(samplesOf(await registry.metrics(), 'flowlens_flows_total')).toEqual([
      `flowlens_flows_total{${ends},protocol="tcp",destination_port="443",direction="egress",verdict="forwarded"} 10`,
      `flowlens_flows_total{${ends},protocol="tcp",destination_port="8080",direction="egress",verdict="forwarded"} 20`,
      `flowlens_flows_total{${ends},protocol="tcp",destination_port="1-1023",direction="egress",verdict="forwarded"} 3`,
      `flowlens_flows_total{${ends},protocol="tcp",destination_port="1024-49151",direction="egress",verdict="forwarded"} 3`,
      `flowlens_flows_total{${ends},protocol="tcp",destination_port="49152-65535",direction="egress",verdict="forwarded"} 9`,
      `flowlens_flows_total{${ends},protocol="icmp",destination_port="0",direction="egress",verdict="forwarded"} 6`,
    ]);
  });

  it('documents port folding in the help text', async () => {
    const { registry } = setup();
    const help = (await registry.metrics()).split('\n').find((l) => l.startsWith('# HELP flowlens_flows_total '));
    expect(help).toContain('1-1023, 1024-49151 and 49152-65535');
    expect(help).toContain('0 means the protocol has no ports');
  });

  it('renders tcp flags by name', async () => {
    const { registry } = setup({
      contexts: ['workload'],
      snapshot: emptySnapshot({
        tcpFlags: [
          { srcIdentity: 70000, dstIdentity: 70001, flag: 1, direction: EGRESS, count: 4 },
          { srcIdentity: 70000, dstIdentity: 70001, flag: 2, direction: INGRESS, count: 1 },
          { srcIdentity: 70000, dstIdentity: 70001, flag: 7, direction: EGRESS, count: 2 },
        ],
      }),
    });
    expect(samplesOf(await registry.metrics(), 'flowlens_tcp_flags_total')).toEqual([
      'flowlens_tcp_flags_total{source_workload="frontend",destination_workload="cart",flag="syn",direction="egress"} 4',
      'flowlens_tcp_flags_total{source_workload="frontend",destination_workload="cart",flag="rst",direction="ingress"} 1',
      'flowlens_tcp_flags_total{source_workload="frontend",destination_workload="cart",flag="cwr",direction="egress"} 2',
    ]);
  });
});

describe('cardinality limit', () => {
  const limited = 'flowlens_series_limited_total';
  const overflowLine = (value: number) =>
    'flowlens_packets_total{source_identity="overflow",destination_identity="overflow",' +
    `protocol="overflow",direction="overflow",verdict="overflow"} ${value}`;

  it('admits the first label sets, folds the rest into one overflow series and counts each refused set once', async () => {
    const { registry, datapath } = setup({
      contexts: ['identity'],
      seriesLimit: 2,
      snapshot: emptySnapshot({ traffic: [traffic(70000, 70001, 1, 10), traffic(70001, 70000, 2, 20), traffic(70002, 70001, 3, 30)] }),
    });
    let text = await registry.metrics();
    expect(samplesOf(text, 'flowlens_packets_total')).toEqual([
      'flowlens_packets_total{source_identity="70000",destination_identity="70001",protocol="tcp",direction="egress",verdict="forwarded"} 1',
      'flowlens_packets_total{source_identity="70001",destination_identity="70000",protocol="tcp",direction="egress",verdict="forwarded"} 2',
      overflowLine(3),
    ]);
    expect(samplesOf(text, limited)).toContain(`${limited}{family="flowlens_packets_total"} 1`);
    expect(samplesOf(text, limited)).toContain(`${limited}{family="flowlens_bytes_total"} 1`);

    // Same label sets again: the refusal is not counted twice.
    datapath.current = emptySnapshot({ traffic: [traffic(70000, 70001, 1, 10), traffic(70001, 70000, 2, 20), traffic(70002, 70001, 4, 40)] });
    text = await registry.metrics();
    expect(samplesOf(text, 'flowlens_packets_total')[2]).toBe(overflowLine(4));
    expect(samplesOf(text, limited)).toContain(`${limited}{family="flowlens_packets_total"} 1`);

    // An admitted series keeps its place while absent: a new label set still overflows,
    // and the overflow series sums every refused set.
    datapath.current = emptySnapshot({ traffic: [traffic(70001, 70000, 2, 20), traffic(70002, 70001, 4, 40), traffic(70002, 70000, 5, 50)] });
    text = await registry.metrics();
    expect(samplesOf(text, 'flowlens_packets_total')).toEqual([
      'flowlens_packets_total{source_identity="70001",destination_identity="70000",protocol="tcp",direction="egress",verdict="forwarded"} 2',
      overflowLine(9),
    ]);
    expect(samplesOf(text, limited)).toContain(`${limited}{family="flowlens_packets_total"} 2`);

    datapath.current = emptySnapshot({ traffic: [traffic(70000, 70001, 6, 60)] });
    expect(samplesOf(await registry.metrics(), 'flowlens_packets_total')).toEqual([
      'flowlens_packets_total{source_identity="70000",destination_identity="70001",protocol="tcp",direction="egress",verdict="forwarded"} 6',
    ]);
  });

  it('the kernel\'s overflow key (a full map) is summed into the same overflow series, and counts no refusal', async () => {
    const OVERFLOW_KEY = 0xffffffff;
    const { registry } = setup({
      contexts: ['identity'],
      seriesLimit: 1,
      snapshot: emptySnapshot({
        traffic: [traffic(70000, 70001, 1, 10), traffic(OVERFLOW_KEY, OVERFLOW_KEY, 7, 70, { protocol: 255, direction: 255, verdict: 255 }), traffic(70001, 70000, 2, 20)],
        starts: [start(OVERFLOW_KEY, OVERFLOW_KEY, 65535, 0, { protocol: 255, direction: 255, verdict: 255 })],
      }),
    });
    const text = await registry.metrics();
    expect(samplesOf(text, 'flowlens_packets_total')).toEqual([
      'flowlens_packets_total{source_identity="70000",destination_identity="70001",protocol="tcp",direction="egress",verdict="forwarded"} 1',
      overflowLine(9),
    ]);
    // one label set refused by the limit; the kernel's overflow is not a label set
    expect(samplesOf(text, limited)).toContain(`${limited}{family="flowlens_packets_total"} 1`);
    // an overflow key that counted nothing yet renders no series
    expect(samplesOf(text, 'flowlens_flows_total')).toEqual([]);
  });

  it('limits each family on its own and lists every family from the start', async () => {
    const { registry } = setup({
      seriesLimit: 1,
      snapshot: emptySnapshot({ starts: [start(70000, 70001, 443, 1), start(70000, 70001, 8080, 1)], traffic: [traffic(70000, 70001, 1, 1)] }),
    });
    expect(samplesOf(await registry.metrics(), limited)).toEqual([
      `${limited}{family="flowlens_flows_total"} 1`,
      `${limited}{family="flowlens_tcp_connection_attempts_total"} 0`,
      `${limited}{family="flowlens_packets_total"} 0`,
      `${limited}{family="flowlens_bytes_total"} 0`,
      `${limited}{family="flowlens_tcp_flags_total"} 0`,
      `${limited}{family="flowlens_tcp_retransmits_total"} 0`,
      `${limited}{family="flowlens_drops_total"} 0`,
      `${limited}{family="flowlens_unknown_source_flows_total"} 0`,
      `${limited}{family="flowlens_dns_queries_total"} 0`,
      `${limited}{family="flowlens_dns_responses_total"} 0`,
      `${limited}{family="flowlens_dns_response_duration_seconds"} 0`,
      `${limited}{family="flowlens_http_requests_total"} 0`,
      `${limited}{family="flowlens_http_responses_total"} 0`,
      `${limited}{family="flowlens_http_request_duration_seconds"} 0`,
    ]);
  });
});

describe('scrapes', () => {
  it('takes one datapath snapshot per scrape and looks each identity up once per scrape', async () => {
    const { registry, datapath, identities } = setup({
      snapshot: emptySnapshot({
        traffic: [traffic(70000, 70001, 1, 1), traffic(70001, 70000, 1, 1)],
        starts: [start(70000, 70001, 443, 1)],
        tcpFlags: [{ srcIdentity: 70000, dstIdentity: 70001, flag: 1, direction: EGRESS, count: 1 }],
        maps: [{ map: 'flow_traffic', entries: 2, capacity: 1024 }],
      }),
    });
    await registry.metrics();
    expect(datapath.snapshots).toBe(1);
    expect([...identities.lookups].sort()).toEqual([70000, 70001]);
    await registry.metrics();
    expect(datapath.snapshots).toBe(2);
  });
});

describe('self-metrics', () => {
  it('exports build info, datapath status and identity sources', async () => {
    const { registry, status } = setup({
      snapshot: emptySnapshot({
        parsePackets: [
          { reason: 'not_ip', count: 40 },
          { reason: 'ipv4_truncated', count: 3 },
          { reason: 'tcp_bad_header', count: 1 },
        ],
        eventsLost: [
          { source: 'flow', reason: 'rate_limit', count: 12 },
          { source: 'flow', reason: 'ring_full', count: 0 },
        ],
        maps: [
          { map: 'flow_traffic', entries: 120, capacity: 65536 },
          { map: 'ipcache', entries: 9, capacity: 16384 },
        ],
        programs: [{ program: 'flow_from_endpoint', runs: 1000, runSeconds: 0.0025 }],
        attachedInterfaces: 4,
      }),
    });
    status.current = [
      { source: 'static', up: true, identities: 12, reloadFailures: 0 },
      { source: 'kubernetes', up: false, identities: 0, reloadFailures: 3 },
    ];
    const text = await registry.metrics();
    const lines = (family: string) => samplesOf(text, family);

    expect(lines('flowlens_build_info')).toEqual(['flowlens_build_info{version="1.2.3",commit="abc1234",node_version="v20.20.2"} 1']);
    expect(lines('flowlens_malformed_packets_total')).toEqual([
      'flowlens_malformed_packets_total{reason="ipv4_truncated"} 3',
      'flowlens_malformed_packets_total{reason="tcp_bad_header"} 1',
    ]);
    expect(lines('flowlens_non_ip_packets_total')).toEqual(['flowlens_non_ip_packets_total 40']);
    expect(lines('flowlens_events_lost_total')).toEqual([
      'flowlens_events_lost_total{source="flow",reason="rate_limit"} 12',
      'flowlens_events_lost_total{source="flow",reason="ring_full"} 0',
    ]);
    expect(lines('flowlens_bpf_map_entries')).toEqual(['flowlens_bpf_map_entries{map="flow_traffic"} 120', 'flowlens_bpf_map_entries{map="ipcache"} 9']);
    expect(lines('flowlens_bpf_map_capacity')).toEqual(['flowlens_bpf_map_capacity{map="flow_traffic"} 65536', 'flowlens_bpf_map_capacity{map="ipcache"} 16384']);
    expect(lines('flowlens_bpf_program_runs_total')).toEqual(['flowlens_bpf_program_runs_total{program="flow_from_endpoint"} 1000']);
    expect(lines('flowlens_bpf_program_run_seconds_total')).toEqual(['flowlens_bpf_program_run_seconds_total{program="flow_from_endpoint"} 0.0025']);
    expect(lines('flowlens_attached_interfaces')).toEqual(['flowlens_attached_interfaces 4']);
    expect(lines('flowlens_identities')).toEqual(['flowlens_identities{source="static"} 12', 'flowlens_identities{source="kubernetes"} 0']);
    expect(lines('flowlens_identity_source_up')).toEqual(['flowlens_identity_source_up{source="static"} 1', 'flowlens_identity_source_up{source="kubernetes"} 0']);
    expect(lines('flowlens_identity_reload_failures_total')).toEqual([
      'flowlens_identity_reload_failures_total{source="static"} 0',
      'flowlens_identity_reload_failures_total{source="kubernetes"} 3',
    ]);
  });

  it('follows the datapath from scrape to scrape (maps that vanish, totals that grow)', async () => {
    const { registry, datapath } = setup({
      snapshot: emptySnapshot({ maps: [{ map: 'a', entries: 1, capacity: 2 }], parsePackets: [{ reason: 'not_ip', count: 1 }] }),
    });
    await registry.metrics();
    datapath.current = emptySnapshot({ maps: [{ map: 'b', entries: 3, capacity: 4 }], parsePackets: [{ reason: 'not_ip', count: 5 }] });
    const text = await registry.metrics();
    expect(samplesOf(text, 'flowlens_bpf_map_entries')).toEqual(['flowlens_bpf_map_entries{map="b"} 3']);
    expect(samplesOf(text, 'flowlens_non_ip_packets_total')).toEqual(['flowlens_non_ip_packets_total 5']);
  });

  it('reads every family whole at scrape time through one of the kernel metric classes', () => {
    // one way from a total to prom-client: no family replays reset() and inc() or fills prom-client's internals
    const registry = createMetrics({
      config: { contexts: ['identity'], seriesLimit: 10, destinationPorts: [] },
      identities: new FakeIdentities(),
      datapath: new FakeDatapath(),
      identityStatus: new FakeIdentityStatus(),
      build: { version: '1.2.3', node: 'v20.20.2' },
      flowStore: { store: () => ({ capacity: 1, records: 0, received: 0, evicted: 0, bytes: 0 }), streams: () => 0, streamSkipped: () => 0 },
      dnsNames: new DnsQueryNames(new SuffixFolder(['example.com']), 10),
      processMetrics: false,
    });
    const others = registry.getMetricsAsArray().filter((m) => !(m instanceof KernelCounter || m instanceof KernelGauge || m instanceof KernelHistogram));
    expect(others.map((m) => (m as unknown as { name: string }).name)).toEqual([]);
    expect(registry.getMetricsAsArray().length).toBeGreaterThan(40);
  });

  it('adds prom-client process metrics unless turned off', async () => {
    const registry = createMetrics({
      config: { contexts: ['identity'], seriesLimit: 10, destinationPorts: [] },
      identities: new FakeIdentities(),
      datapath: new FakeDatapath(),
      identityStatus: new FakeIdentityStatus(),
      build: { version: '1.2.3', node: 'v20.20.2' },
    });
    const text = await registry.metrics();
    expect(text).toContain('# TYPE process_cpu_seconds_total counter');
    expect(samplesOf(text, 'flowlens_build_info')).toEqual(['flowlens_build_info{version="1.2.3",commit="",node_version="v20.20.2"} 1']);
  });
});

describe('configuration checks', () => {
  it('rejects unknown or repeated contexts and bad ports', () => {
    const base = {
      identities: new FakeIdentities(),
      datapath: new FakeDatapath(),
      identityStatus: new FakeIdentityStatus(),
      build: { version: 'x', node: 'v20' },
      processMetrics: false,
    };
    expect(() => createMetrics({ ...base, config: { contexts: ['namespace', 'namespace'], seriesLimit: 1, destinationPorts: [] } })).toThrow(/listed twice/);
    expect(() => createMetrics({ ...base, config: { contexts: ['label' as ContextName], seriesLimit: 1, destinationPorts: [] } })).toThrow(/unknown metrics context "label"/);
    expect(() => createMetrics({ ...base, config: { contexts: ['identity'], seriesLimit: 1, destinationPorts: [70000] } })).toThrow(/0-65535/);
  });
});
