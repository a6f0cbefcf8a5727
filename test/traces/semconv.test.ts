import * as incubating from '@opentelemetry/semantic-conventions/incubating';
import { describe, expect, it } from 'vitest';
import { DnsFlag, EventType, Reporter, type DnsEvent, type HttpEvent } from '../../src/bpf/codecs.js';
import { dnsExchange } from '../../src/traces/dns.js';
import { httpExchange } from '../../src/traces/http.js';
import { workloadResourceAttributes } from '../../src/traces/resource.js';
import { INCUBATING } from '../../src/traces/semconv.js';
import { dnsName } from '../common/dns.js';
import { FakeIdentities } from '../common/metrics-fakes.js';
import { ip4, ip6 } from '../common/packets.js';
import { shadowing, STABLE_ATTRIBUTES, unconventional } from '../common/semconv.js';

const identities = new FakeIdentities().add(70000, { namespace: 'shop', workload: 'frontend' }).add(70001, { namespace: 'shop', workload: 'cart' });

function http(over: Partial<HttpEvent>): HttpEvent {
  return {
    type: EventType.HTTP, family: 4, method: 1, reporter: Reporter.SERVER, ifindex: 3, timestampNs: 5_000_000_000n, durationNs: 1_500_000n,
    srcIdentity: 70000, dstIdentity: 70001, saddr: ip4('10.0.1.5'), daddr: ip4('10.0.2.7'), sport: 40000, dport: 8080, status: 503,
    protocolVersion: '1.1', path: '/a'.repeat(40), pathTruncated: true, traceId: undefined, parentSpanId: undefined, traceSampled: false,
    ...over,
  };
}

function dns(over: Partial<DnsEvent>): DnsEvent {
  const wire = dnsName('api.shop.svc.cluster.local');
  const qname = Buffer.alloc(128);
  wire.copy(qname);
  return {
    type: EventType.DNS, family: 4, protocol: 17, reporter: 1, ifindex: 3, queryNs: 1_000n, responseNs: 2_500n,
    srcIdentity: 70000, dstIdentity: 70001, clientAddr: Buffer.from([10, 0, 0, 5]), serverAddr: Buffer.from([10, 0, 0, 10]),
    clientPort: 40000, serverPort: 53, id: 1, qtype: 1, qclass: 1, answers: 1, rcode: 3, flags: DnsFlag.TC | DnsFlag.NAME_TRUNCATED, qnameLen: wire.length, qname,
    ...over,
  };
}

describe('semantic conventions', () => {
  it('the incubating names flowlens copies are the package\'s, and none of them has become stable', () => {
    for (const [constant, value] of Object.entries(INCUBATING)) {
      expect((incubating as Record<string, unknown>)[constant], constant).toBe(value);
      expect(STABLE_ATTRIBUTES.has(value), `${value} is stable now: import it`).toBe(false);
    }
  });

  it('every span and resource attribute is a convention\'s or under flowlens.*, and no flowlens.* name shadows a convention', () => {
    const names = new Set<string>();
    for (const reporter of [Reporter.CLIENT, Reporter.SERVER]) {
      for (const e of [http({ reporter }), http({ reporter, family: 6, saddr: ip6('fd00::1'), daddr: ip6('fd00::2'), method: 0, path: undefined })]) {
        for (const n of Object.keys(httpExchange(e, identities).attributes)) names.add(n);
      }
      for (const e of [dns({ reporter }), dns({ reporter, flags: DnsFlag.UNANSWERED })]) {
        for (const n of Object.keys(dnsExchange(e, identities).attributes)) names.add(n);
      }
    }
    const kinds = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Pod', undefined];
    for (const workloadKind of kinds) {
      const attrs = workloadResourceAttributes(
        70000,
        { id: 70000, namespace: 'shop', workload: 'w', ...(workloadKind ? { workloadKind } : {}), labels: {}, source: 'kubernetes' },
        'w-1',
        { serviceNameLabels: [], nodeName: 'n' },
      );
      for (const n of Object.keys(attrs)) names.add(n);
    }
    expect(names.size).toBeGreaterThan(25);
    expect(unconventional(names)).toEqual([]);
    expect(shadowing(names)).toEqual([]);
    // the stable HTTP and network names are used where they apply
    expect([...names]).toEqual(
      expect.arrayContaining([
        'http.request.method', 'http.response.status_code', 'url.full', 'url.scheme', 'url.path', 'server.address', 'server.port',
        'client.address', 'network.peer.address', 'network.peer.port', 'network.transport', 'error.type', 'dns.question.name',
        'k8s.deployment.name', 'k8s.statefulset.name', 'k8s.daemonset.name', 'k8s.job.name', 'k8s.cronjob.name', 'k8s.pod.name',
        'k8s.namespace.name', 'k8s.node.name', 'service.name', 'service.namespace',
      ]),
    );
  });
});
