// The span mappings, light enough to load at start. The OTLP side (sink.ts:
// the OpenTelemetry SDK and gRPC) is imported with import() where it is used,
// and only when an endpoint is set, so this index does not re-export it.
export type { FinishedExchange } from './exchange.js';
export { DNS_TIMEOUT_ERROR, dnsExchange } from './dns.js';
export { httpExchange, pathRedactions } from './http.js';
export { httpSpan, redactPath, type PathRedaction, type RemoteParent } from './http-span.js';
export { otlpEndpoint } from './otel-env.js';
export { workloadResourceAttributes, type WorkloadResourceOptions } from './resource.js';
