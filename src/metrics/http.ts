// HTTP/1.x golden signals from the kernel: requests, responses by status and
// latency, by the identities of client (source) and server (destination),
// with the side that observed them (reporter).

import type { Registry } from 'prom-client';
import { HTTP_DURATION_BOUNDS_SECONDS, type HttpResponseRecord } from '../datapath/records.js';
import { registerIdentityPairCounter } from './core/identity-pair-counter.js';
import { registerIdentityPairHistogram } from './core/identity-pair-histogram.js';
import { CONTEXT_HELP, OVERFLOW_HELP, type FamilyContext } from './core/family-context.js';
import { KernelCounter } from './core/kernel-counter.js';
import type { ScrapeScope } from './core/scrape.js';
import { sumByLabels } from './core/series.js';
import { httpRecordKey, type ExchangeExemplars } from './exemplars.js';
import { HTTP_REQUESTS_TOTAL, HTTP_RESPONSES_TOTAL, HTTP_REQUEST_DURATION_SECONDS, HTTP_UNMATCHED_MESSAGES_TOTAL } from './names.js';

const HTTP_HELP =
  'Source is the client, destination the server; reporter says whose interface the exchange was seen at ' +
  '(client or server: an exchange between two local endpoints is reported once by each side).';

/** 200 -> "2xx". */
export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}

export function registerHttp(ctx: FamilyContext, exemplars?: ExchangeExemplars): void {
  registerIdentityPairCounter(ctx, {
    name: HTTP_REQUESTS_TOTAL,
    help:
      'HTTP/1.x requests recognised by their request line (method, target, HTTP/1.0 or 1.1 in one segment), ' +
      `retransmissions once. ${HTTP_HELP} ${CONTEXT_HELP} ${OVERFLOW_HELP}`,
    extraLabelNames: ['method', 'reporter'],
    records: (view) => view.snapshot.httpRequests,
    render: (r) => [r.method, r.reporter],
    value: (r) => r.count,
  });
  registerIdentityPairCounter(ctx, {
    name: HTTP_RESPONSES_TOTAL,
    help:
      'HTTP/1.x responses by status code and the method of the request they answer, matched in order per ' +
      'connection; method "unknown" when that request was not recognised (split across segments, or sent before ' +
      `the exporter watched). ${HTTP_HELP} ${CONTEXT_HELP} ${OVERFLOW_HELP}`,
    extraLabelNames: ['method', 'status', 'reporter'],
    records: (view) => view.snapshot.httpResponses,
    render: (r) => [r.method, String(r.status), r.reporter],
    value: (r) => r.count,
  });
  registerDuration(ctx, exemplars);
}

/** Histogram of exchange latencies (request line to status line), from the kernel's per-bucket counts. */
function registerDuration(ctx: FamilyContext, exemplars: ExchangeExemplars | undefined): void {
  registerIdentityPairHistogram(ctx, {
    name: HTTP_REQUEST_DURATION_SECONDS,
    help:
      'Latency of HTTP/1.x exchanges: from the request line to the status line of its response, as seen at the ' +
      `reporting interface; buckets 1 ms to 10 s. ${HTTP_HELP} ${CONTEXT_HELP} ${OVERFLOW_HELP}`,
    extraLabelNames: ['method', 'status_class', 'reporter'],
    bounds: HTTP_DURATION_BOUNDS_SECONDS,
    records: (view) => view.snapshot.httpResponses,
    render: (r) => [r.method, statusClass(r.status), r.reporter],
    buckets: (r) => r.buckets,
    sum: (r) => r.durationSeconds,
    ...(exemplars ? { exemplars: (r: HttpResponseRecord) => exemplars.http.get(httpRecordKey(r)) } : {}),
  });
}

export function registerHttpMessages(registers: Registry[], scope: ScrapeScope): void {
  new KernelCounter({
    name: HTTP_UNMATCHED_MESSAGES_TOTAL,
    help:
      'HTTP/1.x messages that made no timed exchange: unmatched_response (a status line with no request ' +
      'outstanding), pipeline_overflow (a request beyond 4 outstanding on one connection), retransmit (a request ' +
      'or status line seen again).',
    labelNames: ['reason'],
    registers,
    read: () => sumByLabels(scope.current().snapshot.httpMessages.map((m) => [{ reason: m.reason }, m.count])),
  });
}
