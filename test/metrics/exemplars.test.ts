import { describe, expect, it } from 'vitest';
import { EventType, Reporter, type DnsEvent, type HttpEvent } from '../../src/bpf/codecs.js';
import type { HttpResponseRecord } from '../../src/datapath/records.js';
import { createMetrics } from '../../src/metrics/core/registry.js';
import { ExemplarStore } from '../../src/metrics/core/exemplars.js';
import { renderExposition } from '../../src/metrics/core/exposition.js';
import { ExchangeExemplars } from '../../src/metrics/exemplars.js';
import { emptySnapshot, FakeDatapath, FakeIdentities, FakeIdentityStatus } from '../common/metrics-fakes.js';
import { ip4 } from '../common/packets.js';

const TRACE_A = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACE_B = '5bf92f3577b34da6a3ce929d0e0e4736';

function httpEvent(over: Partial<HttpEvent>): HttpEvent {
  return {
    type: EventType.HTTP, family: 4, method: 1, reporter: Reporter.SERVER, ifindex: 3, timestampNs: 5_000_000_000n, durationNs: 3_000_000n,
    srcIdentity: 70000, dstIdentity: 70001, saddr: ip4('10.0.1.5'), daddr: ip4('10.0.2.7'), sport: 40000, dport: 8080, status: 200,
    protocolVersion: '1.1', path: '/', pathTruncated: false, traceId: undefined, parentSpanId: undefined, traceSampled: false,
    ...over,
  };
}

/** 14 buckets: 1 ms, 2.5 ms, 5 ms, ... */
const buckets = (at: Record<number, number>) => Array.from({ length: 14 }, (_, i) => at[i] ?? 0);
const response = (over: Partial<HttpResponseRecord>): HttpResponseRecord => ({
  srcIdentity: 70000, dstIdentity: 70001, method: 'GET', status: 200, reporter: 'server', count: 1, buckets: buckets({ 2: 1 }), durationSeconds: 0.003,
  ...over,
});

function registry(exemplars: ExchangeExemplars, responses: HttpResponseRecord[]) {
  return createMetrics({
    config: { contexts: ['workload'], seriesLimit: 100, destinationPorts: [] },
    identities: new FakeIdentities().add(70000, { namespace: 'shop', workload: 'frontend' }).add(70001, { namespace: 'shop', workload: 'cart' }),
    datapath: new FakeDatapath(emptySnapshot({ httpResponses: responses })),
    identityStatus: new FakeIdentityStatus(),
    build: { version: '0', node: 'v20' },
    processMetrics: false,
    exemplars,
  });
}

describe('exemplars', () => {
  it('an observation goes to the bucket the kernel counts it in; the newest per bucket wins', () => {
    let now = 1_000;
    const store = new ExemplarStore([0.001, 0.005], 2, () => now);
    expect([store.bucketOf(0.001), store.bucketOf(0.0011), store.bucketOf(0.005), store.bucketOf(9)]).toEqual([0, 1, 1, 2]);
    store.observe('k', 0.002, TRACE_A);
    now = 2_000;
    store.observe('k', 0.004, TRACE_B);
    expect(store.get('k')).toEqual([undefined, { labelSet: { trace_id: TRACE_B }, value: 0.004, timestamp: 2 }, undefined]);
    // at most 2 keys: the least recently observed goes
    store.observe('j', 1, TRACE_A);
    store.observe('i', 1, TRACE_A);
    expect([store.get('k'), store.get('j') !== undefined, store.get('i') !== undefined]).toEqual([undefined, true, true]);
  });

  it('shown on the HTTP histogram\'s bucket line in OpenMetrics only, for the record of the exchange', async () => {
    const exemplars = new ExchangeExemplars();
    // 3 ms: the 5 ms bucket (index 2), as the kernel counted it; a 404 of the same pair is another record
    exemplars.observeHttp(httpEvent({}), TRACE_A);
    exemplars.observeHttp(httpEvent({ status: 404, durationNs: 500_000n }), TRACE_B);
    const reg = registry(exemplars, [response({}), response({ status: 404, buckets: buckets({ 0: 1 }), durationSeconds: 0.0005 })]);
    const open = (await renderExposition(reg, 'openmetrics')).body;
    const lines = open.split('\n').filter((l) => l.includes('trace_id'));
    expect(lines.map((l) => l.replace(/ [0-9.]+$/, ''))).toEqual([
      `flowlens_http_request_duration_seconds_bucket{source_workload="frontend",destination_workload="cart",method="GET",status_class="2xx",reporter="server",le="0.005"} 1 # {trace_id="${TRACE_A}"} 0.003`,
      `flowlens_http_request_duration_seconds_bucket{source_workload="frontend",destination_workload="cart",method="GET",status_class="4xx",reporter="server",le="0.001"} 1 # {trace_id="${TRACE_B}"} 0.0005`,
    ]);
    expect((await renderExposition(reg, 'prometheus')).body).not.toContain('trace_id');
  });

  it('a DNS exchange keys by its record (qtype, rcode, reporter); unanswered ones have no latency and no exemplar', () => {
    const exemplars = new ExchangeExemplars();
    const dns = { srcIdentity: 1, dstIdentity: 2, qtype: 1, rcode: 0, reporter: 1, queryNs: 0n, responseNs: 2_000_000n, flags: 0 } as DnsEvent;
    exemplars.observeDns(dns, TRACE_A);
    exemplars.observeDns({ ...dns, qtype: 28, flags: 4 } as DnsEvent, TRACE_B);
    expect(exemplars.dns.get('1/2/1/0/1')?.filter((e) => e !== undefined)).toEqual([expect.objectContaining({ labelSet: { trace_id: TRACE_A }, value: 0.002 })]);
    expect(exemplars.dns.get('1/2/28/0/1')).toBeUndefined();
  });
});
