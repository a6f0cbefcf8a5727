// The span sink: every protocol (DNS here, HTTP next) hands it finished
// exchanges, and it builds spans with the OpenTelemetry SDK and exports them
// over OTLP/gRPC. Spans are built with their own tracer provider rather than
// NodeSDK's global one: flowlens observes other processes' exchanges, so no
// global tracer, context propagation or auto-instrumentation of its own
// process belongs in them.
//
// Export is bounded: a queue of at most maxQueueSize spans, one export in
// flight, batches of maxExportBatchSize. A span that finds the queue full, or
// whose export fails, is dropped and counted, so a receiver that is down
// costs a bounded amount of memory and shows in flowlens_spans_dropped_total.

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { credentials, Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes, type Context, type Tracer } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type Span,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { KernelClock } from '../datapath/clock.js';

export interface TracesTlsConfig {
  /** PEM file of the CA(s) that sign the receiver's certificate; the system's roots when null. */
  caFile: string | null;
  /** PEM client certificate and key, for receivers that require mutual TLS. */
  certFile: string | null;
  keyFile: string | null;
}

export interface TracesConfig {
  /** OTLP/gRPC endpoint; http:// is plaintext, https:// TLS. null: no spans are built at all. */
  endpoint: string | null;
  /** gRPC metadata sent with every export (e.g. authorization). */
  headers: Record<string, string>;
  tls: TracesTlsConfig;
  /** Fraction of exchanges that become spans, decided by trace id (0..1). */
  samplingRatio: number;
  maxQueueSize: number;
  maxExportBatchSize: number;
  exportIntervalMilliseconds: number;
  exportTimeoutMilliseconds: number;
}

export const DEFAULT_TRACES_CONFIG: Readonly<TracesConfig> = {
  endpoint: null,
  headers: {},
  tls: { caFile: null, certFile: null, keyFile: null },
  samplingRatio: 1,
  maxQueueSize: 2048,
  maxExportBatchSize: 512,
  exportIntervalMilliseconds: 1000,
  exportTimeoutMilliseconds: 10_000,
};

/** An observed exchange, finished: what becomes one span. */
export interface FinishedExchange {
  name: string;
  kind: 'client' | 'server';
  /** CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns, process.hrtime.bigint()). */
  startNs: bigint;
  endNs: bigint;
  attributes: Attributes;
  /** Set when the exchange failed (an error rcode or status, no answer): the span's status is ERROR with it. */
  error?: string;
  /** The remote span this exchange continues (an HTTP request's traceparent): the span joins its trace. */
  parent?: { traceId: string; spanId: string };
}

export type SpanDropReason = 'queue_full' | 'export_failed';

export interface SpanStats {
  /** Exchanges handed to record(). */
  recorded: number;
  /** Of those, not sampled (by samplingRatio): never spans, not dropped. */
  sampledOut: number;
  exported: number;
  dropped: Record<SpanDropReason, number>;
}

export interface SpanSink {
  record(exchange: FinishedExchange): void;
  readonly stats: SpanStats;
  /** Exports what is queued now. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface SpanSinkOptions {
  /** Resource attributes beyond service.name/version and host.name (e.g. k8s.node.name). */
  resource?: Attributes;
  serviceVersion?: string;
  /** Replaces the OTLP/gRPC exporter (tests). */
  exporter?: SpanExporter;
  clock?: KernelClock;
  onExportError?: (err: Error) => void;
}

/** gRPC channel credentials from the endpoint's scheme and the TLS settings. */
export function channelCredentials(endpoint: string, tls: TracesTlsConfig): ChannelCredentials {
  if (new URL(endpoint).protocol === 'http:') return credentials.createInsecure();
  const read = (path: string | null): Buffer | null => (path ? readFileSync(path) : null);
  return credentials.createSsl(read(tls.caFile), read(tls.keyFile), read(tls.certFile));
}

/** The sink for `config`, or null when no endpoint is configured: then no span is ever built. */
export function createSpanSink(config: TracesConfig, options: SpanSinkOptions = {}): SpanSink | null {
  if (!config.endpoint) return null;
  return new OtlpSpanSink(config, options);
}

const SHUTDOWN_FLUSH_MS = 3000;

class BoundedExportProcessor implements SpanProcessor {
  private queue: ReadableSpan[] = [];
  private inFlight: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly exporter: SpanExporter,
    private readonly config: TracesConfig,
    private readonly stats: SpanStats,
    private readonly onError: (err: Error) => void,
  ) {
    this.timer = setInterval(() => void this.exportNext(), config.exportIntervalMilliseconds);
    this.timer.unref();
  }

  onStart(_span: Span, _context: Context): void {}

  onEnd(span: ReadableSpan): void {
    if (this.closed) return;
    if (this.queue.length >= this.config.maxQueueSize) {
      this.stats.dropped.queue_full += 1;
      return;
    }
    this.queue.push(span);
    if (this.queue.length >= this.config.maxExportBatchSize) void this.exportNext();
  }

  /** One batch, unless an export is already in flight (it will be followed by the timer). */
  private exportNext(): Promise<void> {
    if (this.inFlight || this.queue.length === 0) return this.inFlight ?? Promise.resolve();
    const batch = this.queue.splice(0, this.config.maxExportBatchSize);
    this.inFlight = new Promise<void>((resolve) => {
      let settled = false;
      const settle = (result: ExportResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timeout);
        if (result.code === ExportResultCode.SUCCESS) this.stats.exported += batch.length;
        else {
          this.stats.dropped.export_failed += batch.length;
          if (result.error) this.onError(result.error);
        }
        this.inFlight = undefined;
        resolve();
      };
      // an exporter that never calls back must not hold the queue forever
      const timeout = setTimeout(
        () => settle({ code: ExportResultCode.FAILED, error: new Error('export timed out') }),
        this.config.exportTimeoutMilliseconds + 1000,
      );
      timeout.unref();
      try {
        this.exporter.export(batch, settle);
      } catch (err) {
        settle({ code: ExportResultCode.FAILED, error: err as Error });
      }
    });
    return this.inFlight;
  }

  /** Exports what is queued now: as many batches as it takes, each waited for. */
  async forceFlush(): Promise<void> {
    const rounds = 1 + Math.ceil(this.queue.length / this.config.maxExportBatchSize);
    for (let round = 0; round <= rounds; round++) {
      if (!this.inFlight && this.queue.length === 0) return;
      await this.exportNext();
    }
  }

  /**
   * One last flush, bounded by SHUTDOWN_FLUSH_MS: a receiver that is down must
   * not hold the process's exit for the export timeout of every batch. What
   * is left is counted as dropped.
   */
  async shutdown(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.forceFlush(), new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_FLUSH_MS)))]);
    clearTimeout(timer);
    this.closed = true;
    clearInterval(this.timer);
    this.stats.dropped.export_failed += this.queue.length;
    this.queue = [];
    await this.exporter.shutdown();
  }
}

class OtlpSpanSink implements SpanSink {
  readonly stats: SpanStats = { recorded: 0, sampledOut: 0, exported: 0, dropped: { queue_full: 0, export_failed: 0 } };
  private readonly provider: BasicTracerProvider;
  private readonly processor: BoundedExportProcessor;
  private readonly tracer: Tracer;
  private readonly clock: KernelClock;

  constructor(config: TracesConfig, options: SpanSinkOptions) {
    const endpoint = config.endpoint!;
    const metadata = new Metadata();
    for (const [key, value] of Object.entries(config.headers)) metadata.set(key, value);
    const exporter =
      options.exporter ??
      new OTLPTraceExporter({
        url: endpoint,
        credentials: channelCredentials(endpoint, config.tls),
        metadata,
        timeoutMillis: config.exportTimeoutMilliseconds,
      });
    this.processor = new BoundedExportProcessor(exporter, config, this.stats, options.onExportError ?? (() => {}));
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        'service.name': 'flowlens',
        ...(options.serviceVersion ? { 'service.version': options.serviceVersion } : {}),
        'host.name': hostname(),
        ...options.resource,
      }),
      sampler: new TraceIdRatioBasedSampler(config.samplingRatio),
      spanProcessors: [this.processor],
    });
    this.tracer = this.provider.getTracer('flowlens', options.serviceVersion);
    this.clock = options.clock ?? new KernelClock();
  }

  record(exchange: FinishedExchange): void {
    this.stats.recorded += 1;
    const parent = exchange.parent
      ? trace.setSpanContext(ROOT_CONTEXT, { ...exchange.parent, traceFlags: TraceFlags.SAMPLED, isRemote: true })
      : ROOT_CONTEXT;
    const span = this.tracer.startSpan(
      exchange.name,
      {
        kind: exchange.kind === 'client' ? SpanKind.CLIENT : SpanKind.SERVER,
        startTime: this.clock.toHrTime(exchange.startNs),
        attributes: exchange.attributes,
      },
      parent,
    );
    if (!span.isRecording()) {
      this.stats.sampledOut += 1;
      return;
    }
    if (exchange.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: exchange.error });
    span.end(this.clock.toHrTime(exchange.endNs));
  }

  flush(): Promise<void> {
    return this.processor.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}
