// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * TCP retransmissions by the security identities of both ends: every segment
 * a socket of this node sends again, as the kernel's own RetransSegs counter
 * counts it (a retransmitted buffer holding several segments counts each,
 * and a SYN-ACK sent again counts one). The retransmitting socket is the
 * source, its peer the destination.
 *
 * Both tracepoints run only when TCP retransmits, never per packet.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "flowlens.h"
#include "identity.bpf.h"
#include "counter.bpf.h"

#define FLOWLENS_AF_INET 2
#define FLOWLENS_AF_INET6 10

/*
 * Set by user space from the running kernel's BTF: tcp_retransmit_skb passes
 * the transmit's error as a third argument (6.12+), and then fires for
 * attempts that sent nothing too (a buffer still queued below TCP: -EBUSY),
 * which RetransSegs does not count. False on older kernels, where the
 * tracepoint fires only for sent segments and has no third argument to read.
 */
const volatile bool retransmit_has_err = false;

/* flowlens_tcp_retransmits_total. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tcp_retransmit_key);
	__type(value, __u64);
} tcp_retransmits SEC(".maps");

/* flowlens_bpf_map_update_errors_total, by FLOWLENS_RETRANSMIT_MAP_*. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLOWLENS_RETRANSMIT_MAP_IDS);
	__type(key, __u32);
	__type(value, __u64);
} retransmit_map_errors SEC(".maps");

/* ::ffff:a.b.c.d, an IPv4 peer of a dual-stack socket: resolved as the IPv4 address it is. */
static __always_inline bool is_v4_mapped(const __u8 *addr)
{
	__u64 high;
	__u32 mid;

	__builtin_memcpy(&high, addr, 8);
	__builtin_memcpy(&mid, addr + 8, 4);
	return high == 0 && mid == bpf_htonl(0x0000ffff);
}

/* Counts segments under the identities of the connection's two ends, as sock_common holds them. */
static __always_inline void count_retransmit(const struct sock_common *common, __u64 segments)
{
	struct tcp_retransmit_key key = {};
	__u8 saddr[16] = {}, daddr[16] = {};
	__u16 family = BPF_CORE_READ(common, skc_family);
	__u8 fam;

	if (family == FLOWLENS_AF_INET) {
		BPF_CORE_READ_INTO((__u32 *)saddr, common, skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)daddr, common, skc_daddr);
		fam = FLOWLENS_FAMILY_IPV4;
	} else if (family == FLOWLENS_AF_INET6) {
		BPF_CORE_READ_INTO(&saddr, common, skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&daddr, common, skc_v6_daddr.in6_u.u6_addr8);
		fam = FLOWLENS_FAMILY_IPV6;
		if (is_v4_mapped(saddr) && is_v4_mapped(daddr)) {
			__builtin_memcpy(saddr, saddr + 12, 4);
			__builtin_memcpy(daddr, daddr + 12, 4);
			__builtin_memset(saddr + 4, 0, 12);
			__builtin_memset(daddr + 4, 0, 12);
			fam = FLOWLENS_FAMILY_IPV4;
		}
	} else {
		return;
	}
	identities_of(fam, saddr, daddr, &key.src_identity, &key.dst_identity);
	counter_add(&tcp_retransmits, &key, segments, &retransmit_map_errors, FLOWLENS_RETRANSMIT_MAP_TCP_RETRANSMITS);
}

/*
 * Only the first two arguments are declared: the error (see
 * retransmit_has_err) is read from the context only where the kernel passes
 * it. tcp_skb_pcount(): the segments this buffer carries, as RetransSegs adds them.
 */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(retransmit_skb, const struct sock *sk, const struct sk_buff *skb)
{
	const struct tcp_skb_cb *cb = (const struct tcp_skb_cb *)&skb->cb[0];
	__u16 segments;

	if (retransmit_has_err && (int)ctx[2] != 0)
		return 0;
	segments = BPF_CORE_READ(cb, tcp_gso_segs);

	count_retransmit(&sk->__sk_common, segments ? segments : 1);
	return 0;
}

/* A SYN-ACK sent again: the request, not yet a socket, holds the addresses. */
SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(retransmit_synack, const struct sock *sk, const struct request_sock *req)
{
	count_retransmit(&req->__req_common, 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
