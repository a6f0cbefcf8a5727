import { SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { EventType, Reporter, type HttpEvent } from '../../src/bpf/codecs.js';
import { httpSpan } from '../../src/traces/http-span.js';
import type { IdentityContext } from '../../src/identity/contexts.js';
import { ip4, ip6 } from '../common/packets.js';

const client: IdentityContext = { identity: '70001', namespace: 'shop', workload: 'frontend', workload_kind: '', app: 'frontend', pod: '' };
const server: IdentityContext = { identity: '70002', namespace: 'shop', workload: 'cart', workload_kind: '', app: '', pod: 'cart-1' };

function event(overrides: Partial<HttpEvent> = {}): HttpEvent {
  return {
    type: EventType.HTTP,
    family: 4,
    method: 1,
    reporter: Reporter.SERVER,
    ifindex: 3,
    timestampNs: 5_000_000_000n,
    durationNs: 1_500_000n,
    srcIdentity: 70001,
    dstIdentity: 70002,
    saddr: ip4('10.0.1.5'),
    daddr: ip4('10.0.2.7'),
    sport: 40000,
    dport: 8080,
    status: 200,
    protocolVersion: '1.1',
    path: '/cart/42',
    pathTruncated: false,
    traceId: undefined,
    parentSpanId: undefined,
    traceSampled: false,
    ...overrides,
  };
}

describe('httpSpan', () => {
  it('a server-side exchange: SERVER span named by method, HTTP server semantic-convention attributes, both identities as source and destination', () => {
    const span = httpSpan({ event: event(), source: client, destination: server });
    expect(span).toEqual({
      name: 'GET',
      kind: 'server',
      attributes: {
        'http.request.method': 'GET',
        'http.response.status_code': 200,
        'url.scheme': 'http',
        'url.path': '/cart/42',
        'server.address': '10.0.2.7',
        'server.port': 8080,
        'client.address': '10.0.1.5',
        'client.port': 40000,
        'network.peer.address': '10.0.1.5',
        'network.peer.port': 40000,
        'network.protocol.version': '1.1',
        'network.transport': 'tcp',
        'network.type': 'ipv4',
        'flowlens.reporter': 'server',
        'flowlens.source.identity': '70001',
        'flowlens.source.namespace': 'shop',
        'flowlens.source.workload': 'frontend',
        'flowlens.source.app': 'frontend',
        'flowlens.destination.identity': '70002',
        'flowlens.destination.namespace': 'shop',
        'flowlens.destination.workload': 'cart',
        'flowlens.destination.pod': 'cart-1',
      },
      status: { code: SpanStatusCode.UNSET },
      parent: undefined,
    });
  });

  it('a client-side exchange: CLIENT span with url.full and the server as peer, no client.* or url.path', () => {
    const span = httpSpan({ event: event({ reporter: Reporter.CLIENT }), source: client, destination: server });
    expect(span.kind).toBe('client');
    expect(span.attributes).toEqual({
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'url.full': 'http://10.0.2.7:8080/cart/42',
      'server.address': '10.0.2.7',
      'server.port': 8080,
      'network.peer.address': '10.0.2.7',
      'network.peer.port': 8080,
      'network.protocol.version': '1.1',
      'network.transport': 'tcp',
      'network.type': 'ipv4',
      'flowlens.reporter': 'client',
      'flowlens.source.identity': '70001',
      'flowlens.source.namespace': 'shop',
      'flowlens.source.workload': 'frontend',
      'flowlens.source.app': 'frontend',
      'flowlens.destination.identity': '70002',
      'flowlens.destination.namespace': 'shop',
      'flowlens.destination.workload': 'cart',
      'flowlens.destination.pod': 'cart-1',
    });
  });

  it('client-side exchanges are CLIENT spans; 4xx is an error for the client only, 5xx for both', () => {
    const at = (reporter: number, status: number) => httpSpan({ event: event({ reporter, status }), source: client, destination: server });
    expect(at(Reporter.CLIENT, 200).kind).toBe('client');
    expect(at(Reporter.CLIENT, 404).status).toEqual({ code: SpanStatusCode.ERROR });
    expect(at(Reporter.CLIENT, 404).attributes['error.type']).toBe('404');
    expect(at(Reporter.SERVER, 404).status).toEqual({ code: SpanStatusCode.UNSET });
    expect(at(Reporter.SERVER, 404).attributes['error.type']).toBeUndefined();
    expect(at(Reporter.SERVER, 503).status).toEqual({ code: SpanStatusCode.ERROR });
    expect(at(Reporter.CLIENT, 500).attributes['error.type']).toBe('500');
  });

  it('joins the trace of a traceparent as a child of its span, with the caller\'s sampled flag', () => {
    const parent = (traceSampled: boolean) =>
      httpSpan({
        event: event({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7', traceSampled }),
        source: client, destination: server,
      }).parent;
    expect(parent(true)).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: true });
    expect(parent(false)).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: false });
  });

  it('redacts paths by pattern, marks truncated paths, leaves url.path out when the path was not kept', () => {
    const redact = [{ pattern: /\/\d+/g, replacement: '/{id}' }];
    expect(httpSpan({ event: event({ path: '/cart/42/item/7' }), source: client, destination: server, pathRedactions: redact }).attributes['url.path']).toBe(
      '/cart/{id}/item/{id}',
    );
    const cut = httpSpan({ event: event({ path: '/a'.repeat(32), pathTruncated: true }), source: client, destination: server });
    expect(cut.attributes['flowlens.http.path_truncated']).toBe(true);
    const none = httpSpan({ event: event({ path: undefined }), source: client, destination: server });
    expect('url.path' in none.attributes).toBe(false);
    const noneAtClient = httpSpan({ event: event({ path: undefined, reporter: Reporter.CLIENT }), source: client, destination: server });
    expect('url.full' in noneAtClient.attributes).toBe(false);
    const redactedAtClient = httpSpan({ event: event({ path: '/cart/42', reporter: Reporter.CLIENT }), source: client, destination: server, pathRedactions: redact });
    expect(redactedAtClient.attributes['url.full']).toBe('http://10.0.2.7:8080/cart/{id}');
  });

  it('IPv6 addresses, HTTP/1.0, and an unknown method', () => {
    const span = httpSpan({
      event: event({ family: 6, saddr: ip6('fd00::5'), daddr: ip6('2001:db8:0:1::7'), protocolVersion: '1.0', method: 0 }),
      source: client, destination: server,
    });
    expect(span.name).toBe('HTTP');
    // what the client sent is not known: no http.request.method_original
    expect('http.request.method_original' in span.attributes).toBe(false);
    expect(httpSpan({ event: event({ family: 6, daddr: ip6('2001:db8::7'), reporter: Reporter.CLIENT }), source: client, destination: server }).attributes['url.full']).toBe(
      'http://[2001:db8::7]:8080/cart/42',
    );
    expect(span.attributes).toMatchObject({
      'http.request.method': '_OTHER',
      'client.address': 'fd00::5',
      'server.address': '2001:db8:0:1::7',
      'network.type': 'ipv6',
      'network.protocol.version': '1.0',
    });
  });
});
