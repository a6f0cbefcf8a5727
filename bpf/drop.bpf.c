// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Drop tracer on tp_btf/kfree_skb: every packet the kernel frees as dropped,
 * anywhere in the system, counted by drop reason and the security identities
 * of both ends, and sent as an event (rate-limited).
 *
 * It runs on every drop of the machine, so it does no more than reading the
 * buffer's IP and transport headers (bounded) and two ipcache lookups.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "flowlens.h"
/* protocol numbers and IPv6 extension header helpers; its TC parser is not used here */
#include "parse.bpf.h"

/* sk_buff offsets use ~0 for "not set" (skb_mac_header_was_set and friends) */
#define FLOWLENS_SKB_OFFSET_UNSET 0xffff

/* Per-CPU ceiling of drop events per second; the rest count as FLOWLENS_LOST_RATE_LIMIT. */
const volatile __u32 events_per_second = 1000;

#include "identity.bpf.h"
#include "ports.bpf.h"
#include "clock.bpf.h"
#include "counter.bpf.h"
#include "events.bpf.h"

/* flowlens_drops_total. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct drop_key);
	__type(value, __u64);
} drops SEC(".maps");

/* flowlens_flows_total{verdict="dropped"}: connection attempts (TCP SYN without ACK) that were dropped. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct flow_key);
	__type(value, __u64);
} dropped_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} drop_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct events_budget);
} drop_events_budget SEC(".maps");

/* flowlens_events_lost_total{source="drop"}. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLOWLENS_LOST_REASONS);
	__type(key, __u32);
	__type(value, __u64);
} drop_events_lost SEC(".maps");

/* flowlens_bpf_map_update_errors_total, by FLOWLENS_DROP_MAP_*. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLOWLENS_DROP_MAP_IDS);
	__type(key, __u32);
	__type(value, __u64);
} drop_map_errors SEC(".maps");

/*
 * Dropped connection attempts by the SYN's tuple, with the time of its latest
 * SYN. A client retries a dropped SYN (1 s, 2 s, 4 s, ... apart, up to 32 s
 * with Linux's defaults): each retry is a dropped packet, but the same attempt,
 * not a new flow. A tuple silent for DROPPED_SYN_MEMORY_NS starts anew.
 */
#define DROPPED_SYN_MEMORY_NS (120ULL * FLOWLENS_NSEC_PER_SEC)

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct flow_tuple);
	__type(value, __u64);
} dropped_syns SEC(".maps");

/* Ring buffers have no value type: this puts the event layout into the BTF the codec test reads. */
const struct drop_event *const unused_drop_event __attribute__((unused)) = 0;

/* What was read from the dropped buffer's headers. */
struct drop_packet {
	__u8 saddr[16]; /* network byte order; IPv4 in [0..3] */
	__u8 daddr[16];
	__u16 sport; /* host byte order, as in struct flowlens_packet */
	__u16 dport;
	__u8 family; /* zero: no readable IP header */
	__u8 protocol;
	__u8 tcp_flags;
	__u8 has_ports;
};

/* Bytes of the transport header that are read: TCP's ports up to its flags. */
#define DROP_L4_BYTES 14

/* Ports and TCP flags from a transport header's first len bytes (len: how many could be read). */
static __always_inline void parse_l4(const __u8 *hdr, __u32 len, struct drop_packet *pkt)
{
	switch (pkt->protocol) {
	case FLOWLENS_PROTO_TCP:
		/* ports, sequence, acknowledgement, data offset, flags */
		if (len < 14)
			return;
		pkt->tcp_flags = hdr[13];
		break;
	case FLOWLENS_PROTO_UDP:
	case FLOWLENS_PROTO_SCTP:
		if (len < 4)
			return;
		break;
	case FLOWLENS_PROTO_ICMP:
	case FLOWLENS_PROTO_ICMPV6:
		/* type, code, checksum, echo identifier */
		if (len < 6)
			return;
		if (flowlens_icmp_is_echo(pkt->protocol, hdr[0])) {
			pkt->sport = ((__u16)hdr[4] << 8) | hdr[5];
			pkt->dport = pkt->sport;
		}
		return;
	default:
		return;
	}
	pkt->sport = ((__u16)hdr[0] << 8) | hdr[1];
	pkt->dport = ((__u16)hdr[2] << 8) | hdr[3];
	pkt->has_ports = 1;
}

/* The bytes each protocol's parse_l4 needs. */
static __always_inline __u32 l4_bytes_needed(__u8 protocol)
{
	switch (protocol) {
	case FLOWLENS_PROTO_TCP:
		return 14;
	case FLOWLENS_PROTO_UDP:
	case FLOWLENS_PROTO_SCTP:
		return 4;
	case FLOWLENS_PROTO_ICMP:
	case FLOWLENS_PROTO_ICMPV6:
		return 6;
	default:
		return 0;
	}
}

/*
 * Reads the transport header at off (from skb->head). Headers outside the
 * linear part (off + length past tail) are left unread rather than read from
 * whatever the head buffer holds there.
 */
static __always_inline void read_l4(const unsigned char *head, __u32 off, __u32 tail, struct drop_packet *pkt)
{
	__u8 hdr[DROP_L4_BYTES];
	__u32 len = l4_bytes_needed(pkt->protocol);

	if (!len || len > DROP_L4_BYTES || off + len > tail || bpf_probe_read_kernel(hdr, len, head + off))
		return;
	parse_l4(hdr, len, pkt);
}

/*
 * The transport header's offset is taken from the IP header itself, not from
 * skb->transport_header: that field is unset on many paths, and on IPv6
 * receive it points at each extension header in turn while the stack walks
 * them, so only the packet says where the transport header is.
 */
static __always_inline void read_ipv4(const unsigned char *head, __u32 nh, __u32 tail, struct drop_packet *pkt)
{
	/*
	 * The header without options and the transport bytes after it, in one
	 * read when the linear part holds them all: in a drop flood this runs
	 * for every packet, and each read is a helper call.
	 */
	__u8 buf[20 + DROP_L4_BYTES];
	bool whole = nh + sizeof(buf) <= tail;
	__u32 ihl;

	if (whole) {
		if (bpf_probe_read_kernel(buf, sizeof(buf), head + nh))
			return;
	} else if (nh + 20 > tail || bpf_probe_read_kernel(buf, 20, head + nh)) {
		return;
	}
	ihl = buf[0] & 0x0f;
	if ((buf[0] >> 4) != 4 || ihl < 5)
		return;
	pkt->family = FLOWLENS_FAMILY_IPV4;
	pkt->protocol = buf[9];
	__builtin_memcpy(pkt->saddr, &buf[12], 4);
	__builtin_memcpy(pkt->daddr, &buf[16], 4);
	/* a non-first fragment starts with payload, not a transport header */
	if (((((__u16)buf[6] << 8) | buf[7]) & 0x1fff) != 0)
		return;
	if (whole && ihl == 5)
		parse_l4(&buf[20], DROP_L4_BYTES, pkt);
	else
		read_l4(head, nh + ihl * 4, tail, pkt);
}

static __always_inline void read_ipv6(const unsigned char *head, __u32 nh, __u32 tail, struct drop_packet *pkt)
{
	__u8 ip6h[40];
	__u8 ext[4];
	__u8 nexthdr;
	__u32 off, len;
	int i;

	if (nh + sizeof(ip6h) > tail || bpf_probe_read_kernel(ip6h, sizeof(ip6h), head + nh))
		return;
	if ((ip6h[0] >> 4) != 6)
		return;
	pkt->family = FLOWLENS_FAMILY_IPV6;
	__builtin_memcpy(pkt->saddr, &ip6h[8], 16);
	__builtin_memcpy(pkt->daddr, &ip6h[24], 16);
	nexthdr = ip6h[6];
	off = nh + sizeof(ip6h);

#pragma unroll
	for (i = 0; i < FLOWLENS_IPV6_EXTHDR_MAX; i++) {
		if (!flowlens_ipv6_is_exthdr(nexthdr))
			break;
		if (off + sizeof(ext) > tail || bpf_probe_read_kernel(ext, sizeof(ext), head + off))
			return;
		if (flowlens_ipv6_later_fragment(nexthdr, ext)) {
			pkt->protocol = ext[0];
			return;
		}
		len = flowlens_ipv6_exthdr_len(nexthdr, ext);
		nexthdr = ext[0];
		off += len;
	}
	/* more extension headers than followed: addresses known, transport not */
	if (flowlens_ipv6_is_exthdr(nexthdr))
		return;
	pkt->protocol = nexthdr;
	read_l4(head, off, tail, pkt);
}

/*
 * Leaves pkt->family zero when the buffer holds no IP header that can be
 * read: network header not set (buffers dropped before the stack looked at
 * them), not IP, or not within the linear part.
 */
static __always_inline void read_packet(struct sk_buff *skb, struct drop_packet *pkt)
{
	const unsigned char *head = skb->head;
	__u32 nh = skb->network_header;
	__u32 tail = skb->tail;
	__u16 proto = bpf_ntohs(skb->protocol);

	if (!head || nh == FLOWLENS_SKB_OFFSET_UNSET || (nh == 0 && skb->mac_header == FLOWLENS_SKB_OFFSET_UNSET))
		return;
	if (proto == FLOWLENS_ETH_P_IP)
		read_ipv4(head, nh, tail, pkt);
	else if (proto == FLOWLENS_ETH_P_IPV6)
		read_ipv6(head, nh, tail, pkt);
}

/*
 * Direction relative to the network stack that dropped the packet:
 * skb_iif is the device the packet was received on (zero for packets this
 * stack sent), skb->dev the device it is at now. Received and still at that
 * device: ingress. Sent from here (no input device): egress. Anything else
 * (forwarded between devices, no device, or moved to another namespace by a
 * veth whose receive side has not run yet) is left unknown (zero).
 */
static __always_inline __u8 direction_of(struct sk_buff *skb, __u32 ifindex)
{
	__u32 iif = (__u32)skb->skb_iif;

	if (!ifindex)
		return 0;
	if (iif == ifindex)
		return FLOWLENS_DIRECTION_INGRESS;
	if (iif == 0)
		return FLOWLENS_DIRECTION_EGRESS;
	return 0;
}

/* Over budget, the drop tracer reads the clock only every 64th drop (events.bpf.h). */
#define EVENTS_CLOCK_STRIDE 64

static __always_inline void emit_drop_event(const struct drop_packet *pkt, const struct drop_key *key, __u32 ifindex)
{
	struct drop_event *event;
	__u64 now = 0;

	event = events_reserve(&drop_events, &drop_events_budget, &drop_events_lost, events_per_second, EVENTS_CLOCK_STRIDE,
			       sizeof(*event), &now);
	if (!event)
		return;
	/* reserved memory is not zeroed: write every byte */
	event->type = FLOWLENS_EVENT_DROP;
	event->family = pkt->family;
	event->protocol = pkt->protocol;
	event->direction = key->direction;
	event->ifindex = ifindex;
	event->timestamp_ns = now;
	event->reason = key->reason;
	event->src_identity = key->src_identity;
	event->dst_identity = key->dst_identity;
	event->sport = pkt->sport;
	event->dport = pkt->dport;
	__builtin_memcpy(event->saddr, pkt->saddr, 16);
	__builtin_memcpy(event->daddr, pkt->daddr, 16);
	/*
	 * No wakeup: user space reads drop events on a timer. A wakeup per event
	 * costs the path that drops more than the event itself (an irq_work and a
	 * scheduler wakeup, each an exit on a VM).
	 */
	bpf_ringbuf_submit(event, BPF_RB_NO_WAKEUP);
}

/* True for a SYN of a tuple whose SYN was dropped within DROPPED_SYN_MEMORY_NS; remembers this one. */
static __noinline bool dropped_syn_is_retry(const struct drop_packet *pkt, __u8 direction)
{
	struct flow_tuple tuple = {};
	__u64 now = bpf_ktime_get_ns();
	__u64 *last;

	__builtin_memcpy(tuple.saddr, pkt->saddr, 16);
	__builtin_memcpy(tuple.daddr, pkt->daddr, 16);
	tuple.sport = pkt->sport;
	tuple.dport = pkt->dport;
	tuple.protocol = pkt->protocol;
	tuple.family = pkt->family;
	tuple.direction = direction;
	last = bpf_map_lookup_elem(&dropped_syns, &tuple);
	/* another CPU may have stored a later time than this `now`: that is a retry too */
	if (last && elapsed_since(*last, now) < DROPPED_SYN_MEMORY_NS) {
		if (now > *last)
			*last = now;
		return true;
	}
	bpf_map_update_elem(&dropped_syns, &tuple, &now, BPF_ANY);
	return false;
}

/*
 * Reasons that do not mean a drop. SKB_CONSUMED (6.3+) frees a packet that
 * was delivered; SKB_NOT_DROPPED_YET is the initial value, never a reason.
 * Both are resolved against the running kernel's enum at load time, and a
 * kernel without them has no such value to skip.
 */
static __always_inline bool is_not_a_drop(__u32 reason)
{
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_CONSUMED) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_CONSUMED))
		return true;
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_NOT_DROPPED_YET) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_NOT_DROPPED_YET))
		return true;
	return false;
}

/*
 * Only the first three arguments are declared: 6.11 appended rx_sk, and
 * reading fewer arguments than the tracepoint passes is valid on every
 * kernel that has the reason argument (5.17+).
 */
SEC("tp_btf/kfree_skb")
int BPF_PROG(drop_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	struct drop_packet pkt = {};
	struct drop_key key = {};
	struct net_device *dev;
	__u32 ifindex = 0;

	if (is_not_a_drop((__u32)reason))
		return 0;

	dev = skb->dev;
	if (dev)
		ifindex = dev->ifindex;
	read_packet(skb, &pkt);

	key.reason = (__u32)reason;
	key.direction = direction_of(skb, ifindex);
	if (pkt.family) {
		identities_of(pkt.family, pkt.saddr, pkt.daddr, &key.src_identity, &key.dst_identity);
		key.protocol = pkt.protocol;
		/* as in flow_key: ICMP echo identifiers are not destination ports */
		key.dst_port = pkt.has_ports ? port_class(pkt.dport) : 0;
	}
	counter_add(&drops, &key, 1, &drop_map_errors, FLOWLENS_DROP_MAP_DROPS);

	/* a connection attempt that never got through is a flow with verdict "dropped" */
	if (pkt.protocol == FLOWLENS_PROTO_TCP && pkt.has_ports &&
	    (pkt.tcp_flags & ((1 << FLOWLENS_TCP_SYN) | (1 << FLOWLENS_TCP_ACK))) == (1 << FLOWLENS_TCP_SYN) &&
	    !dropped_syn_is_retry(&pkt, key.direction)) {
		struct flow_key flow = {
			.src_identity = key.src_identity,
			.dst_identity = key.dst_identity,
			.dst_port = key.dst_port,
			.protocol = key.protocol,
			.direction = key.direction,
			.verdict = FLOWLENS_VERDICT_DROPPED,
		};

		counter_add(&dropped_flows, &flow, 1, &drop_map_errors, FLOWLENS_DROP_MAP_DROPPED_FLOWS);
	}

	emit_drop_event(&pkt, &key, ifindex);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
