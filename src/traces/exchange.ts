// What every protocol (DNS, HTTP) hands the span sink: one finished exchange,
// pure data, so that the mappings are tested without the SDK and the SDK is
// loaded only when spans are sent (src/traces/sink.ts).

import type { Attributes } from '@opentelemetry/api';

/** An observed exchange, finished: what becomes one span. */
export interface FinishedExchange {
  name: string;
  kind: 'client' | 'server';
  /** CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns, process.hrtime.bigint()). */
  startNs: bigint;
  endNs: bigint;
  attributes: Attributes;
  /**
   * The end whose span this is (the client of a client span, the server of a
   * server span): its identity and address give the span's resource, the
   * workload that made it.
   */
  owner: { identity: number; address: string };
  /** Set when the exchange failed (an error rcode or status, no answer): the span's status is ERROR with it. */
  error?: string;
  /** The remote span this exchange continues (an HTTP request's traceparent): the span joins its trace, if sampled. */
  parent?: { traceId: string; spanId: string; sampled: boolean };
}
