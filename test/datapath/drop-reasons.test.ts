import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Btf } from '../../src/bpf/btf.js';
import { DropReasons, defaultReasonClass, reasonName } from '../../src/datapath/drop-reasons.js';

/** enum skb_drop_reason as bpftool reads it from the same file: the reference the parser must agree with. */
function bpftoolReasons(): Map<string, number> {
  const dump = JSON.parse(execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'raw', '-j'], { encoding: 'utf8', maxBuffer: 1 << 30 }));
  const type = dump.types.find((t: { kind: string; name: string }) => (t.kind === 'ENUM' || t.kind === 'ENUM64') && t.name === 'skb_drop_reason');
  return new Map(type.values.map((v: { name: string; val: number }) => [v.name, Number(v.val)]));
}

describe('drop reasons from the running kernel', () => {
  const reasons = DropReasons.fromKernel();
  const reference = bpftoolReasons();

  it('gives every reason the number bpftool reads from the same BTF', () => {
    expect(reference.size).toBeGreaterThan(50);
    for (const [member, value] of reference) {
      const name = reasonName(member);
      if (name === 'max' || name.startsWith('subsys_')) continue;
      expect(reasons.get(value).name).toBe(name);
    }
    expect(reasons.get(reference.get('SKB_DROP_REASON_NETFILTER_DROP')!).name).toBe('netfilter_drop');
    expect(reasons.get(reference.get('SKB_DROP_REASON_NO_SOCKET')!).name).toBe('no_socket');
    expect(reasons.get(reference.get('SKB_CONSUMED')!).name).toBe('consumed');
  });

  it('classes the reasons users page on as policy', () => {
    for (const name of ['netfilter_drop', 'tc_ingress', 'tc_egress', 'bpf_cgroup_egress', 'xfrm_policy', 'security_hook', 'ip_rpfilter']) {
      expect(reasons.get(reasons.valueOf(name)!).reasonClass).toBe('policy');
    }
    expect(reasons.get(reasons.valueOf('no_socket')!).reasonClass).toBe('no_socket');
  });

  it('classes the rest by kind, checksums before TCP', () => {
    expect(defaultReasonClass('tcp_csum')).toBe('malformed');
    expect(defaultReasonClass('hdr_trunc')).toBe('malformed');
    expect(defaultReasonClass('qdisc_drop')).toBe('congestion');
    expect(defaultReasonClass('cpu_backlog')).toBe('congestion');
    // a socket torn down with a packet still queued: the socket's business, not a full queue
    expect(defaultReasonClass('queue_purge')).toBe('socket');
    expect(defaultReasonClass('ip_outnoroutes')).toBe('routing');
    expect(defaultReasonClass('neigh_failed')).toBe('routing');
    expect(defaultReasonClass('tcp_invalid_sequence')).toBe('socket');
    expect(defaultReasonClass('socket_rcvbuff')).toBe('socket');
    expect(defaultReasonClass('not_specified')).toBe('other');
  });

  it('lets the configuration move a reason to another class', () => {
    const custom = DropReasons.fromKernel({ socket_filter: 'policy' });
    expect(custom.get(custom.valueOf('socket_filter')!).reasonClass).toBe('policy');
    expect(reasons.get(reasons.valueOf('socket_filter')!).reasonClass).toBe('socket');
  });

  it('names a number this kernel does not know instead of dropping it', () => {
    expect(reasons.get(0x7fff0001)).toEqual({ value: 0x7fff0001, name: 'unknown_2147418113', reasonClass: 'other' });
  });

  it('refuses data that is not BTF', () => {
    expect(() => new Btf(Buffer.alloc(64))).toThrow('not a little-endian BTF blob');
  });
});
