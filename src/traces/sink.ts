// The OTLP side of flowlens, loaded only when an endpoint is set (run.ts
// imports this module with import(), so an exporter without one never loads
// the OpenTelemetry SDK and gRPC). Every protocol hands the span sink finished exchanges; it
// builds spans and exports them over OTLP/gRPC, and, when flowLogs.enabled,
// exports every flow record as an OTLP log record.
//
// The SDK is started through @opentelemetry/sdk-node's NodeSDK, without any
// instrumentation, context manager or propagator of its own process (flowlens
// observes other processes' exchanges), so that the standard variables work as
// with any OpenTelemetry SDK: OTEL_EXPORTER_OTLP_(TRACES_|LOGS_)ENDPOINT,
// _HEADERS, _CERTIFICATE, _CLIENT_KEY, _CLIENT_CERTIFICATE, _INSECURE,
// OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME,
// OTEL_TRACES_SAMPLER(_ARG). Settings flowlens' own configuration gives are
// handed to the SDK in code, and in every OpenTelemetry SDK those win over the
// environment; the rest comes from OTEL_*.
//
// Resources: a TracerProvider has one resource, but a span's resource must be
// the workload that made the exchange. Rather than one provider per workload
// (each with its own processor, exporter and gRPC channel), there is one
// provider, one sampler and one exporter, and the processor hands the exporter
// each span with its workload's resource: the SDK's resource (telemetry.sdk.*,
// OTEL_RESOURCE_ATTRIBUTES, host.*) merged with the workload's attributes
// (resource.ts), one Resource object per workload and pod, kept in a bounded
// LRU so the OTLP encoder groups spans by it.

import { readFileSync } from 'node:fs';
import { credentials, Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes, type Context, type Tracer } from '@opentelemetry/api';
import { SeverityNumber, type Logger as OtelLogger } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { defaultResource, detectResources, envDetector, hostDetector, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { LogRecordProcessor, SdkLogRecord, ReadableLogRecord, LogRecordExporter } from '@opentelemetry/sdk-logs';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type Span,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { KernelClock } from '../datapath/clock.js';
import type { Identity } from '../identity/identity.js';
import { BoundedExportQueue, type ExportCounts } from './bounded-export.js';
import type { FinishedExchange } from './exchange.js';
import { workloadResourceAttributes } from './resource.js';
import { ATTR_SERVICE_NAME, ATTR_K8S_NODE_NAME } from './semconv.js';

export type { FinishedExchange } from './exchange.js';

export interface TracesTlsConfig {
  /** PEM file of the CA(s) that sign the receiver's certificate; the system's roots when null. */
  caFile: string | null;
  /** PEM client certificate and key, for receivers that require mutual TLS. */
  certFile: string | null;
  keyFile: string | null;
}

export interface TracesConfig {
  /** OTLP/gRPC endpoint; http:// is plaintext, https:// TLS. null: OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT. */
  endpoint: string | null;
  /** gRPC metadata sent with every export (e.g. authorization), over OTEL_EXPORTER_OTLP_HEADERS. */
  headers: Record<string, string>;
  tls: TracesTlsConfig;
  /** Fraction of root exchanges that become spans, decided by trace id (0..1); null: OTEL_TRACES_SAMPLER. */
  samplingRatio: number | null;
  /** Labels naming a span's service.name, the first a workload has; else the workload's name. */
  serviceNameLabels: string[];
  maxQueueSize: number;
  maxExportBatchSize: number;
  exportIntervalMilliseconds: number;
  exportTimeoutMilliseconds: number;
}

export const DEFAULT_TRACES_CONFIG: Readonly<TracesConfig> = {
  endpoint: null,
  headers: {},
  tls: { caFile: null, certFile: null, keyFile: null },
  samplingRatio: null,
  serviceNameLabels: [],
  maxQueueSize: 2048,
  maxExportBatchSize: 512,
  exportIntervalMilliseconds: 1000,
  exportTimeoutMilliseconds: 10_000,
};

export interface FlowLogsConfig {
  enabled: boolean;
  maxQueueSize: number;
  maxExportBatchSize: number;
  exportIntervalMilliseconds: number;
  exportTimeoutMilliseconds: number;
}

export type SpanDropReason = 'queue_full' | 'export_failed';

export interface SpanStats {
  /** Exchanges handed to record(). */
  recorded: number;
  /** Of those, not sampled (by the sampler, or the caller's unsampled traceparent): never spans, not dropped. */
  sampledOut: number;
  exported: number;
  dropped: Record<SpanDropReason, number>;
}

/** Flow records handed to the log export, exported, and dropped by why. */
export interface FlowLogStats {
  emitted: number;
  exported: number;
  dropped: Record<SpanDropReason, number>;
}

export interface SpanSink {
  /** Builds the exchange's span; the trace id when it was sampled (and so will be exported), else undefined. */
  record(exchange: FinishedExchange): string | undefined;
  readonly stats: SpanStats;
  /** Exports what is queued now. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** What a flow log needs of a flow record (src/flows' FlowRecord: traces and flows are sibling layers). */
export interface LoggedRecord {
  /** RFC 3339 UTC with nanoseconds. */
  time: string;
  type: string;
  verdict: string;
}

export interface FlowLogSink {
  /** The record as /api/flows returns it becomes the log record's body. */
  emit(record: LoggedRecord): void;
  readonly stats: FlowLogStats;
  flush(): Promise<void>;
}

export interface SpanSinkOptions {
  serviceVersion?: string;
  /** This node's name: k8s.node.name of every resource. */
  nodeName?: string;
  /** The identity behind a number, for span resources; undefined when no source knows it. */
  workloads?: (id: number) => Identity | undefined;
  /** The pod at an address (k8s.pod.name), where the Kubernetes source knows it. */
  podAt?: (address: string) => string | undefined;
  /** Replaces the OTLP/gRPC exporters (tests). */
  exporter?: SpanExporter;
  logExporter?: LogRecordExporter;
  /** Flow records as log records; off when absent or not enabled. */
  flowLogs?: FlowLogsConfig;
  clock?: KernelClock;
  onExportError?: (err: Error) => void;
}

/** gRPC channel credentials from the endpoint's scheme and the TLS settings. */
export function channelCredentials(endpoint: string, tls: TracesTlsConfig): ChannelCredentials {
  if (new URL(endpoint).protocol === 'http:') return credentials.createInsecure();
  const read = (path: string | null): Buffer | null => (path ? readFileSync(path) : null);
  return credentials.createSsl(read(tls.caFile), read(tls.keyFile), read(tls.certFile));
}

/** The exporter options flowlens' settings give; what they leave out the exporter reads from OTEL_*. */
function exporterOptions(config: TracesConfig): { url?: string; credentials?: ChannelCredentials; metadata: Metadata; timeoutMillis: number } {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(config.headers)) metadata.set(key, value);
  const tlsSet = config.tls.caFile !== null || config.tls.certFile !== null;
  return {
    ...(config.endpoint !== null ? { url: config.endpoint } : {}),
    ...(config.endpoint !== null && (tlsSet || new URL(config.endpoint).protocol === 'http:')
      ? { credentials: channelCredentials(config.endpoint, config.tls) }
      : {}),
    metadata,
    timeoutMillis: config.exportTimeoutMilliseconds,
  };
}

/** Most workloads (and pods) whose Resource objects are kept; others are made again when next needed. */
export const MAX_RESOURCES = 4096;

/** Spans to the exporter, each with its workload's resource; bounded by BoundedExportQueue. */
class WorkloadSpanProcessor implements SpanProcessor {
  readonly owners = new WeakMap<object, FinishedExchange['owner']>();
  private readonly resources = new Map<string, Resource>();
  readonly queue: BoundedExportQueue<ReadableSpan>;

  constructor(
    exporter: SpanExporter,
    config: TracesConfig,
    counts: ExportCounts,
    onError: (err: Error) => void,
    private readonly options: SpanSinkOptions,
    private readonly serviceNameLabels: readonly string[],
  ) {
    this.queue = new BoundedExportQueue<ReadableSpan>(exporter, config, counts, onError);
  }

  onStart(_span: Span, _context: Context): void {}

  onEnd(span: ReadableSpan): void {
    const owner = this.owners.get(span);
    this.queue.push(owner === undefined ? span : withResource(span, this.resourceOf(span.resource, owner)));
  }

  private resourceOf(base: Resource, owner: FinishedExchange['owner']): Resource {
    const pod = this.options.podAt?.(owner.address);
    const key = `${owner.identity}/${pod ?? ''}`;
    let resource = this.resources.get(key);
    if (resource !== undefined) {
      // most recently used last
      this.resources.delete(key);
      this.resources.set(key, resource);
      return resource;
    }
    const attributes = workloadResourceAttributes(owner.identity, this.options.workloads?.(owner.identity), pod, {
      serviceNameLabels: this.serviceNameLabels,
      nodeName: this.options.nodeName ?? '',
    });
    resource = base.merge(resourceFromAttributes(attributes));
    this.resources.set(key, resource);
    if (this.resources.size > MAX_RESOURCES) this.resources.delete(this.resources.keys().next().value!);
    return resource;
  }

  forceFlush(): Promise<void> {
    return this.queue.flush();
  }

  shutdown(): Promise<void> {
    return this.queue.shutdown();
  }
}

/** The span as the exporter reads it, with another resource: every other field is the span's own. */
function withResource(span: ReadableSpan, resource: Resource): ReadableSpan {
  return Object.create(span, { resource: { value: resource, enumerable: true } }) as ReadableSpan;
}

/** Log records to the exporter through a bounded queue. */
class BoundedLogProcessor implements LogRecordProcessor {
  readonly queue: BoundedExportQueue<ReadableLogRecord>;
  constructor(exporter: LogRecordExporter, config: FlowLogsConfig, counts: ExportCounts, onError: (err: Error) => void) {
    this.queue = new BoundedExportQueue<ReadableLogRecord>(exporter, config, counts, onError);
  }
  onEmit(record: SdkLogRecord): void {
    this.queue.push(record);
  }
  forceFlush(): Promise<void> {
    return this.queue.flush();
  }
  shutdown(): Promise<void> {
    return this.queue.shutdown();
  }
}

/** RFC 3339 with nanoseconds (FlowRecord.time) as [seconds, nanoseconds]. */
function hrTimeOf(time: string): [number, number] {
  const m = /^(.{19})(?:\.(\d{1,9}))?Z$/.exec(time);
  if (!m) return [Math.floor(Date.parse(time) / 1000), 0];
  return [Date.parse(`${m[1]}Z`) / 1000, Number((m[2] ?? '').padEnd(9, '0'))];
}

/** NodeSDK keeps its providers to itself; the tracer and logger must come from these, not from whatever is global. */
function sdkProvider<T>(sdk: NodeSDK, field: '_tracerProvider' | '_loggerProvider'): T {
  const provider = (sdk as unknown as Record<string, T | undefined>)[field];
  if (provider === undefined) throw new Error(`NodeSDK started without ${field}`);
  return provider;
}

/** The telemetry started for `config`: the span sink, and the flow-log sink when flowLogs.enabled. */
export interface Telemetry {
  spans: SpanSink;
  flowLogs: FlowLogSink | null;
  shutdown(): Promise<void>;
}

export async function startTelemetry(config: TracesConfig, options: SpanSinkOptions = {}): Promise<Telemetry> {
  // flowlens' own resource (the flow logs', and the base of every span's): OTEL_SERVICE_NAME and
  // OTEL_RESOURCE_ATTRIBUTES (envDetector) win over it; no process.* (flowlens' process is not the
  // workloads'), and no service.version: flowlens' version is the instrumentation scope's, and a
  // workload's resource must not carry it. Detected here rather than by NodeSDK, and settled (host.id
  // is read asynchronously) before the first span, so every workload's resource has all of it.
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'flowlens', ...(options.nodeName ? { [ATTR_K8S_NODE_NAME]: options.nodeName } : {}) }))
    .merge(detectResources({ detectors: [hostDetector, envDetector] }));
  await resource.waitForAsyncAttributes?.();

  const spanStats: SpanStats = { recorded: 0, sampledOut: 0, exported: 0, dropped: { queue_full: 0, export_failed: 0 } };
  const onError = options.onExportError ?? (() => {});
  const exporter = options.exporter ?? new OTLPTraceExporter(exporterOptions(config));
  const processor = new WorkloadSpanProcessor(exporter, config, spanStats, onError, options, config.serviceNameLabels);

  const logStats: FlowLogStats = { emitted: 0, exported: 0, dropped: { queue_full: 0, export_failed: 0 } };
  const logsConfig = options.flowLogs?.enabled ? options.flowLogs : undefined;
  const logProcessor = logsConfig
    ? new BoundedLogProcessor(
        options.logExporter ?? new OTLPLogExporter(exporterOptions({ ...config, exportTimeoutMilliseconds: logsConfig.exportTimeoutMilliseconds })),
        logsConfig,
        logStats,
        onError,
      )
    : undefined;

  const sdk = new NodeSDK({
    resource,
    autoDetectResources: false,
    instrumentations: [],
    // null: register none (the typings leave null out; NodeSDK's setupContextManager documents it)
    contextManager: null as unknown as undefined,
    textMapPropagator: null,
    metricReaders: [],
    spanProcessors: [processor],
    logRecordProcessors: logProcessor ? [logProcessor] : [],
    // a ratio in the config: parent-based, the ratio for roots; else OTEL_TRACES_SAMPLER, by default parentbased_always_on
    ...(config.samplingRatio !== null
      ? { sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.samplingRatio) }) }
      : {}),
  });
  sdk.start();
  const tracer = sdkProvider<{ getTracer(name: string, version?: string): Tracer }>(sdk, '_tracerProvider').getTracer(
    'flowlens',
    options.serviceVersion,
  );
  const clock = options.clock ?? new KernelClock();

  const spans: SpanSink = {
    stats: spanStats,
    record(exchange: FinishedExchange): string | undefined {
      spanStats.recorded += 1;
      const parent = exchange.parent
        ? trace.setSpanContext(ROOT_CONTEXT, {
            traceId: exchange.parent.traceId,
            spanId: exchange.parent.spanId,
            traceFlags: exchange.parent.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
            isRemote: true,
          })
        : ROOT_CONTEXT;
      const span = tracer.startSpan(
        exchange.name,
        {
          kind: exchange.kind === 'client' ? SpanKind.CLIENT : SpanKind.SERVER,
          startTime: clock.toHrTime(exchange.startNs),
          attributes: exchange.attributes,
        },
        parent,
      );
      if (!span.isRecording()) {
        spanStats.sampledOut += 1;
        return undefined;
      }
      if (exchange.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: exchange.error });
      processor.owners.set(span, exchange.owner);
      span.end(clock.toHrTime(exchange.endNs));
      return span.spanContext().traceId;
    },
    flush: () => processor.forceFlush(),
    shutdown: () => sdk.shutdown(),
  };

  let flowLogs: FlowLogSink | null = null;
  if (logProcessor) {
    const logger = sdkProvider<{ getLogger(name: string, version?: string): OtelLogger }>(sdk, '_loggerProvider').getLogger(
      'flowlens',
      options.serviceVersion,
    );
    flowLogs = {
      stats: logStats,
      emit(record: LoggedRecord): void {
        logStats.emitted += 1;
        // the record exactly as /api/flows returns it (JSON drops what is undefined)
        const body = JSON.parse(JSON.stringify(record)) as Record<string, never>;
        const attributes: Attributes = { 'flowlens.flow.type': record.type, 'flowlens.flow.verdict': record.verdict };
        logger.emit({
          timestamp: hrTimeOf(record.time),
          severityNumber: record.verdict === 'dropped' ? SeverityNumber.WARN : SeverityNumber.INFO,
          severityText: record.verdict === 'dropped' ? 'WARN' : 'INFO',
          eventName: `flowlens.flow.${record.type}`,
          body,
          attributes,
        });
      },
      flush: () => logProcessor.forceFlush(),
    };
  }
  return { spans, flowLogs, shutdown: () => sdk.shutdown() };
}

/** The span sink alone (as before flow logs): null when no endpoint is configured. */
export async function createSpanSink(config: TracesConfig, options: SpanSinkOptions = {}): Promise<SpanSink | null> {
  if (!config.endpoint && !options.exporter) return null;
  return (await startTelemetry(config, options)).spans;
}
