import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/core/registry.js';
import { statusClass } from '../../src/metrics/http.js';
import type { DatapathSnapshot, HttpResponseRecord } from '../../src/datapath/records.js';
import { emptySnapshot, FakeDatapath, FakeIdentities, FakeIdentityStatus } from '../common/metrics-fakes.js';
import { parsePrometheusText, type Sample } from '../common/prom.js';

const BUCKETS = 14;

function buckets(at: Record<number, number>): number[] {
  return Array.from({ length: BUCKETS }, (_, i) => at[i] ?? 0);
}

const response = (over: Partial<HttpResponseRecord>): HttpResponseRecord => ({
  srcIdentity: 70000,
  dstIdentity: 70001,
  method: 'GET',
  status: 200,
  reporter: 'server',
  count: 1,
  buckets: buckets({ 0: 1 }),
  durationSeconds: 0.0005,
  ...over,
});

async function scrape(snapshot: Partial<DatapathSnapshot>, seriesLimit = 100): Promise<Sample[]> {
  const identities = new FakeIdentities()
    .add(70000, { namespace: 'shop', workload: 'frontend' })
    .add(70001, { namespace: 'shop', workload: 'cart' });
  const registry = createMetrics({
    config: { contexts: ['workload'], seriesLimit, destinationPorts: [] },
    identities,
    datapath: new FakeDatapath(emptySnapshot(snapshot)),
    identityStatus: new FakeIdentityStatus(),
    build: { version: '0', node: 'v20' },
    processMetrics: false,
  });
  return parsePrometheusText(await registry.metrics());
}

const of = (m: Sample[], name: string) =>
  m.filter((s) => s.name === name).map((s): Record<string, string | number> => ({ ...s.labels, value: s.value }));

describe('HTTP families', () => {
  it('requests and responses per workload pair, method, status and reporter', async () => {
    const m = await scrape({
      httpRequests: [
        { srcIdentity: 70000, dstIdentity: 70001, method: 'GET', reporter: 'client', count: 4 },
        { srcIdentity: 70000, dstIdentity: 70001, method: 'GET', reporter: 'server', count: 4 },
      ],
      httpResponses: [
        response({ status: 200, count: 3, buckets: buckets({ 0: 2, 5: 1 }), durationSeconds: 0.041 }),
        response({ status: 404, count: 1 }),
        response({ method: 'unknown', status: 502, count: 2, buckets: buckets({}), durationSeconds: 0 }),
      ],
    });
    const pair = { source_workload: 'frontend', destination_workload: 'cart' };
    expect(of(m, 'flowlens_http_requests_total')).toEqual([
      { ...pair, method: 'GET', reporter: 'client', value: 4 },
      { ...pair, method: 'GET', reporter: 'server', value: 4 },
    ]);
    expect(of(m, 'flowlens_http_responses_total')).toEqual([
      { ...pair, method: 'GET', status: '200', reporter: 'server', value: 3 },
      { ...pair, method: 'GET', status: '404', reporter: 'server', value: 1 },
      { ...pair, method: 'unknown', status: '502', reporter: 'server', value: 2 },
    ]);
    // untimed responses (method unknown) make no histogram series
    const bucketsOut = of(m, 'flowlens_http_request_duration_seconds_bucket').filter((s) => s.status_class === '2xx');
    expect(bucketsOut.map((s) => [s.le, s.value])).toEqual([
      ['0.001', 2], ['0.0025', 2], ['0.005', 2], ['0.01', 2], ['0.025', 2], ['0.05', 3], ['0.1', 3],
      ['0.25', 3], ['0.5', 3], ['1', 3], ['2.5', 3], ['5', 3], ['10', 3], ['+Inf', 3],
    ]);
    expect(of(m, 'flowlens_http_request_duration_seconds_count')).toEqual([
      { ...pair, method: 'GET', status_class: '2xx', reporter: 'server', value: 3 },
      { ...pair, method: 'GET', status_class: '4xx', reporter: 'server', value: 1 },
    ]);
    expect(of(m, 'flowlens_http_request_duration_seconds_sum')[0]!.value).toBeCloseTo(0.041, 9);
  });

  it('statuses of one class share a histogram series; the +Inf bucket counts observations past 10 s', async () => {
    const m = await scrape({
      httpResponses: [
        response({ status: 500, buckets: buckets({ 13: 1 }), durationSeconds: 12 }),
        response({ status: 503, count: 2, buckets: buckets({ 1: 2 }), durationSeconds: 0.004 }),
      ],
    });
    const b = of(m, 'flowlens_http_request_duration_seconds_bucket');
    expect(b.find((s) => s.le === '10')!.value).toBe(2);
    expect(b.find((s) => s.le === '+Inf')!.value).toBe(3);
    expect(of(m, 'flowlens_http_request_duration_seconds_count')).toEqual([
      { source_workload: 'frontend', destination_workload: 'cart', method: 'GET', status_class: '5xx', reporter: 'server', value: 3 },
    ]);
  });

  it('the series limit folds histogram series into overflow and counts the refusal', async () => {
    const m = await scrape({ httpResponses: [response({ status: 200 }), response({ status: 500, method: 'POST' })] }, 1);
    const counts = of(m, 'flowlens_http_request_duration_seconds_count');
    expect(counts.map((s) => s.method)).toEqual(['GET', 'overflow']);
    expect(m.find((s) => s.name === 'flowlens_series_limited_total' && s.labels.family === 'flowlens_http_request_duration_seconds')!.value).toBe(1);
  });

  it('unmatched messages by reason', async () => {
    const m = await scrape({ httpMessages: [{ reason: 'unmatched_response', count: 2 }, { reason: 'retransmit', count: 1 }] });
    expect(of(m, 'flowlens_http_unmatched_messages_total')).toEqual([
      { reason: 'unmatched_response', value: 2 },
      { reason: 'retransmit', value: 1 },
    ]);
  });

  it('status classes', () => {
    expect([101, 200, 302, 404, 599].map(statusClass)).toEqual(['1xx', '2xx', '3xx', '4xx', '5xx']);
  });
});
