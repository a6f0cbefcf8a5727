export {
  DEFAULT_TRACES_CONFIG,
  channelCredentials,
  createSpanSink,
  type FinishedExchange,
  type SpanDropReason,
  type SpanSink,
  type SpanSinkOptions,
  type SpanStats,
  type TracesConfig,
  type TracesTlsConfig,
} from './sink.js';
export { DNS_TIMEOUT_ERROR, dnsExchange } from './dns.js';
export { httpExchange, pathRedactions } from './http.js';
export { httpSpan, redactPath, type PathRedaction } from './http-span.js';
