import type { BpfObject } from '../bpf/index.js';
import {
  HTTP_DURATION_BUCKETS,
  HTTP_MESSAGE_REASON_NAMES,
  HTTP_METHOD_NAMES,
  REPORTER_NAMES,
  decodeHttpRequestKey,
  decodeHttpResponseKey,
  nameAt,
} from '../bpf/codecs.js';
import type { HttpRequestRecord, HttpResponseRecord } from './records.js';
import { perCpuArrayTotals, sumPerCpu, sumPerCpuCounter } from './per-cpu.js';

/**
 * The HTTP counters of flow.bpf.c (bpf/protocols/http.bpf.h) read back as
 * records: kernel totals summed over CPUs, codes named.
 */

/** Maps of the HTTP parser whose fill level is exported. */
export const HTTP_REPORTED_MAPS = ['http_requests', 'http_responses', 'http_connections'] as const;
/** Counter maps kept pinned with --pin-path, so a restart continues the totals. */
export const HTTP_PINNED_MAPS = ['http_requests', 'http_responses', 'http_unmatched'] as const;

/** u64 fields of http_response_value: count, duration sum, then the buckets. */
const RESPONSE_VALUE_FIELDS = 2 + HTTP_DURATION_BUCKETS;

export interface HttpSnapshot {
  requests: HttpRequestRecord[];
  responses: HttpResponseRecord[];
  messages: Array<{ reason: string; count: number }>;
  /** Entries dumped per map, so their fill level needs no second walk. */
  dumped: Map<string, number>;
}

/** The reporter's label; undefined for a code this build does not name (a newer object), whose records are skipped. */
const reporterName = (code: number): 'client' | 'server' | undefined => REPORTER_NAMES[code];

export function readHttp(object: BpfObject): HttpSnapshot {
  const dumped = new Map<string, number>();
  const requests: HttpRequestRecord[] = [];
  const requestEntries = object.map('http_requests').entries();
  dumped.set('http_requests', requestEntries.length);
  for (const { key, value } of requestEntries) {
    const k = decodeHttpRequestKey(key);
    const reporter = reporterName(k.reporter);
    if (!reporter) continue;
    requests.push({
      srcIdentity: k.srcIdentity,
      dstIdentity: k.dstIdentity,
      method: nameAt(HTTP_METHOD_NAMES, k.method),
      reporter,
      count: sumPerCpuCounter(value),
    });
  }
  const responses: HttpResponseRecord[] = [];
  const responseEntries = object.map('http_responses').entries();
  dumped.set('http_responses', responseEntries.length);
  for (const { key, value } of responseEntries) {
    const k = decodeHttpResponseKey(key);
    const reporter = reporterName(k.reporter);
    if (!reporter) continue;
    const [count, durationNs, ...buckets] = sumPerCpu(value, RESPONSE_VALUE_FIELDS);
    responses.push({
      srcIdentity: k.srcIdentity,
      dstIdentity: k.dstIdentity,
      method: nameAt(HTTP_METHOD_NAMES, k.method),
      status: k.status,
      reporter,
      count: count!,
      buckets,
      durationSeconds: durationNs! / 1e9,
    });
  }
  const messages = perCpuArrayTotals(object.map('http_unmatched')).map((count, i) => ({
    reason: nameAt(HTTP_MESSAGE_REASON_NAMES, i),
    count,
  }));
  return { requests, responses, messages, dumped };
}
