import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { InMemorySpanExporter, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { KernelClock } from '../../src/datapath/clock.js';
import { createSpanSink, DEFAULT_TRACES_CONFIG, type FinishedExchange, type SpanSink, type TracesConfig } from '../../src/traces/sink.js';

const sinks: SpanSink[] = [];
afterEach(async () => {
  for (const s of sinks.splice(0)) await s.shutdown();
});

/** Monotonic 1000 s is wall 1_700_000_000 s. */
const clock = new KernelClock(() => 1000n * 1_000_000_000n, () => 1_700_000_000_000 - 1);

function sink(exporter: SpanExporter, over: Partial<TracesConfig> = {}): SpanSink {
  const s = createSpanSink({ ...DEFAULT_TRACES_CONFIG, endpoint: 'http://127.0.0.1:1', ...over }, { exporter, clock, serviceVersion: '9.9.9' });
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
  it('no endpoint: no sink, so nothing is ever built', () => {
    expect(createSpanSink({ ...DEFAULT_TRACES_CONFIG, endpoint: null })).toBeNull();
  });

  it('one span per exchange: name, kind, kernel clock as wall time, attributes, status, resource', async () => {
    const exporter = new InMemorySpanExporter();
    const s = sink(exporter);
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
    expect(client!.resource.attributes['service.name']).toBe('flowlens');
    expect(client!.resource.attributes['service.version']).toBe('9.9.9');
    expect(client!.parentSpanContext).toBeUndefined();
    expect(s.stats).toEqual({ recorded: 2, sampledOut: 0, exported: 2, dropped: { queue_full: 0, export_failed: 0 } });
  });

  it('sampling ratio 0 builds no span and drops none', async () => {
    const exporter = new InMemorySpanExporter();
    const s = sink(exporter, { samplingRatio: 0 });
    for (let i = 0; i < 10; i++) s.record(exchange());
    await s.flush();
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(s.stats).toEqual({ recorded: 10, sampledOut: 10, exported: 0, dropped: { queue_full: 0, export_failed: 0 } });
  });

  it('a receiver that fails: spans are counted dropped, the queue stays bounded, and delivery resumes after', async () => {
    const exporter = new HeldExporter();
    const s = sink(exporter, { maxQueueSize: 4, maxExportBatchSize: 2, exportIntervalMilliseconds: 60_000 });
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
});
