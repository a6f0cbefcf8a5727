import { join } from 'node:path';
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData, loadPackageDefinition, type GrpcObject } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

/**
 * A real OTLP/gRPC trace receiver for tests: a @grpc/grpc-js server
 * implementing TraceService/Export, decoding each ExportTraceServiceRequest
 * with the protobuf subset in otlp/trace_service.proto.
 */

export type AttributeValue = string | number | boolean | bigint | null;

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
  requests = 0;
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
    const definition = loadSync(join(import.meta.dirname, 'otlp', 'trace_service.proto'), {
      keepCase: false,
      longs: String,
      enums: String,
      bytes: String,
      defaults: true,
      oneofs: true,
    });
    const pkg = loadPackageDefinition(definition) as unknown as {
      opentelemetry: { proto: { collector: { trace: { v1: GrpcObject & { TraceService: { service: never } } } } } };
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
