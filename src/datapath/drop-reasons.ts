import { Btf, KERNEL_BTF_PATH } from '../bpf/btf.js';
import type { ReasonClass } from '../config.js';

/**
 * Names and classes of the kernel's drop reasons. The numbers change between
 * kernel versions (reasons are added in the middle of the enum), so they are
 * read from the running kernel's BTF at start, never from a copied table.
 */


/** The enum as the kernel names it; its members are SKB_DROP_REASON_* plus SKB_NOT_DROPPED_YET and SKB_CONSUMED. */
export const DROP_REASON_ENUM = 'skb_drop_reason';

/**
 * Default classes, first match wins. Policy is what a user pages on: a
 * firewall, a TC or cgroup program, IPsec policy or an LSM decided to drop.
 * Checksums and header errors are malformed before they are TCP's or a
 * socket's, hence the order.
 */
const CLASS_RULES: ReadonlyArray<[ReasonClass, RegExp]> = [
  ['policy', /^(netfilter_drop|tc_ingress|tc_egress|bpf_cgroup_egress|xfrm_policy|security_hook|ip_rpfilter)$/],
  ['no_socket', /^no_socket$/],
  ['malformed', /(^|_)csum$|^pkt_too_small$|^hdr_trunc$|^ip_inhdr$|^invalid_proto$|^ipv6_bad_exthdr$|^ipv6_ndisc_(frag|hop_limit|bad_code|bad_options)$|_invalid_(hdr|frame)$|^dev_hdr$|^mac_invalid_source$|^dup_frag$|^frag_too_far$/],
  ['congestion', /^qdisc_|^cake_|^fq_|backlog$|^full_ring$|^nomem$|^neigh_queuefull$|^dualpi2_/],
  ['routing', /^ip_(outnoroutes|innoroutes|inaddrerrors|local_source|invalid_source|invalid_dest|localnet)$|^otherhost$|^neigh_|^ipv6disabled$|^ipv6_ndisc_ns_otherhost$|^no_tx_target$|^pkt_too_big$/],
  // queue_purge: a socket torn down with packets still queued (a FIN reaching a closed socket), not a full queue
  ['socket', /^socket_|^tcp_|^proto_mem$|^unix_|^packet_sock_error$|^queue_purge$/],
];

export function defaultReasonClass(name: string): ReasonClass {
  for (const [cls, re] of CLASS_RULES) if (re.test(name)) return cls;
  return 'other';
}

/** SKB_DROP_REASON_NETFILTER_DROP -> netfilter_drop; SKB_CONSUMED -> consumed. */
export function reasonName(enumMember: string): string {
  return enumMember.replace(/^SKB_DROP_REASON_/, '').replace(/^SKB_/, '').toLowerCase();
}

export interface DropReason {
  value: number;
  name: string;
  reasonClass: ReasonClass;
}

export class DropReasons {
  private readonly byValue = new Map<number, DropReason>();

  constructor(reasons: DropReason[]) {
    for (const r of reasons) this.byValue.set(r.value, r);
  }

  /** From `enum skb_drop_reason` in a BTF file; `overrides` maps reason names to classes (config). */
  static fromBtf(btf: Btf, overrides: Readonly<Record<string, ReasonClass>> = {}): DropReasons {
    const members = btf.enumMembers(DROP_REASON_ENUM);
    if (!members) throw new Error(`the kernel's BTF has no enum ${DROP_REASON_ENUM} (kernel older than 5.17?)`);
    const reasons: DropReason[] = [];
    for (const m of members) {
      const name = reasonName(m.name);
      // bounds and masks, not reasons
      if (name === 'max' || name.startsWith('subsys_')) continue;
      reasons.push({ value: Number(m.value), name, reasonClass: overrides[name] ?? defaultReasonClass(name) });
    }
    return new DropReasons(reasons);
  }

  static fromKernel(overrides: Readonly<Record<string, ReasonClass>> = {}, btfPath = KERNEL_BTF_PATH): DropReasons {
    return DropReasons.fromBtf(Btf.fromFile(btfPath), overrides);
  }

  /** A number this kernel does not name (a subsystem's own reasons) keeps it: unknown_N. */
  get(value: number): DropReason {
    return this.byValue.get(value) ?? { value, name: `unknown_${value}`, reasonClass: 'other' };
  }

  valueOf(name: string): number | undefined {
    for (const r of this.byValue.values()) if (r.name === name) return r.value;
    return undefined;
  }

  all(): DropReason[] {
    return [...this.byValue.values()];
  }
}
