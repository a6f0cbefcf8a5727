import { join } from 'node:path';
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData, loadPackageDefinition, type GrpcObject } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

/**
 * A real OTLP/gRPC receiver for tests: a @grpc/grpc-js server implementing
 * TraceService/Export and LogsService/Export, decoding each request with the
 * protobuf subsets in otlp/trace_service.proto and otlp/logs_service.proto.
 */

export type AttributeValue = string | number | boolean | bigint | null;

/** An AnyValue decoded to plain JSON-like data: maps to objects, arrays to arrays. */
export type AnyValue = AttributeValue | AnyValue[] | { [key: string]: AnyValue };

export interface ReceivedLogRecord {
  timeNs: bigint;
  severityNumber: number;
  severityText: string;
  eventName: string;
  body: AnyValue;
  attributes: Record<string, AttributeValue>;
  resource: Record<string, AttributeValue>;
  scope: string;
}

export interface ReceivedSpan {
  name: string;
  kind: string; // SPAN_KIND_CLIENT, ...
  traceId: string;
  spanId: string;
  parentSpanId: string;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, AttributeValue>;
  status: { code: string; message: string };
  resource: Record<string, AttributeValue>;
  scope: string;
}

interface KeyValue {
  key: string;
  value?: { value?: string; stringValue?: string; boolValue?: boolean; intValue?: string; doubleValue?: number };
}

interface AnyValueMessage {
  value?: string;
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values?: AnyValueMessage[] };
  kvlistValue?: { values?: Array<{ key: string; value?: AnyValueMessage }> };
}

function anyValue(v: AnyValueMessage | undefined): AnyValue {
  switch (v?.value) {
    case 'stringValue':
      return v.stringValue!;
    case 'boolValue':
      return v.boolValue!;
    case 'intValue':
      return Number(v.intValue);
    case 'doubleValue':
      return v.doubleValue!;
    case 'arrayValue':
      return (v.arrayValue?.values ?? []).map(anyValue);
    case 'kvlistValue':
      return Object.fromEntries((v.kvlistValue?.values ?? []).map((kv) => [kv.key, anyValue(kv.value)]));
    default:
      return null;
  }
}

function attributes(list: KeyValue[] | undefined): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const kv of list ?? []) {
    const v = kv.value;
    switch (v?.value) {
      case 'stringValue':
        out[kv.key] = v.stringValue!;
        break;
      case 'boolValue':
        out[kv.key] = v.boolValue!;
        break;
      case 'intValue':
        out[kv.key] = Number(v.intValue);
        break;
      case 'doubleValue':
        out[kv.key] = v.doubleValue!;
        break;
      default:
        out[kv.key] = null;
    }
  }
  return out;
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly logRecords: ReceivedLogRecord[] = [];
  requests = 0;
  logRequests = 0;
  /** gRPC metadata of every logs request, flattened to strings. */
  readonly logMetadata: Array<Record<string, string>> = [];
  /** gRPC metadata of every request, flattened to strings. */
  readonly metadata: Array<Record<string, string>> = [];
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<OtlpReceiver> {
    const options = { keepCase: false, longs: String, enums: String, bytes: String, defaults: true, oneofs: true };
    const definition = loadSync(join(import.meta.dirname, 'otlp', 'trace_service.proto'), options);
    const pkg = loadPackageDefinition(definition) as unknown as {
      opentelemetry: { proto: { collector: { trace: { v1: GrpcObject & { TraceService: { service: never } } } } } };
    };
    const logsPkg = loadPackageDefinition(loadSync(join(import.meta.dirname, 'otlp', 'logs_service.proto'), options)) as unknown as {
      opentelemetry: { proto: { collector: { logs: { v1: GrpcObject & { LogsService: { service: never } } } } } };
    };
    const server = new Server();
    let receiver: OtlpReceiver | undefined;
    server.addService(pkg.opentelemetry.proto.collector.trace.v1.TraceService.service, {
      Export: (call: ServerUnaryCall<any, any>, callback: sendUnaryData<any>) => {
        receiver!.requests += 1;
        receiver!.metadata.push(Object.fromEntries(Object.entries(call.metadata.getMap()).map(([k, v]) => [k, String(v)])));
        for (const rs of call.request.resourceSpans ?? []) {
          const resource = attributes(rs.resource?.attributes);
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              receiver!.spans.push({
                name: s.name,
                kind: s.kind,
                traceId: Buffer.from(s.traceId, 'base64').toString('hex'),
                spanId: Buffer.from(s.spanId, 'base64').toString('hex'),
                parentSpanId: Buffer.from(s.parentSpanId, 'base64').toString('hex'),
                startNs: BigInt(s.startTimeUnixNano),
                endNs: BigInt(s.endTimeUnixNano),
                attributes: attributes(s.attributes),
                status: { code: s.status?.code ?? 'STATUS_CODE_UNSET', message: s.status?.message ?? '' },
                resource,
                scope: ss.scope?.name ?? '',
              });
            }
          }
        }
        callback(null, {});
      },
    });
    server.addService(logsPkg.opentelemetry.proto.collector.logs.v1.LogsService.service, {
      Export: (call: ServerUnaryCall<any, any>, callback: sendUnaryData<any>) => {
        receiver!.logRequests += 1;
        receiver!.logMetadata.push(Object.fromEntries(Object.entries(call.metadata.getMap()).map(([k, v]) => [k, String(v)])));
        for (const rl of call.request.resourceLogs ?? []) {
          const resource = attributes(rl.resource?.attributes);
          for (const sl of rl.scopeLogs ?? []) {
            for (const r of sl.logRecords ?? []) {
              receiver!.logRecords.push({
                timeNs: BigInt(r.timeUnixNano),
                severityNumber: Number(r.severityNumber),
                severityText: r.severityText,
                eventName: r.eventName,
                body: anyValue(r.body),
                attributes: attributes(r.attributes),
                resource,
                scope: sl.scope?.name ?? '',
              });
            }
          }
        }
        callback(null, {});
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    receiver = new OtlpReceiver(server, port);
    return receiver;
  }

  /** Stops at once: calls in flight fail, as when a collector goes down. */
  stop(): void {
    this.server.forceShutdown();
  }
}
