import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { InMemorySpanExporter, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { KernelClock } from '../../src/datapath/clock.js';
import type { Identity } from '../../src/identity/identity.js';
import { createSpanSink, DEFAULT_TRACES_CONFIG, type FinishedExchange, type SpanSink, type TracesConfig } from '../../src/traces/sink.js';

const sinks: SpanSink[] = [];
afterEach(async () => {
  for (const s of sinks.splice(0)) await s.shutdown();
});

/** Monotonic 1000 s is wall 1_700_000_000 s. */
const clock = new KernelClock(() => 1000n * 1_000_000_000n, () => 1_700_000_000_000 - 1);

/** Workloads as the identity store knows them: a Deployment, a StatefulSet with a name label, a static identity. */
const WORKLOADS = new Map<number, Identity>([
  [70001, { id: 70001, namespace: 'shop', workload: 'frontend', workloadKind: 'Deployment', labels: { app: 'fe' }, source: 'kubernetes' }],
  [70002, { id: 70002, namespace: 'shop', workload: 'db', workloadKind: 'StatefulSet', labels: { 'app.kubernetes.io/name': 'postgres' }, source: 'kubernetes' }],
  [70003, { id: 70003, namespace: 'legacy', workload: 'batch', labels: {}, source: 'static' }],
]);
const PODS = new Map([['10.0.0.1', 'frontend-7d9f-abcde'], ['10.0.0.2', 'db-0']]);

async function sink(exporter: SpanExporter, over: Partial<TracesConfig> = {}): Promise<SpanSink> {
  const s = await createSpanSink(
    { ...DEFAULT_TRACES_CONFIG, endpoint: 'http://127.0.0.1:1', serviceNameLabels: ['app.kubernetes.io/name'], ...over },
    { exporter, clock, serviceVersion: '9.9.9', nodeName: 'node-a', workloads: (id) => WORKLOADS.get(id), podAt: (a) => PODS.get(a) },
  );
  if (!s) throw new Error('no sink');
  sinks.push(s);
  return s;
}

const exchange = (over: Partial<FinishedExchange> = {}): FinishedExchange => ({
  name: 'DNS A www.example.com',
  kind: 'client',
  startNs: 1000n * 1_000_000_000n + 5_000n,
  endNs: 1000n * 1_000_000_000n + 1_505_000n,
  attributes: { 'dns.question.name': 'www.example.com', 'server.port': 53 },
  owner: { identity: 70001, address: '10.0.0.1' },
  ...over,
});

/** An exporter that holds every export until release() and fails or succeeds as told. */
class HeldExporter implements SpanExporter {
  pending: Array<{ spans: ReadableSpan[]; done: (r: ExportResult) => void }> = [];
  export(spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    this.pending.push({ spans, done });
  }
  release(code: ExportResultCode): number {
    const batch = this.pending.shift();
    if (!batch) return 0;
    batch.done(code === ExportResultCode.SUCCESS ? { code } : { code, error: new Error('receiver down') });
    return batch.spans.length;
  }
  async shutdown(): Promise<void> {}
}

describe('span sink', () => {
  it('no endpoint: no sink, so nothing is ever built', async () => {
    expect(await createSpanSink({ ...DEFAULT_TRACES_CONFIG, endpoint: null })).toBeNull();
  });

  it('one span per exchange: name, kind, kernel clock as wall time, attributes, status, resource', async () => {
    const exporter = new InMemorySpanExporter();
    const s = await sink(exporter);
    s.record(exchange());
    s.record(exchange({ kind: 'server', error: 'NXDOMAIN' }));
    await s.flush();
    const spans = exporter.getFinishedSpans();
    expect(spans.length).toBe(2);
    const [client, server] = spans;
    expect(client!.name).toBe('DNS A www.example.com');
    expect(client!.kind).toBe(SpanKind.CLIENT);
    expect(server!.kind).toBe(SpanKind.SERVER);
    // wall 1_700_000_000 s - 1 ms at monotonic 1000 s; start 5 us later, end at 1.505 ms
    expect(client!.startTime).toEqual([1_699_999_999, 999_005_000]);
    expect(client!.endTime).toEqual([1_700_000_000, 505_000]);
    expect(client!.attributes).toEqual({ 'dns.question.name': 'www.example.com', 'server.port': 53 });
    expect(client!.status.code).toBe(SpanStatusCode.UNSET);
    expect(server!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'NXDOMAIN' });
    // the resource is the workload's (resource.ts), over the SDK's own; the scope is flowlens
    expect(client!.resource.attributes['service.name']).toBe('frontend');
    expect(client!.resource.attributes['telemetry.sdk.name']).toBe('opentelemetry');
    expect(client!.instrumentationScope).toMatchObject({ name: 'flowlens', version: '9.9.9' });
    expect(client!.parentSpanContext).toBeUndefined();
    expect(s.stats).toEqual({ recorded: 2, sampledOut: 0, exported: 2, dropped: { queue_full: 0, export_failed: 0 } });
  });

  it('sampling ratio 0 builds no span and drops none', async () => {
    const exporter = new InMemorySpanExporter();
    const s = await sink(exporter, { samplingRatio: 0 });
    for (let i = 0; i < 10; i++) s.record(exchange());
    await s.flush();
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(s.stats).toEqual({ recorded: 10, sampledOut: 10, exported: 0, dropped: { queue_full: 0, export_failed: 0 } });
  });

  it('a receiver that fails: spans are counted dropped, the queue stays bounded, and delivery resumes after', async () => {
    const exporter = new HeldExporter();
    const s = await sink(exporter, { maxQueueSize: 4, maxExportBatchSize: 2, exportIntervalMilliseconds: 60_000 });
    // the first full batch goes out at once and is held; the queue then takes 4 more; the rest are refused
    for (let i = 0; i < 10; i++) s.record(exchange());
    expect(exporter.pending.length).toBe(1);
    expect(s.stats.dropped.queue_full).toBe(4);
    expect(exporter.release(ExportResultCode.FAILED)).toBe(2);
    expect(s.stats.dropped.export_failed).toBe(2);
    const flushed = s.flush();
    // the four queued spans go out as two batches, one at a time
    await Promise.resolve();
    expect(exporter.release(ExportResultCode.FAILED)).toBe(2);
    await new Promise((r) => setTimeout(r, 0));
    expect(exporter.release(ExportResultCode.SUCCESS)).toBe(2);
    await flushed;
    expect(s.stats).toEqual({ recorded: 10, sampledOut: 0, exported: 2, dropped: { queue_full: 4, export_failed: 4 } });
  });

  it('each span under the workload that made it: resource per workload and pod, one Resource object each', async () => {
    const exporter = new InMemorySpanExporter();
    const s = await sink(exporter);
    s.record(exchange({ owner: { identity: 70001, address: '10.0.0.1' } }));
    s.record(exchange({ kind: 'server', owner: { identity: 70002, address: '10.0.0.2' } }));
    s.record(exchange({ owner: { identity: 70003, address: '10.0.0.3' } }));
    s.record(exchange({ owner: { identity: 2, address: '192.0.2.1' } }));
    s.record(exchange({ owner: { identity: 70001, address: '10.0.0.1' } }));
    await s.flush();
    const spans = exporter.getFinishedSpans();
    const own = (span: ReadableSpan) =>
      Object.fromEntries(Object.entries(span.resource.attributes).filter(([k]) => k.startsWith('service.') || k.startsWith('k8s.') || k.startsWith('flowlens.')));
    expect(spans.map(own)).toEqual([
      {
        'service.name': 'frontend', 'service.namespace': 'shop', 'k8s.namespace.name': 'shop',
        'k8s.deployment.name': 'frontend', 'k8s.pod.name': 'frontend-7d9f-abcde', 'k8s.node.name': 'node-a', 'flowlens.workload.kind': 'Deployment',
      },
      {
        // the configured label names the service
        'service.name': 'postgres', 'service.namespace': 'shop', 'k8s.namespace.name': 'shop',
        'k8s.statefulset.name': 'db', 'k8s.pod.name': 'db-0', 'k8s.node.name': 'node-a', 'flowlens.workload.kind': 'StatefulSet',
      },
      // a static identity: no kind, no pod
      { 'service.name': 'batch', 'service.namespace': 'legacy', 'k8s.namespace.name': 'legacy', 'k8s.node.name': 'node-a' },
      // an identity no source knows: named by its number
      { 'service.name': 'identity:2', 'k8s.node.name': 'node-a' },
      expect.objectContaining({ 'service.name': 'frontend' }),
    ]);
    // the same workload and pod share one Resource object, so the OTLP encoder groups their spans
    expect(spans[4]!.resource).toBe(spans[0]!.resource);
    // flowlens' version is the scope's, not the workloads'
    expect(spans.every((x) => x.resource.attributes['service.version'] === undefined && x.instrumentationScope.version === '9.9.9')).toBe(true);
    // the host detector's host.id (read asynchronously) is there from the first span
    expect(spans.every((x) => !x.resource.asyncAttributesPending && typeof x.resource.attributes['host.id'] === 'string')).toBe(true);
    // OTEL_RESOURCE_ATTRIBUTES-style attributes of the SDK's resource are kept under every workload's
    expect(spans[1]!.resource.attributes['host.name']).toBeDefined();
  });

  it('parent-based sampling: an unsampled traceparent gives no span, a sampled one a child; the ratio applies to roots only', async () => {
    const exporter = new InMemorySpanExporter();
    const s = await sink(exporter, { samplingRatio: 0 });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    expect(s.record(exchange({ parent: { traceId, spanId: '00f067aa0ba902b7', sampled: false } }))).toBeUndefined();
    expect(s.record(exchange({ parent: { traceId, spanId: '00f067aa0ba902b8', sampled: true } }))).toBe(traceId);
    // a root: ratio 0
    expect(s.record(exchange())).toBeUndefined();
    await s.flush();
    const spans = exporter.getFinishedSpans();
    expect(spans.map((x) => [x.spanContext().traceId, x.parentSpanContext?.spanId])).toEqual([[traceId, '00f067aa0ba902b8']]);
    expect(s.stats).toMatchObject({ recorded: 3, sampledOut: 2, exported: 1 });

    // ratio 1: every root, still no child of an unsampled caller
    const all = new InMemorySpanExporter();
    const t = await sink(all, { samplingRatio: 1 });
    expect(t.record(exchange({ parent: { traceId, spanId: '00f067aa0ba902b7', sampled: false } }))).toBeUndefined();
    expect(t.record(exchange())).toMatch(/^[0-9a-f]{32}$/);
    await t.flush();
    expect(all.getFinishedSpans().length).toBe(1);
  });
});
