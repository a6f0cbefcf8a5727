import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/flows/record.js';
import { ExporterProcess, waitFor, writeIdentities } from '../common/exporter.js';
import { dig, startDnsmasq } from '../common/dnsmasq.js';
import { runTag, TestNetwork, type TestHost } from '../common/netns.js';
import { OtlpReceiver, type ReceivedSpan } from '../common/otlp.js';
import { sumOf, type Sample } from '../common/prom.js';

/**
 * DNS end to end: dnsmasq (Debian's dnsmasq-base) serves a small zone in a
 * "dns" namespace, dig (bind9-dnsutils) in a client namespace asks a known
 * set of questions over UDP and TCP, and the exporter, attached to both
 * namespaces' host-side veths, counts every query and response once at the
 * client's interface and once at the server's. A real OTLP/gRPC receiver in
 * this process gets one span per exchange and side.
 */

const ZONE = 'e2e.test';
const WWW = `www.${ZONE}`; // A
const DB = `db.${ZONE}`; // A and AAAA
const MISSING = `missing.${ZONE}`; // NXDOMAIN: the zone is local to dnsmasq

/** The questions, each asked once by its own dig query; tcp ones with +tcp. */
const QUESTIONS = [
  { name: WWW, type: 'A', rcode: 'NOERROR', tcp: false, answers: 1 },
  { name: WWW, type: 'A', rcode: 'NOERROR', tcp: false, answers: 1 },
  { name: WWW, type: 'A', rcode: 'NOERROR', tcp: false, answers: 1 },
  { name: DB, type: 'AAAA', rcode: 'NOERROR', tcp: false, answers: 1 },
  { name: DB, type: 'AAAA', rcode: 'NOERROR', tcp: false, answers: 1 },
  { name: MISSING, type: 'A', rcode: 'NXDOMAIN', tcp: false, answers: 0 },
  { name: MISSING, type: 'A', rcode: 'NXDOMAIN', tcp: false, answers: 0 },
  { name: DB, type: 'A', rcode: 'NOERROR', tcp: true, answers: 1 },
] as const;
const SIDES = ['client', 'server'] as const;
/** Questions asked after the receiver is stopped. */
const LATE_QUESTIONS = 3;

const tag = runTag();
const prefix = `fd${tag}`;
let net: TestNetwork;
let client: TestHost;
let dns: TestHost;
let exporter: ExporterProcess;
let receiver: OtlpReceiver;
let tmp: string;

/** dig in the client namespace to the test's dnsmasq. */
const ask = (name: string, type: string, tcp: boolean): string => dig(client, dns, name, type, tcp);

const pair = { source_namespace: 'e2e', source_workload: 'client', destination_namespace: 'e2e', destination_workload: 'dns' };

function byLabels(m: Sample[], family: string, labels: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of m) {
    if (s.name !== family) continue;
    const key = labels.map((l) => s.labels[l]).join(' ');
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

describe('DNS with dnsmasq and dig (network namespaces, real kernel, real OTLP receiver)', () => {
  beforeAll(async () => {
    net = new TestNetwork(prefix, '10.221.0');
    client = net.addHost('cli', 2);
    dns = net.addHost('dns', 3);
    tmp = mkdtempSync(join(tmpdir(), 'flowlens-dns-'));
    const identities = join(tmp, 'identities.yaml');
    writeIdentities(identities, { client, dns });

    // dnsmasq answers before the exporter starts: its start-up lookups are not counted
    await startDnsmasq(net, dns, { zone: ZONE, records: { [WWW]: ['10.221.0.50'], [DB]: ['10.221.0.51', 'fd00::51'] }, from: client, probe: WWW });

    receiver = await OtlpReceiver.start();
    const config = join(tmp, 'flowlens.yaml');
    writeFileSync(
      config,
      [
        `otlpEndpoint: ${receiver.endpoint}`,
        'traces:',
        '  exportIntervalMilliseconds: 100',
        // the default's 10 s: under load a first connection can take longer than a second
        '  exportTimeoutMilliseconds: 10000',
        '  headers: { x-flowlens-test: e2e }',
        'dns:',
        '  unansweredTimeoutSeconds: 2',
        // www and missing by name (written as an operator might), every other name as "other"
        '  queryNames: { mode: suffixes, suffixes: [WWW.E2E.Test., missing.e2e.test] }',
        '',
      ].join('\n'),
    );
    exporter = new ExporterProcess(['--config', config, '--interface', `${prefix}*`, '--identities', identities]);
    await exporter.ready();
  });

  afterAll(() => {
    receiver?.stop();
    exporter?.kill();
    net?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('dnsmasq answers as the zone says', () => {
    for (const q of QUESTIONS) expect(ask(q.name, q.type, q.tcp), `${q.name} ${q.type}`).toBe(q.rcode);
  });

  it('counts every query and response once at each side, by qtype, rcode and reporter', async () => {
    const m = await exporter.samples();
    expect(byLabels(m, 'flowlens_dns_queries_total', ['source_workload', 'destination_workload', 'qtype', 'reporter'])).toEqual({
      'client dns A client': 6,
      'client dns A server': 6,
      'client dns AAAA client': 2,
      'client dns AAAA server': 2,
    });
    expect(byLabels(m, 'flowlens_dns_responses_total', ['source_workload', 'destination_workload', 'qtype', 'rcode', 'reporter'])).toEqual({
      'client dns A NOERROR client': 4,
      'client dns A NOERROR server': 4,
      'client dns AAAA NOERROR client': 2,
      'client dns AAAA NOERROR server': 2,
      'client dns A NXDOMAIN client': 2,
      'client dns A NXDOMAIN server': 2,
    });
    // every response answered a query seen at the same side: all are observed as latency
    for (const reporter of SIDES) {
      expect(sumOf(m, 'flowlens_dns_response_duration_seconds_count', { ...pair, reporter })).toBe(QUESTIONS.length);
      expect(sumOf(m, 'flowlens_dns_response_duration_seconds_bucket', { ...pair, reporter, le: '+Inf' })).toBe(QUESTIONS.length);
      expect(sumOf(m, 'flowlens_dns_response_duration_seconds_sum', { ...pair, reporter })).toBeGreaterThan(0);
    }
    expect(sumOf(m, 'flowlens_dns_response_duration_seconds_count', { qtype: 'A', rcode: 'NXDOMAIN', reporter: 'client' })).toBe(2);
    expect(sumOf(m, 'flowlens_dns_malformed_messages_total')).toBe(0);
    expect(sumOf(m, 'flowlens_bpf_map_entries', { map: 'dns_pending' })).toBe(0);
    expect(sumOf(m, 'flowlens_events_lost_total')).toBe(0);
  });

  it('counts exchanges by query name: the listed suffixes exactly, everything else as other', async () => {
    // exchanges reach user space as events: wait until the last has been read, then assert exactly
    const m = await waitFor('per-name counts', 30_000, () => exporter.output, async () => {
      const samples = await exporter.samples();
      return sumOf(samples, 'flowlens_dns_queries_by_name_total') >= QUESTIONS.length * SIDES.length ? samples : undefined;
    });
    const perSide = {
      'www.e2e.test A NOERROR': 3,
      'missing.e2e.test A NXDOMAIN': 2,
      'other AAAA NOERROR': 2, // db.e2e.test over UDP
      'other A NOERROR': 1, // db.e2e.test over TCP
    };
    const expected: Record<string, number> = {};
    for (const [k, n] of Object.entries(perSide)) for (const side of SIDES) expected[`client dns ${k} ${side}`] = n;
    expect(byLabels(m, 'flowlens_dns_queries_by_name_total', ['source_workload', 'destination_workload', 'qname', 'qtype', 'rcode', 'reporter'])).toEqual(expected);
    // no exchange lost: every query the kernel counted is in the per-name family, at each side
    expect(sumOf(m, 'flowlens_events_lost_total')).toBe(0);
    for (const reporter of SIDES) {
      expect(sumOf(m, 'flowlens_dns_queries_by_name_total', { reporter })).toBe(sumOf(m, 'flowlens_dns_queries_total', { reporter }));
    }
    expect(sumOf(m, 'flowlens_series_limited_total', { family: 'flowlens_dns_queries_by_name_total' })).toBe(0);
  });

  it('puts every exchange, once per side, into the flows API with its name, type, rcode and latency', async () => {
    // events are read every 100 ms: wait for one record per question and side, then check them exactly
    const flows = await waitFor('DNS records', 30_000, () => exporter.output, async () => {
      const res = await fetch(`${exporter.base}/api/flows?type=dns&from_ip=${client.address}&limit=1000`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { flows: FlowRecord[] };
      return body.flows.length >= 2 * QUESTIONS.length ? body.flows : undefined;
    });
    const seen: Record<string, number> = {};
    for (const f of flows) {
      const key = `${f.direction} ${f.source.workload}>${f.destination.workload} ${f.protocol} ${f.dns!.qtype} ${f.dns!.qname} ${f.dns!.rcode}`;
      seen[key] = (seen[key] ?? 0) + 1;
      expect(f.verdict).toBe('forwarded');
      expect(f.destination.port).toBe(53);
      expect(f.dns!.latencySeconds! > 0 && f.dns!.latencySeconds! < 5).toBe(true);
    }
    const expected: Record<string, number> = {};
    for (const q of QUESTIONS) {
      for (const direction of ['egress', 'ingress']) {
        const key = `${direction} client>dns ${q.tcp ? 'tcp' : 'udp'} ${q.type} ${q.name} ${q.rcode}`;
        expected[key] = (expected[key] ?? 0) + 1;
      }
    }
    expect(seen).toEqual(expected);
  });

  it('sends one span per exchange and side to the OTLP receiver, with its attributes and the kernel\'s clock', async () => {
    const expected = QUESTIONS.length * SIDES.length;
    await waitFor('spans', 30_000, () => exporter.output, async () => (receiver.spans.length >= expected ? true : undefined));
    // nothing more arrives after a few more export intervals
    await new Promise((r) => setTimeout(r, 500));
    const spans = receiver.spans;
    expect(spans.length).toBe(expected);

    const summary = (s: ReceivedSpan) =>
      [s.kind, s.name, s.attributes['dns.question.name'], s.attributes['flowlens.dns.response_code'], s.attributes['network.transport'], s.attributes['flowlens.dns.answer_count']].join(' ');
    const counts: Record<string, number> = {};
    for (const s of spans) counts[summary(s)] = (counts[summary(s)] ?? 0) + 1;
    expect(counts).toEqual({
      [`SPAN_KIND_CLIENT DNS A ${WWW} NOERROR udp 1`]: 3,
      [`SPAN_KIND_SERVER DNS A ${WWW} NOERROR udp 1`]: 3,
      [`SPAN_KIND_CLIENT DNS AAAA ${DB} NOERROR udp 1`]: 2,
      [`SPAN_KIND_SERVER DNS AAAA ${DB} NOERROR udp 1`]: 2,
      [`SPAN_KIND_CLIENT DNS A ${MISSING} NXDOMAIN udp 0`]: 2,
      [`SPAN_KIND_SERVER DNS A ${MISSING} NXDOMAIN udp 0`]: 2,
      [`SPAN_KIND_CLIENT DNS A ${DB} NOERROR tcp 1`]: 1,
      [`SPAN_KIND_SERVER DNS A ${DB} NOERROR tcp 1`]: 1,
    });

    const started = Date.now();
    for (const s of spans) {
      const side = s.kind === 'SPAN_KIND_CLIENT' ? 'client' : 'server';
      expect(s.attributes).toMatchObject({
        'dns.question.name': expect.stringMatching(/e2e\.test$/),
        'server.address': dns.address,
        'server.port': 53,
        'client.address': client.address,
        'network.type': 'ipv4',
        'network.peer.address': side === 'client' ? dns.address : client.address,
        'flowlens.reporter': side,
        'flowlens.source.workload': 'client',
        'flowlens.destination.workload': 'dns',
        'flowlens.dns.truncated': false,
      });
      expect(s.startNs).toBeLessThan(s.endNs);
      // the kernel's monotonic clock, mapped to wall time: within this test run
      expect(Number(s.startNs / 1_000_000n)).toBeLessThan(started);
      expect(Number(s.startNs / 1_000_000n)).toBeGreaterThan(started - 120_000);
      expect(s.parentSpanId).toBe('');
      // the span's resource is the workload whose side saw it (the static identities: no Kubernetes kind)
      expect(s.resource['service.name']).toBe(side === 'client' ? 'client' : 'dns');
      expect(s.scope).toBe('flowlens');
      if (s.attributes['flowlens.dns.response_code'] === 'NXDOMAIN') {
        expect(s.status).toEqual({ code: 'STATUS_CODE_ERROR', message: 'NXDOMAIN' });
        expect(s.attributes['error.type']).toBe('NXDOMAIN');
      } else {
        expect(s.status.code).toBe('STATUS_CODE_UNSET');
      }
    }
    // each exchange (client port and DNS id) once per side
    const exchanges = new Set(spans.map((s) => `${s.kind} ${s.attributes['client.port']} ${s.attributes['flowlens.dns.id']}`));
    expect(exchanges.size).toBe(expected);
    expect(new Set(spans.map((s) => s.spanId)).size).toBe(expected);

    // the configured headers go with every export
    expect(receiver.metadata.length).toBe(receiver.requests);
    for (const md of receiver.metadata) expect(md['x-flowlens-test']).toBe('e2e');

    const m = await exporter.samples();
    expect(sumOf(m, 'flowlens_spans_exported_total')).toBe(expected);
    expect(sumOf(m, 'flowlens_spans_dropped_total')).toBe(0);
  });

  it('with the receiver stopped, spans are counted as dropped and the exporter keeps serving', async () => {
    receiver.stop();
    const before = receiver.spans.length;
    for (let i = 0; i < LATE_QUESTIONS; i++) expect(ask(WWW, 'A', false)).toBe('NOERROR');
    const dropped = LATE_QUESTIONS * SIDES.length;
    const m = await waitFor('dropped spans', 30_000, () => exporter.output, async () => {
      const samples = await exporter.samples();
      return sumOf(samples, 'flowlens_spans_dropped_total') >= dropped ? samples : undefined;
    });
    expect(sumOf(m, 'flowlens_spans_dropped_total', { reason: 'export_failed' })).toBe(dropped);
    expect(sumOf(m, 'flowlens_spans_dropped_total', { reason: 'queue_full' })).toBe(0);
    expect(sumOf(m, 'flowlens_spans_exported_total')).toBe(QUESTIONS.length * SIDES.length);
    // the metrics are unaffected
    expect(sumOf(m, 'flowlens_dns_queries_total', { qtype: 'A', reporter: 'client' })).toBe(6 + LATE_QUESTIONS);
    expect(receiver.spans.length).toBe(before);
    expect(exporter.child.exitCode).toBeNull();
  });

  it('folds a name under a listed suffix into it, and a name that only ends in the same letters into other', async () => {
    // dnsmasq is authoritative for e2e.test: both are NXDOMAIN
    expect(ask(`a.b.${MISSING}`, 'A', false)).toBe('NXDOMAIN');
    expect(ask(`x${WWW}`, 'A', false)).toBe('NXDOMAIN');
    const m = await waitFor('per-name counts', 30_000, () => exporter.output, async () => {
      const samples = await exporter.samples();
      return sumOf(samples, 'flowlens_dns_queries_by_name_total', { rcode: 'NXDOMAIN' }) >= 8 ? samples : undefined;
    });
    for (const reporter of SIDES) {
      expect(sumOf(m, 'flowlens_dns_queries_by_name_total', { qname: 'missing.e2e.test', rcode: 'NXDOMAIN', reporter })).toBe(3);
      expect(sumOf(m, 'flowlens_dns_queries_by_name_total', { qname: 'other', qtype: 'A', rcode: 'NXDOMAIN', reporter })).toBe(1);
      // the late questions of the previous test too
      expect(sumOf(m, 'flowlens_dns_queries_by_name_total', { qname: 'www.e2e.test', reporter })).toBe(3 + LATE_QUESTIONS);
      expect(sumOf(m, 'flowlens_dns_queries_by_name_total', { reporter })).toBe(sumOf(m, 'flowlens_dns_queries_total', { reporter }));
    }
  });
});
