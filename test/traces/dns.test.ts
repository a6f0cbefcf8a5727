import { describe, expect, it } from 'vitest';
import { DnsFlag, EventType, type DnsEvent } from '../../src/bpf/codecs.js';
import { dnsExchange } from '../../src/traces/dns.js';
import { FakeIdentities } from '../common/metrics-fakes.js';
import { dnsName } from '../common/dns.js';

const identities = new FakeIdentities().add(70000, { namespace: 'shop', workload: 'frontend' }).add(70001, { namespace: 'kube-system', workload: 'coredns' });

function event(over: Partial<DnsEvent> = {}): DnsEvent {
  const wire = dnsName('api.shop.svc.cluster.local');
  const qname = Buffer.alloc(128);
  wire.copy(qname);
  return {
    type: EventType.DNS, family: 4, protocol: 17, reporter: 1, ifindex: 3, queryNs: 1_000n, responseNs: 2_500n,
    srcIdentity: 70000, dstIdentity: 70001, clientAddr: Buffer.from([10, 0, 0, 5]), serverAddr: Buffer.from([10, 0, 0, 10]),
    clientPort: 40000, serverPort: 53, id: 0xabcd, qtype: 28, qclass: 1, answers: 2, rcode: 0, flags: 0, qnameLen: wire.length, qname,
    ...over,
  };
}

describe('DNS exchanges as spans', () => {
  it('an answered exchange seen at the client', () => {
    expect(dnsExchange(event(), identities)).toEqual({
      // the query name is an attribute, never in the span name (low cardinality)
      name: 'DNS AAAA',
      kind: 'client',
      startNs: 1_000n,
      endNs: 2_500n,
      owner: { identity: 70000, address: '10.0.0.5' },
      attributes: {
        'dns.question.name': 'api.shop.svc.cluster.local',
        'flowlens.dns.question.type': 'AAAA',
        'flowlens.dns.response_code': 'NOERROR',
        'network.transport': 'udp',
        'network.type': 'ipv4',
        'client.address': '10.0.0.5',
        'client.port': 40000,
        'server.address': '10.0.0.10',
        'server.port': 53,
        'network.peer.address': '10.0.0.10',
        'network.peer.port': 53,
        'flowlens.reporter': 'client',
        'flowlens.dns.id': 0xabcd,
        'flowlens.dns.answer_count': 2,
        'flowlens.dns.truncated': false,
        'flowlens.source.identity': '70000',
        'flowlens.source.namespace': 'shop',
        'flowlens.source.workload': 'frontend',
        'flowlens.destination.identity': '70001',
        'flowlens.destination.namespace': 'kube-system',
        'flowlens.destination.workload': 'coredns',
      },
    });
  });

  it('seen at the server: SERVER kind, the peer is the client; an error rcode is the span\'s error', () => {
    const x = dnsExchange(event({ reporter: 2, rcode: 2, protocol: 6, flags: DnsFlag.TC }), identities);
    expect(x.kind).toBe('server');
    expect(x.owner).toEqual({ identity: 70001, address: '10.0.0.10' });
    expect(x.error).toBe('SERVFAIL');
    expect(x.attributes).toMatchObject({
      'network.peer.address': '10.0.0.5',
      'network.peer.port': 40000,
      'network.transport': 'tcp',
      'error.type': 'SERVFAIL',
      'flowlens.dns.truncated': true,
    });
  });

  it('unanswered: error timeout, ending when the sweep gave up, without response attributes', () => {
    const x = dnsExchange(event({ responseNs: 0n, answers: 0, flags: DnsFlag.UNANSWERED | DnsFlag.NAME_TRUNCATED }), identities, () => 9_000n);
    expect(x.endNs).toBe(9_000n);
    expect(x.error).toBe('timeout');
    expect(x.attributes['error.type']).toBe('timeout');
    expect(x.attributes['flowlens.dns.question.name_truncated']).toBe(true);
    expect(x.attributes['flowlens.dns.response_code']).toBeUndefined();
    expect(x.attributes['flowlens.dns.answer_count']).toBeUndefined();
  });
});
