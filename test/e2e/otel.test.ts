import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/flows/record.js';
import { ExporterProcess, waitFor } from '../common/exporter.js';
import { dig, startDnsmasq } from '../common/dnsmasq.js';
import { FakeApiServer, namespaceObj, nodeObj, ownedObj, podObj } from '../common/fake-apiserver.js';
import { inNs, runTag, TestNetwork, type TestHost } from '../common/netns.js';
import { OtlpReceiver, type ReceivedSpan } from '../common/otlp.js';
import { sumOf } from '../common/prom.js';
import { shadowing, unconventional } from '../common/semconv.js';

/**
 * flowlens as an OpenTelemetry citizen, end to end: workloads from a fake
 * kube-apiserver (a bare client pod, a frontend Deployment, a backend
 * StatefulSet named by app.kubernetes.io/name, a DNS Deployment) in network
 * namespaces, real HTTP and DNS traffic client -> frontend -> backend, and a
 * real OTLP/gRPC receiver. The exporter's OTLP settings come from OTEL_*
 * variables alone (endpoint, headers, resource attributes, sampler); the
 * config file only turns flow logs on and shortens the export intervals.
 */

const tag = runTag();
const prefix = `fl19${tag}`;
const PORT = 8080;
const ZONE = 'otel.test';
const WWW = `www.${ZONE}`;
/** A caller that sampled its trace, and one that did not: flowlens follows each. */
const SAMPLED = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const UNSAMPLED = '00-5bf92f3577b34da6a3ce929d0e0e4736-10f067aa0ba902b7-00';
const OTEL_ENV = {
  OTEL_EXPORTER_OTLP_HEADERS: 'x-otel-test=env-only',
  OTEL_RESOURCE_ATTRIBUTES: 'k8s.cluster.name=fl19-e2e,deployment.environment.name=test',
  OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
  OTEL_TRACES_SAMPLER_ARG: '1',
};
/** Exchanges sent with the receiver down. */
const LATE_EXCHANGES = 300;

let net: TestNetwork;
let hosts: Record<'client' | 'frontend' | 'backend' | 'dns', TestHost>;
let api: FakeApiServer;
let exporter: ExporterProcess;
let receiver: OtlpReceiver;
let tmp: string;

const serverScript = (address: string): string => `
require('http').createServer((req, res) => {
  req.resume();
  req.on('end', () => { res.statusCode = req.url === '/fail' ? 500 : 200; res.end('ok'); });
}).listen(${PORT}, '${address}', () => console.log('up'));`;

/** Requests in order on one keep-alive connection from a namespace; prints the statuses. */
function send(from: TestHost, to: TestHost, requests: Array<[path: string, headers?: Record<string, string>]>): string {
  return inNs(from.ns, process.execPath, [
    '-e',
    `const http = require('http');
     const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
     (async () => {
       const statuses = [];
       for (const [path, headers] of ${JSON.stringify(requests)}) {
         statuses.push(await new Promise((resolve, reject) => {
           const req = http.request({ host: '${to.address}', port: ${PORT}, path, agent, headers: headers ?? {} }, (res) => {
             res.resume();
             res.on('end', () => resolve(res.statusCode));
           });
           req.setTimeout(5000, () => req.destroy(new Error('timeout')));
           req.on('error', reject);
           req.end();
         }));
       }
       console.log(statuses.join(','));
       agent.destroy();
     })().catch((e) => { console.error(e); process.exit(1); });`,
  ]).trim();
}

async function flows(query = ''): Promise<FlowRecord[]> {
  const res = await fetch(`${exporter.base}/api/flows?limit=10000${query}`);
  return ((await res.json()) as { flows: FlowRecord[] }).flows;
}

/** The exporter's resident set (VmRSS) in KiB. */
function rssKiB(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

const isHttp = (s: ReceivedSpan) => s.attributes['http.request.method'] !== undefined;

beforeAll(async () => {
  net = new TestNetwork(prefix, '10.191.0');
  hosts = { client: net.addHost('cli', 2), frontend: net.addHost('fe', 3), backend: net.addHost('be', 4), dns: net.addHost('dns', 5) };
  tmp = mkdtempSync(join(tmpdir(), 'flowlens-otel-'));

  const kubeconfig = join(tmp, 'kubeconfig');
  api = new FakeApiServer();
  await api.start();
  api.writeKubeconfig(kubeconfig);
  for (const ns of ['tools', 'shop', 'data', 'kube-system']) api.apply('namespaces', namespaceObj(ns));
  api.apply('nodes', nodeObj('node-a', ['10.191.5.1'], ['10.191.0.0/24']));
  api.apply('replicasets', ownedObj('shop', 'frontend-6b7c8', { kind: 'Deployment', name: 'frontend' }));
  api.apply('replicasets', ownedObj('kube-system', 'coredns-5d78c', { kind: 'Deployment', name: 'coredns' }));
  api.apply('pods', podObj({ namespace: 'tools', name: 'client', ips: [hosts.client.address], labels: { app: 'client' } }));
  api.apply('pods', podObj({
    namespace: 'shop', name: 'frontend-6b7c8-q2x9z', ips: [hosts.frontend.address],
    labels: { app: 'frontend', 'pod-template-hash': '6b7c8' }, owner: { kind: 'ReplicaSet', name: 'frontend-6b7c8' },
  }));
  api.apply('pods', podObj({
    namespace: 'data', name: 'backend-0', ips: [hosts.backend.address],
    labels: { app: 'backend', 'app.kubernetes.io/name': 'backend-db' }, owner: { kind: 'StatefulSet', name: 'backend' },
  }));
  api.apply('pods', podObj({
    namespace: 'kube-system', name: 'coredns-5d78c-abcde', ips: [hosts.dns.address],
    labels: { 'k8s-app': 'kube-dns', 'pod-template-hash': '5d78c' }, owner: { kind: 'ReplicaSet', name: 'coredns-5d78c' },
  }));

  for (const host of [hosts.frontend, hosts.backend]) {
    const listener = net.spawnIn(host.ns, process.execPath, ['-e', serverScript(host.address)]);
    await new Promise((r) => listener.stdout!.once('data', r));
  }
  await startDnsmasq(net, hosts.dns, { zone: ZONE, records: { [WWW]: ['10.191.0.50'] }, from: hosts.client, probe: WWW });

  receiver = await OtlpReceiver.start();
  const config = join(tmp, 'flowlens.yaml');
  writeFileSync(
    config,
    [
      'traces: { exportIntervalMilliseconds: 100, maxQueueSize: 64, serviceNameLabels: [app.kubernetes.io/name] }',
      'flowLogs: { enabled: true, exportIntervalMilliseconds: 100, maxQueueSize: 64 }',
      // every exchange an event, so that each becomes a span and a record
      'datapath: { eventsPerSecond: 1000000 }',
      '',
    ].join('\n'),
  );
  exporter = new ExporterProcess(
    ['--config', config, '--interface', `${prefix}*`, '--kubeconfig', kubeconfig, '--node-name', 'node-a'],
    [],
    { ...OTEL_ENV, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint },
  );
  await exporter.ready();
});

afterAll(async () => {
  receiver?.stop();
  exporter?.kill();
  net?.cleanup();
  await api?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('spans, exemplars and flow logs any OpenTelemetry backend understands (fake kube-apiserver, network namespaces, real OTLP receiver)', () => {
  it('HTTP client -> frontend -> backend and one DNS question: one span per exchange and side, none for an unsampled caller', async () => {
    expect(send(hosts.client, hosts.frontend, [['/ok'], ['/cart?id=7', { traceparent: SAMPLED }], ['/ok', { traceparent: UNSAMPLED }], ['/fail']])).toBe('200,200,200,500');
    expect(send(hosts.frontend, hosts.backend, [['/ok']])).toBe('200');
    expect(dig(hosts.client, hosts.dns, WWW, 'A')).toBe('NOERROR');
    // 5 HTTP exchanges and 1 DNS exchange, each seen at both ends: the unsampled caller's 2 make no span
    const expected = 2 * 5 - 2 + 2;
    const m = await waitFor('spans exported', 30_000, () => exporter.output, async () => {
      const samples = await exporter.samples();
      return sumOf(samples, 'flowlens_spans_exported_total') >= expected ? samples : undefined;
    });
    expect(sumOf(m, 'flowlens_spans_exported_total')).toBe(expected);
    expect(receiver.spans.length).toBe(expected);
    expect(receiver.spans.filter((s) => s.traceId === UNSAMPLED.split('-')[1]!)).toEqual([]);
    const children = receiver.spans.filter((s) => s.traceId === SAMPLED.split('-')[1]!);
    expect(children.map((s) => `${s.kind} ${s.parentSpanId}`).sort()).toEqual([
      `SPAN_KIND_CLIENT ${SAMPLED.split('-')[2]}`,
      `SPAN_KIND_SERVER ${SAMPLED.split('-')[2]}`,
    ]);
    // OTEL_EXPORTER_OTLP_HEADERS with every export
    expect(receiver.metadata.length).toBe(receiver.requests);
    for (const md of receiver.metadata) expect(md['x-otel-test']).toBe('env-only');
  });

  it('each span is filed under the workload that made it, with the OTEL_RESOURCE_ATTRIBUTES and flowlens as its scope', () => {
    const resources: Record<string, Record<string, unknown>> = {};
    for (const s of receiver.spans) {
      const side = `${s.kind === 'SPAN_KIND_CLIENT' ? 'client' : 'server'} ${isHttp(s) ? 'http' : 'dns'} ${s.resource['service.name']}`;
      // the host detector's (the node's) and the SDK's version: present, machine-specific
      const { 'host.name': host, 'host.arch': arch, 'host.id': hostId, 'telemetry.sdk.version': sdkVersion, ...rest } = s.resource;
      expect([host, arch, hostId, sdkVersion].every((v) => typeof v === 'string' && v !== '')).toBe(true);
      resources[side] = rest;
      expect(s.scope).toBe('flowlens');
    }
    const common = {
      'k8s.node.name': 'node-a',
      'k8s.cluster.name': 'fl19-e2e',
      'deployment.environment.name': 'test',
      'telemetry.sdk.language': 'nodejs',
      'telemetry.sdk.name': 'opentelemetry',
    };
    const client = { ...common, 'service.name': 'client', 'service.namespace': 'tools', 'k8s.namespace.name': 'tools', 'k8s.pod.name': 'client', 'flowlens.workload.kind': 'Pod' };
    const frontend = {
      ...common, 'service.name': 'frontend', 'service.namespace': 'shop', 'k8s.namespace.name': 'shop',
      'k8s.deployment.name': 'frontend', 'k8s.pod.name': 'frontend-6b7c8-q2x9z', 'flowlens.workload.kind': 'Deployment',
    };
    expect(resources).toEqual({
      'client http client': client,
      'server http frontend': frontend,
      'client http frontend': frontend,
      // app.kubernetes.io/name names the service (traces.serviceNameLabels)
      'server http backend-db': {
        ...common, 'service.name': 'backend-db', 'service.namespace': 'data', 'k8s.namespace.name': 'data',
        'k8s.statefulset.name': 'backend', 'k8s.pod.name': 'backend-0', 'flowlens.workload.kind': 'StatefulSet',
      },
      'client dns client': client,
      'server dns coredns': {
        ...common, 'service.name': 'coredns', 'service.namespace': 'kube-system', 'k8s.namespace.name': 'kube-system',
        'k8s.deployment.name': 'coredns', 'k8s.pod.name': 'coredns-5d78c-abcde', 'flowlens.workload.kind': 'Deployment',
      },
    });
  });

  it('every attribute name is a semantic convention\'s (the @opentelemetry/semantic-conventions package) or under flowlens.*', () => {
    const names = new Set<string>();
    for (const s of receiver.spans) for (const n of [...Object.keys(s.attributes), ...Object.keys(s.resource)]) names.add(n);
    expect(unconventional(names)).toEqual([]);
    expect(shadowing(names)).toEqual([]);
    // one of each kind, as the receiver got them, for the record of this test run
    const one = (pred: (s: ReceivedSpan) => boolean) => receiver.spans.find(pred)!;
    const httpClient = one((s) => isHttp(s) && s.kind === 'SPAN_KIND_CLIENT' && s.attributes['http.response.status_code'] === 500);
    const httpServer = one((s) => isHttp(s) && s.kind === 'SPAN_KIND_SERVER' && s.traceId === SAMPLED.split('-')[1]);
    const dnsSpan = one((s) => !isHttp(s) && s.kind === 'SPAN_KIND_CLIENT');
    console.log(JSON.stringify({ httpClient, httpServer, dnsSpan }, (_k, v) => (typeof v === 'bigint' ? String(v) : v), 2));
    expect(httpClient.name).toBe('GET');
    expect(httpClient.attributes).toMatchObject({
      'url.full': `http://${hosts.frontend.address}:${PORT}/fail`,
      'server.address': hosts.frontend.address,
      'server.port': PORT,
      'network.peer.address': hosts.frontend.address,
      'error.type': '500',
    });
    expect(httpClient.attributes['client.address']).toBeUndefined();
    // the kernel keeps no query string: url.path without it, no url.query
    expect(httpServer.attributes).toMatchObject({
      'url.scheme': 'http',
      'url.path': '/cart',
      'client.address': hosts.client.address,
      'network.peer.address': hosts.client.address,
      'network.transport': 'tcp',
    });
    expect(httpServer.attributes['url.query']).toBeUndefined();
    expect(httpServer.attributes['http.request.method_original']).toBeUndefined();
    expect(dnsSpan.name).toBe('DNS A');
    expect(dnsSpan.attributes).toMatchObject({ 'dns.question.name': WWW, 'network.transport': 'udp', 'server.port': 53 });
  });

  it('the latency histograms carry exported spans\' trace ids as exemplars in OpenMetrics, and only there', async () => {
    const res = await fetch(`${exporter.base}/metrics`, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
    expect(res.headers.get('content-type')).toMatch(/^application\/openmetrics-text/);
    const text = await res.text();
    const exported = new Set(receiver.spans.map((s) => s.traceId));
    const exemplars: Record<string, string[]> = {};
    for (const line of text.split('\n')) {
      const m = /^(flowlens_\w+)_bucket\{([^}]*)\} \d+ # \{trace_id="([0-9a-f]{32})"\} ([0-9.e-]+) [0-9.]+$/.exec(line);
      if (!m) continue;
      const le = /le="([^"]+)"/.exec(m[2]!)![1]!;
      // the exemplar's value lies within its bucket
      if (le !== '+Inf') expect(Number(m[4])).toBeLessThanOrEqual(Number(le));
      (exemplars[m[1]!] ??= []).push(m[3]!);
    }
    expect(Object.keys(exemplars).sort()).toEqual(['flowlens_dns_response_duration_seconds', 'flowlens_http_request_duration_seconds']);
    for (const ids of Object.values(exemplars)) for (const id of ids) expect(exported.has(id), id).toBe(true);
    // the Prometheus text format has no exemplars
    expect(await exporter.metricsText()).not.toContain('trace_id');
  });

  it('exports every flow record as a log record with the same fields as /api/flows', async () => {
    // the drop tracer sees the whole node's drops, so records may still come in: wait for a moment when
    // the receiver has exactly the records the API has, then compare them field by field
    const bySeq = (a: { seq: number }, b: { seq: number }) => a.seq - b.seq;
    const { records, logged } = await waitFor('every record logged', 30_000, () => exporter.output, async () => {
      const records = (await flows()).sort(bySeq);
      const logged = [...receiver.logRecords];
      return logged.length === records.length ? { records, logged } : undefined;
    });
    expect(records.length).toBeGreaterThan(10);
    const bodies = logged.map((r) => r.body as unknown as FlowRecord).sort(bySeq);
    expect(bodies).toEqual(records);
    for (const type of ['flow', 'tcp', 'dns', 'http']) expect(records.some((r) => r.type === type), type).toBe(true);
    for (const r of logged) {
      const body = r.body as unknown as FlowRecord;
      expect(r.eventName).toBe(`flowlens.flow.${body.type}`);
      expect(r.attributes).toEqual({ 'flowlens.flow.type': body.type, 'flowlens.flow.verdict': body.verdict });
      expect(r.resource['service.name']).toBe('flowlens');
      expect(r.scope).toBe('flowlens');
    }
    for (const md of receiver.logMetadata) expect(md['x-otel-test']).toBe('env-only');
    const m = await exporter.samples();
    expect(sumOf(m, 'flowlens_flow_logs_exported_total')).toBe(records.length);
    expect(sumOf(m, 'flowlens_flow_logs_dropped_total')).toBe(0);
  });

  it('with the receiver down, spans and log records are dropped and counted, the queues stay bounded', async () => {
    receiver.stop();
    const before = await exporter.samples();
    const spansBefore = sumOf(before, 'flowlens_spans_exported_total');
    const logsBefore = sumOf(before, 'flowlens_flow_logs_exported_total');
    const recordsBefore = (await flows()).length;
    const rssBefore = rssKiB(exporter.pid);
    const paths: Array<[string]> = Array.from({ length: LATE_EXCHANGES }, (_, i) => [`/late/${i}`]);
    expect(send(hosts.client, hosts.frontend, paths)).toBe(Array(LATE_EXCHANGES).fill(200).join(','));
    const lateSpans = 2 * LATE_EXCHANGES;
    // every record the store got after the stop is a log record to drop
    const m = await waitFor('every loss counted', 60_000, () => exporter.output, async () => {
      const samples = await exporter.samples();
      const records = (await flows()).length - recordsBefore;
      const spansDropped = sumOf(samples, 'flowlens_spans_dropped_total');
      const logsDropped = sumOf(samples, 'flowlens_flow_logs_dropped_total');
      return spansDropped === lateSpans && logsDropped === records && records >= lateSpans ? samples : undefined;
    });
    expect(sumOf(m, 'flowlens_spans_exported_total')).toBe(spansBefore);
    expect(sumOf(m, 'flowlens_flow_logs_exported_total')).toBe(logsBefore);
    // the queues held at most 64 each: the burst overflowed them (queue_full), the rest failed to export
    expect(sumOf(m, 'flowlens_spans_dropped_total', { reason: 'queue_full' })).toBeGreaterThan(0);
    expect(sumOf(m, 'flowlens_flow_logs_dropped_total', { reason: 'queue_full' })).toBeGreaterThan(0);
    // 300 exchanges' spans and records, none kept: the exporter's memory does not grow by them (a generous bound:
    // the garbage collector runs when it will)
    const rssAfter = rssKiB(exporter.pid);
    console.log(
      `receiver down: ${lateSpans} spans dropped (queue_full ${sumOf(m, 'flowlens_spans_dropped_total', { reason: 'queue_full' })}), ` +
        `${sumOf(m, 'flowlens_flow_logs_dropped_total')} log records dropped (queue_full ${sumOf(m, 'flowlens_flow_logs_dropped_total', { reason: 'queue_full' })}); ` +
        `VmRSS ${rssBefore} -> ${rssAfter} KiB`,
    );
    expect(rssAfter - rssBefore).toBeLessThan(64 * 1024);
    expect(exporter.child.exitCode).toBeNull();
  });
});
