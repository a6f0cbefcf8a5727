// Exemplars of flowlens_http_request_duration_seconds and
// flowlens_dns_response_duration_seconds: run.ts offers each exchange that
// became a sampled span (its trace id) here, keyed as the kernel record that
// counted it, and the two histograms (http.ts, dns.ts) show them.

import { DNS_LATENCY_BOUNDS_SECONDS, DnsFlag, HTTP_DURATION_BOUNDS_SECONDS, HTTP_METHOD_NAMES, REPORTER_NAMES } from '../datapath/records.js';
import type { DnsEvent, DnsResponseRecord, HttpEvent, HttpResponseRecord } from '../datapath/records.js';
import { ExemplarStore } from './core/exemplars.js';

/** The key of an HTTP response record: identities, method and reporter as labelled, status. */
export function httpRecordKey(r: Pick<HttpResponseRecord, 'srcIdentity' | 'dstIdentity' | 'method' | 'status' | 'reporter'>): string {
  return `${r.srcIdentity}/${r.dstIdentity}/${r.method}/${r.status}/${r.reporter}`;
}

/** The key of a DNS response record: identities, qtype, rcode and reporter codes. */
export function dnsRecordKey(r: Pick<DnsResponseRecord, 'srcIdentity' | 'dstIdentity' | 'qtype' | 'rcode' | 'reporter'>): string {
  return `${r.srcIdentity}/${r.dstIdentity}/${r.qtype}/${r.rcode}/${r.reporter}`;
}

export class ExchangeExemplars {
  readonly http = new ExemplarStore(HTTP_DURATION_BOUNDS_SECONDS);
  readonly dns = new ExemplarStore(DNS_LATENCY_BOUNDS_SECONDS);

  /** An HTTP exchange exported as a span with this trace id. */
  observeHttp(event: HttpEvent, traceId: string): void {
    const reporter = REPORTER_NAMES[event.reporter];
    if (reporter === undefined) return;
    // the label readHttp gives the kernel record's method code
    const method = HTTP_METHOD_NAMES[event.method] ?? `unknown_${event.method}`;
    const key = httpRecordKey({ srcIdentity: event.srcIdentity, dstIdentity: event.dstIdentity, method, status: event.status, reporter });
    this.http.observe(key, Number(event.durationNs) / 1e9, traceId);
  }

  /** A DNS exchange exported as a span with this trace id; unanswered ones are in no histogram. */
  observeDns(event: DnsEvent, traceId: string): void {
    if (event.flags & DnsFlag.UNANSWERED) return;
    this.dns.observe(dnsRecordKey(event), Number(event.responseNs - event.queryNs) / 1e9, traceId);
  }
}
