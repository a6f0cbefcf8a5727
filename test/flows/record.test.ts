import { describe, expect, it } from 'vitest';
import { KernelClock } from '../../src/datapath/clock.js';
import { RecordBuilder, formatTimeNs, recordBytes } from '../../src/flows/record.js';
import type { DropPolicyExplanation } from '../../src/identity/network-policy.js';
import { identityResolver } from '../../src/flows/identities.js';
import { IdentityStore } from '../../src/identity/store.js';
import { parseCidr } from '../../src/net/cidr.js';
import { EventType, TcpOutcome } from '../../src/bpf/codecs.js';

const ip4 = (text: string) => {
  const b = Buffer.alloc(16);
  Buffer.from(text.split('.').map(Number)).copy(b);
  return b;
};

function builder() {
  const store = new IdentityStore();
  store.setSource('static', [
    { identity: { id: 70001, namespace: 'shop', workload: 'frontend', labels: { app: 'frontend' }, source: 'static' }, prefixes: [parseCidr('10.0.0.1/32')] },
  ]);
  // wall = monotonic + 1_767_225_600 s (2026-01-01T00:00:00Z at monotonic 0)
  const clock = new KernelClock(() => 0n, () => 1_767_225_600_000);
  return new RecordBuilder({
    node: 'node-a',
    resolve: identityResolver(store),
    dropReason: (v) => (v === 11 ? { name: 'netfilter_drop', reasonClass: 'policy' } : { name: `unknown_${v}`, reasonClass: 'other' }),
    clock,
  });
}

const common = {
  family: 4 as const, protocol: 6, direction: 2, ifindex: 7, timestampNs: 1_500_000_123n,
  srcIdentity: 70001, dstIdentity: 2, saddr: ip4('10.0.0.1'), daddr: ip4('192.0.2.9'), sport: 40000, dport: 443,
};

describe('RecordBuilder', () => {
  it('a flow event: time on the wall clock, identities resolved, TCP flags named', () => {
    const r = builder().fromFlow({ ...common, type: EventType.FLOW, tcpFlags: 0x02, verdict: 1 });
    expect(r).toEqual({
      seq: 0,
      time: '2026-01-01T00:00:01.500000123Z',
      node: 'node-a',
      type: 'flow',
      verdict: 'forwarded',
      direction: 'egress',
      protocol: 'tcp',
      ipVersion: 4,
      source: { identity: 70001, identityName: '70001', namespace: 'shop', workload: 'frontend', pod: '', labels: { app: 'frontend' }, ip: '10.0.0.1', port: 40000 },
      destination: { identity: 2, identityName: 'reserved:world', namespace: '', workload: 'reserved:world', pod: '', labels: {}, ip: '192.0.2.9', port: 443 },
      ifindex: 7,
      tcpFlags: ['SYN'],
      summary: 'new flow, TCP flags SYN',
    });
  });

  it('TCP outcomes: established is forwarded, refused and unanswered are dropped', () => {
    const b = builder();
    const of = (outcome: number) => b.fromTcpOutcome({ ...common, type: EventType.TCP_OUTCOME, synTimestampNs: 1n, outcome });
    expect([TcpOutcome.ESTABLISHED, TcpOutcome.REFUSED, TcpOutcome.UNANSWERED].map((o) => [of(o).type, of(o).tcp?.outcome, of(o).verdict])).toEqual([
      ['tcp', 'established', 'forwarded'],
      ['tcp', 'refused', 'dropped'],
      ['tcp', 'unanswered', 'dropped'],
    ]);
  });

  it('a drop event: the reason named, its class explained; an unknown identity keeps its number', () => {
    const r = builder().fromDrop({ ...common, type: EventType.DROP, reason: 11, srcIdentity: 99999 });
    expect(r.type).toBe('drop');
    expect(r.verdict).toBe('dropped');
    expect(r.drop).toEqual({ reason: 'netfilter_drop', reasonClass: 'policy' });
    expect(r.summary).toBe('dropped by the kernel: netfilter_drop (policy: a firewall rule, TC or cgroup program, IPsec policy or LSM decided to drop)');
    expect(r.source).toMatchObject({ identity: 99999, identityName: '99999', namespace: '', workload: '' });
  });

  it('a policy drop the DropExplainer explained carries the explanation, in `policy` and at the end of the summary', () => {
    const policy: DropPolicyExplanation = {
      verdict: 'denied',
      explanation: 'denied: namespace web has default-deny policy deny-all selecting pod web-1 (ingress); no rule allows identity 70001 (ns shop, app=frontend) on tcp/443',
      egress: { direction: 'egress', pod: { namespace: 'shop', name: 'frontend-1' }, policies: [], allowedBy: [], verdict: 'not-selected' },
      ingress: { direction: 'ingress', pod: { namespace: 'web', name: 'web-1' }, policies: [{ namespace: 'web', name: 'deny-all', defaultDeny: true }], allowedBy: [], verdict: 'denied' },
    };
    const plain = builder().fromDrop({ ...common, type: EventType.DROP, reason: 11 });
    const r = builder().fromDrop({ ...common, type: EventType.DROP, reason: 11, policy });
    expect(r.policy).toEqual(policy);
    expect(r.summary).toBe(`dropped by the kernel: netfilter_drop; ${policy.explanation}`);
    expect(plain.policy).toBeUndefined();
    expect(recordBytes(r) - recordBytes(plain)).toBeGreaterThan(policy.explanation.length);
  });

  it('a drop without a readable IP header has no addresses and protocol unknown', () => {
    const r = builder().fromDrop({ ...common, type: EventType.DROP, family: 0, protocol: 0, reason: 11, saddr: Buffer.alloc(16), daddr: Buffer.alloc(16) });
    expect([r.protocol, r.ipVersion, r.source.ip, r.destination.ip]).toEqual(['unknown', 0, '', '']);
  });
});

describe('formatTimeNs', () => {
  it('is fixed-width RFC 3339, so text order is time order', () => {
    expect(formatTimeNs(1_767_225_600_000_000_007n)).toBe('2026-01-01T00:00:00.000000007Z');
    expect(formatTimeNs(1_767_225_600_999_999_999n)).toBe('2026-01-01T00:00:00.999999999Z');
    expect(formatTimeNs(1_767_225_600_000_000_007n) < formatTimeNs(1_767_225_600_000_000_010n)).toBe(true);
  });
});
