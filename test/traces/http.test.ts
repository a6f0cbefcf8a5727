import { describe, expect, it } from 'vitest';
import { EventType, Reporter, type HttpEvent } from '../../src/bpf/codecs.js';
import { httpExchange } from '../../src/traces/http.js';
import { FakeIdentities } from '../common/metrics-fakes.js';
import { ip4 } from '../common/packets.js';

const identities = new FakeIdentities().add(70001, { namespace: 'shop', workload: 'frontend' }).add(70002, { namespace: 'shop', workload: 'cart' });

function event(overrides: Partial<HttpEvent> = {}): HttpEvent {
  return {
    type: EventType.HTTP, family: 4, method: 1, reporter: Reporter.SERVER, ifindex: 3, timestampNs: 5_000_000_000n, durationNs: 1_500_000n,
    srcIdentity: 70001, dstIdentity: 70002, saddr: ip4('10.0.1.5'), daddr: ip4('10.0.2.7'), sport: 40000, dport: 8080, status: 200,
    protocolVersion: '1.1', path: '/cart/42', pathTruncated: false, traceId: undefined, parentSpanId: undefined, traceSampled: false,
    ...overrides,
  };
}

describe('HTTP exchanges as spans', () => {
  it('start at the request line and end at the status line, on the kernel clock, kind from the reporting side', () => {
    const x = httpExchange(event(), identities);
    expect([x.name, x.kind, x.startNs, x.endNs]).toEqual(['GET', 'server', 4_998_500_000n, 5_000_000_000n]);
    expect(x.attributes).toMatchObject({ 'flowlens.source.workload': 'frontend', 'flowlens.destination.workload': 'cart' });
    expect(x.error).toBeUndefined();
    expect(x.parent).toBeUndefined();
    // a server span belongs to the server, a client span to the client (its resource)
    expect(x.owner).toEqual({ identity: 70002, address: '10.0.2.7' });
    const c = httpExchange(event({ reporter: Reporter.CLIENT }), identities);
    expect([c.kind, c.owner]).toEqual(['client', { identity: 70001, address: '10.0.1.5' }]);
  });

  it('carries the error status and the traceparent', () => {
    const x = httpExchange(event({ status: 503, traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7', traceSampled: true }), identities);
    expect(x.error).toBe('503');
    expect(x.parent).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: true });
  });
});
