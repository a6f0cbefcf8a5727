// HTTP/1.x golden signals from the kernel: requests, responses by status and
// latency, by the identities of client (source) and server (destination),
// with the side that observed them (reporter).

import { Counter, Histogram, type Registry } from 'prom-client';
import { HTTP_DURATION_BOUNDS_SECONDS, OVERFLOW_IDENTITY, type HttpResponseRecord } from '../datapath/records.js';
import { registerIdentityPairCounter } from './core/identity-pair-counter.js';
import { CONTEXT_HELP, OVERFLOW_HELP, type FamilyContext } from './core/family-context.js';
import { OVERFLOW } from './core/labels.js';
import { KEY_SEPARATOR, type ScrapeScope, type ScrapeView } from './core/scrape.js';
import { SeriesTable, type Series } from './core/series.js';
import { HTTP_REQUESTS_TOTAL, HTTP_RESPONSES_TOTAL, HTTP_REQUEST_DURATION_SECONDS, HTTP_UNMATCHED_MESSAGES_TOTAL } from './names.js';

const HTTP_HELP =
  'Source is the client, destination the server; reporter says whose interface the exchange was seen at ' +
  '(client or server: an exchange between two local endpoints is reported once by each side).';

/** 200 -> "2xx". */
export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}

export function registerHttp(ctx: FamilyContext): void {
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
  registerDuration(ctx);
}

interface Accumulated {
  buckets: number[];
  sum: number;
  count: number;
}

/** Histogram of exchange latencies (request line to status line), from the kernel's per-bucket counts. */
function registerDuration(ctx: FamilyContext): void {
  const extra = ['method', 'status_class', 'reporter'];
  const labelNames = [...ctx.contextLabelNames, ...extra];
  const table = new SeriesTable(HTTP_REQUEST_DURATION_SECONDS, labelNames, ctx.seriesLimit, OVERFLOW);
  ctx.tables.push(table);
  const bounds = [...HTTP_DURATION_BOUNDS_SECONDS];

  const seriesOf = (view: ScrapeView, r: HttpResponseRecord): Series => {
    const src = view.end(r.srcIdentity);
    const dst = view.end(r.dstIdentity);
    const values = [r.method, statusClass(r.status), r.reporter];
    const key = [src.key, dst.key, ...values].join(KEY_SEPARATOR);
    return table.find(key) ??
      table.admit(key, Object.fromEntries(labelNames.map((n, i) => [n, [...src.values, ...dst.values, ...values][i]!])));
  };

  const fill = (histogram: Histogram<string>): void => {
    const view = ctx.scope.current();
    const acc = new Map<Series, Accumulated>();
    for (const r of view.snapshot.httpResponses) {
      const timed = timedCount(r);
      if (timed === 0) continue; // no request to time from (method unknown)
      const series = r.srcIdentity === OVERFLOW_IDENTITY ? table.overflowSeries : seriesOf(view, r);
      let a = acc.get(series);
      if (!a) acc.set(series, (a = { buckets: new Array<number>(bounds.length + 1).fill(0), sum: 0, count: 0 }));
      r.buckets.forEach((n, i) => (a!.buckets[i]! += n));
      a.sum += r.durationSeconds;
      a.count += timed;
    }
    // prom-client keeps one entry per label set in hashMap and renders from it
    // (cumulative buckets, +Inf, _sum, _count): filled here with the kernel's totals
    histogram.reset();
    const hashMap = (histogram as unknown as { hashMap: Record<string, unknown> }).hashMap;
    let n = 0;
    for (const [series, a] of acc) {
      const bucketValues: Record<number, number> = {};
      bounds.forEach((b, i) => (bucketValues[b] = a.buckets[i]!));
      hashMap[String(n++)] = { labels: series.labels, bucketValues, sum: a.sum, count: a.count };
    }
  };

  new Histogram({
    name: HTTP_REQUEST_DURATION_SECONDS,
    help:
      'Latency of HTTP/1.x exchanges: from the request line to the status line of its response, as seen at the ' +
      `reporting interface; buckets 1 ms to 10 s. ${HTTP_HELP} ${CONTEXT_HELP} ${OVERFLOW_HELP}`,
    labelNames,
    buckets: bounds,
    registers: ctx.registers,
    collect() {
      fill(this);
    },
  });
}

function timedCount(r: HttpResponseRecord): number {
  let n = 0;
  for (const b of r.buckets) n += b;
  return n;
}

export function registerHttpMessages(registers: Registry[], scope: ScrapeScope): void {
  new Counter({
    name: HTTP_UNMATCHED_MESSAGES_TOTAL,
    help:
      'HTTP/1.x messages that made no timed exchange: unmatched_response (a status line with no request ' +
      'outstanding), pipeline_overflow (a request beyond 4 outstanding on one connection), retransmit (a request ' +
      'or status line seen again).',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const m of scope.current().snapshot.httpMessages) this.inc({ reason: m.reason }, m.count);
    },
  });
}
