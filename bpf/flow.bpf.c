// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * TC program on the host side of endpoint interfaces: counts packets, bytes,
 * TCP flags and new flows by the security identities of both ends, and sends
 * each new flow as an event; DNS queries and responses (protocols/dns.bpf.h)
 * and HTTP/1.x exchanges (protocols/http.bpf.h) likewise, each exchange as an event.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>

#include "flowlens.h"
#include "parse.bpf.h"

/*
 * TC_ACT_UNSPEC (linux/pkt_cls.h; a macro, so vmlinux.h lacks it). Observing
 * must never change a packet's fate: returning "unspecified" lets the next
 * filter, the CNI's own programs or the default action decide, exactly as if
 * flowlens were not attached.
 */
#define FLOWLENS_TC_ACT_UNSPEC (-1)

/* A UDP/ICMP/SCTP tuple idle this long starts a new flow when seen again. */
const volatile __u64 flow_idle_timeout_ns = 30ULL * FLOWLENS_NSEC_PER_SEC;
/*
 * Events wake no reader: user space reads the ring on a timer (EVENTS_READ_MS
 * in src/datapath/events.ts). A wakeup per event costs the packet path an
 * irq_work and a scheduler wakeup, more than the event itself.
 */
#define FLOWLENS_EVENT_SUBMIT_FLAGS BPF_RB_NO_WAKEUP

/* Per-CPU ceiling of events per second (in windows: flowlens.h); the rest count as FLOWLENS_LOST_RATE_LIMIT. */
const volatile __u32 events_per_second = 1000;

#include "identity.bpf.h"
#include "ports.bpf.h"
#include "clock.bpf.h"
#include "counter.bpf.h"
#include "events.bpf.h"

/* flowlens_packets_total, flowlens_bytes_total and flowlens_tcp_flags_total. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct flow_key);
	__type(value, struct flow_traffic_value);
} flow_traffic SEC(".maps");

/* flowlens_flows_total{verdict="forwarded"}: new flows. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct flow_key);
	__type(value, __u64);
} flows SEC(".maps");

/* Shared by all CPUs: a reply may be handled on another CPU than its request. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct flow_tuple);
	__type(value, __u64); /* last seen, bpf_ktime_get_ns() */
} flow_conntrack SEC(".maps");

/*
 * TCP connection attempts awaiting an answer, by the SYN's tuple. Shared by
 * all CPUs like flow_conntrack. Entries leave on the answer (SYN-ACK or RST)
 * or, unanswered, when user space sweeps them out after its timeout.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct flow_tuple);
	__type(value, struct tcp_pending_value);
} tcp_pending SEC(".maps");

/* flowlens_tcp_connection_attempts_total: attempts by outcome (unanswered ones counted by user space). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tcp_outcome_key);
	__type(value, __u64);
} tcp_attempts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct events_budget);
} events_budget SEC(".maps");

/* flowlens_malformed_packets_total and flowlens_non_ip_packets_total, by FLOWLENS_PARSE_*. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLOWLENS_PARSE_REASONS);
	__type(key, __u32);
	__type(value, __u64);
} parse_packets SEC(".maps");

/* flowlens_events_lost_total{source="flow"}. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLOWLENS_LOST_REASONS);
	__type(key, __u32);
	__type(value, __u64);
} events_lost SEC(".maps");

/* flowlens_bpf_map_update_errors_total, by FLOWLENS_MAP_*. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLOWLENS_MAP_IDS);
	__type(key, __u32);
	__type(value, __u64);
} map_update_errors SEC(".maps");

/*
 * The ring buffer has no key or value type, so nothing else would put the
 * event layout into the object's BTF, where the codec test checks it.
 */
const struct flow_event *const unused_flow_event __attribute__((unused)) = 0;
const struct tcp_outcome_event *const unused_tcp_outcome_event __attribute__((unused)) = 0;

/* One more packet of len bytes under key; tcp_flags is the TCP flags byte, zero for other protocols. */
static __always_inline void traffic_add(const struct flow_key *key, __u64 len, __u8 tcp_flags)
{
	struct flow_traffic_value *value = counter_value(&flow_traffic, key, &map_update_errors, FLOWLENS_MAP_FLOW_TRAFFIC);
	int bit;

	if (!value)
		return;
	value->packets += 1;
	value->bytes += len;
	if (!tcp_flags)
		return;
#pragma unroll
	for (bit = 0; bit < 8; bit++)
		value->tcp_flags[bit] += (tcp_flags >> bit) & 1;
}

/* What flow_conntrack holds for a tuple. */
enum conntrack_state {
	CONNTRACK_ABSENT,
	CONNTRACK_EXPIRED,
	CONNTRACK_LIVE,
};

/*
 * The tuple's state; a live entry is refreshed so an active flow never
 * expires. Entries are shared by all CPUs: another CPU may have stored a
 * later time than the `now` read here (elapsed_since reads that as live),
 * and the refresh only ever moves the time forward.
 */
static __always_inline enum conntrack_state conntrack_touch(const struct flow_tuple *tuple, __u64 now, __u64 **slot)
{
	__u64 *last_seen = bpf_map_lookup_elem(&flow_conntrack, tuple);
	__u64 seen;

	*slot = last_seen;
	if (!last_seen)
		return CONNTRACK_ABSENT;
	seen = *last_seen;
	if (elapsed_since(seen, now) >= flow_idle_timeout_ns)
		return CONNTRACK_EXPIRED;
	if (now > seen)
		__sync_val_compare_and_swap(last_seen, seen, now);
	return CONNTRACK_LIVE;
}

/* The packet's tuple, as flow_conntrack and tcp_pending key it. */
static __always_inline void tuple_of(const struct flowlens_packet *pkt, __u8 direction, struct flow_tuple *tuple)
{
	__builtin_memcpy(tuple->saddr, pkt->saddr, 16);
	__builtin_memcpy(tuple->daddr, pkt->daddr, 16);
	tuple->sport = pkt->sport;
	tuple->dport = pkt->dport;
	tuple->protocol = pkt->protocol;
	tuple->family = pkt->family;
	tuple->direction = direction;
}

/*
 * First packet of a connectionless flow: neither the tuple nor its reply
 * tuple was seen within the idle timeout. The tuple carries the direction so
 * that a packet between two local endpoints starts a flow at both hooks
 * (egress of one, ingress of the other); a reply travels the opposite
 * direction through the hook of the same endpoint, hence the flip.
 */
static __always_inline bool conntrack_is_new(const struct flowlens_packet *pkt, __u8 direction, __u64 now)
{
	struct flow_tuple tuple = {};
	struct flow_tuple reply = {};
	enum conntrack_state state;
	__u64 *slot, *reply_slot, seen;

	tuple_of(pkt, direction, &tuple);
	state = conntrack_touch(&tuple, now, &slot);
	if (state == CONNTRACK_LIVE)
		return false;

	__builtin_memcpy(reply.saddr, pkt->daddr, 16);
	__builtin_memcpy(reply.daddr, pkt->saddr, 16);
	reply.sport = pkt->dport;
	reply.dport = pkt->sport;
	reply.protocol = pkt->protocol;
	reply.family = pkt->family;
	reply.direction = direction == FLOWLENS_DIRECTION_EGRESS ? FLOWLENS_DIRECTION_INGRESS
								  : FLOWLENS_DIRECTION_EGRESS;
	if (conntrack_touch(&reply, now, &reply_slot) == CONNTRACK_LIVE)
		return false;

	/*
	 * Exactly one CPU starts the flow when packets of a new or expired
	 * tuple arrive on several at once: the one whose insert (or whose
	 * compare-and-swap of the expired time) succeeds.
	 */
	if (state == CONNTRACK_EXPIRED && slot) {
		seen = *slot;
		if (elapsed_since(seen, now) < flow_idle_timeout_ns)
			return false;
		return __sync_val_compare_and_swap(slot, seen, now) == seen;
	}
	if (bpf_map_update_elem(&flow_conntrack, &tuple, &now, BPF_NOEXIST) == 0)
		return true;
	/* another CPU inserted it first: that CPU counts the flow */
	if (bpf_map_lookup_elem(&flow_conntrack, &tuple))
		return false;
	array_inc(&map_update_errors, FLOWLENS_MAP_FLOW_CONNTRACK);
	return true;
}

/*
 * Room for one event of size bytes on this object's ring, or NULL with the
 * loss counted (events_reserve in events.bpf.h). Every event type draws on the
 * one budget: it bounds the ring's inflow, not any one kind of event. The
 * caller has read the clock, so no stride is needed.
 */
static __always_inline void *event_reserve(__u64 size, __u64 now)
{
	return events_reserve(&events, &events_budget, &events_lost, events_per_second, 1, size, &now);
}

static __always_inline void emit_flow_event(struct __sk_buff *skb, const struct flowlens_packet *pkt,
					    const struct flow_key *key, __u64 now)
{
	struct flow_event *event = event_reserve(sizeof(*event), now);

	if (!event)
		return;
	/* reserved memory is not zeroed: write every byte, padding included */
	event->type = FLOWLENS_EVENT_FLOW;
	event->family = pkt->family;
	event->protocol = pkt->protocol;
	event->direction = key->direction;
	event->ifindex = skb->ifindex;
	event->timestamp_ns = now;
	event->src_identity = key->src_identity;
	event->dst_identity = key->dst_identity;
	__builtin_memcpy(event->saddr, pkt->saddr, 16);
	__builtin_memcpy(event->daddr, pkt->daddr, 16);
	event->sport = pkt->sport;
	event->dport = pkt->dport;
	event->tcp_flags = pkt->tcp_flags;
	event->verdict = key->verdict;
	event->_pad[0] = 0;
	event->_pad[1] = 0;
	bpf_ringbuf_submit(event, FLOWLENS_EVENT_SUBMIT_FLAGS);
}

/*
 * A SYN of an attempt tcp_pending already holds: the client retrying. Its
 * clock is refreshed, so the unanswered timeout runs from the latest try and a
 * settled attempt is remembered for as long as the retries go on.
 */
static __always_inline bool tcp_syn_is_retry(const struct flowlens_packet *pkt, __u8 direction, __u64 now)
{
	struct flow_tuple tuple = {};
	struct tcp_pending_value *pending;

	tuple_of(pkt, direction, &tuple);
	pending = bpf_map_lookup_elem(&tcp_pending, &tuple);
	if (!pending)
		return false;
	pending->syn_ns = now;
	return true;
}

/*
 * First packet of a flow. A TCP connection opens with SYN without ACK (SYN-ACK
 * answers one), and a retried SYN opens nothing new; connectionless protocols
 * ask flow_conntrack. The clock is read only on these paths, into *now, so the
 * bulk of TCP packets never pay for it.
 */
static __always_inline bool is_flow_start(const struct flowlens_packet *pkt, __u8 direction, __u64 *now)
{
	if (!pkt->has_l4)
		return false;
	switch (pkt->protocol) {
	case FLOWLENS_PROTO_TCP:
		if ((pkt->tcp_flags & ((1 << FLOWLENS_TCP_SYN) | (1 << FLOWLENS_TCP_ACK))) != (1 << FLOWLENS_TCP_SYN))
			return false;
		*now = bpf_ktime_get_ns();
		return !tcp_syn_is_retry(pkt, direction, *now);
	case FLOWLENS_PROTO_UDP:
	case FLOWLENS_PROTO_ICMP:
	case FLOWLENS_PROTO_ICMPV6:
	case FLOWLENS_PROTO_SCTP:
		*now = bpf_ktime_get_ns();
		return conntrack_is_new(pkt, direction, *now);
	default:
		return false;
	}
}

/* A SYN opens an attempt (its retries are caught by tcp_syn_is_retry). */
static __always_inline void tcp_pending_add(const struct flowlens_packet *pkt, const struct flow_key *key, __u64 now)
{
	struct flow_tuple tuple = {};
	struct tcp_pending_value value = {
		.syn_ns = now,
		.src_identity = key->src_identity,
		.dst_identity = key->dst_identity,
		.dst_port = key->dst_port,
	};

	tuple_of(pkt, key->direction, &tuple);
	/* a full LRU evicts its least recently used attempt, which then has no outcome */
	bpf_map_update_elem(&tcp_pending, &tuple, &value, BPF_NOEXIST);
}

/* The settled attempt; syn is its tcp_pending key, key what it was counted under. */
static __always_inline void emit_tcp_outcome_event(const struct flow_tuple *syn, const struct tcp_outcome_key *key,
						   __u64 syn_ns, __u32 ifindex, __u64 now)
{
	struct tcp_outcome_event *event = event_reserve(sizeof(*event), now);

	if (!event)
		return;
	/* reserved memory is not zeroed: write every byte, padding included */
	event->type = FLOWLENS_EVENT_TCP_OUTCOME;
	event->family = syn->family;
	event->protocol = syn->protocol;
	event->direction = syn->direction;
	event->ifindex = ifindex;
	event->timestamp_ns = now;
	event->syn_timestamp_ns = syn_ns;
	event->src_identity = key->src_identity;
	event->dst_identity = key->dst_identity;
	__builtin_memcpy(event->saddr, syn->saddr, 16);
	__builtin_memcpy(event->daddr, syn->daddr, 16);
	event->sport = syn->sport;
	event->dport = syn->dport;
	event->outcome = key->outcome;
	event->_pad[0] = 0;
	event->_pad[1] = 0;
	event->_pad[2] = 0;
	bpf_ringbuf_submit(event, FLOWLENS_EVENT_SUBMIT_FLAGS);
}

/*
 * A SYN-ACK or RST: if it answers a pending attempt, count the outcome and
 * send it as an event. The
 * answer travels the opposite direction through the hook of the same
 * endpoint, hence the flipped direction (as in conntrack_is_new). Only the
 * CPU whose delete succeeds counts, so an attempt is counted once even when
 * two answers race, or the user-space sweep takes it as unanswered.
 */
static __noinline int tcp_answer(const struct flowlens_packet *pkt, __u8 direction, __u32 ifindex)
{
	struct flow_tuple syn = {};
	struct tcp_outcome_key key = {};
	struct tcp_pending_value *pending;
	__u64 syn_ns;

	__builtin_memcpy(syn.saddr, pkt->daddr, 16);
	__builtin_memcpy(syn.daddr, pkt->saddr, 16);
	syn.sport = pkt->dport;
	syn.dport = pkt->sport;
	syn.protocol = pkt->protocol;
	syn.family = pkt->family;
	syn.direction = direction == FLOWLENS_DIRECTION_EGRESS ? FLOWLENS_DIRECTION_INGRESS : FLOWLENS_DIRECTION_EGRESS;
	pending = bpf_map_lookup_elem(&tcp_pending, &syn);
	if (!pending)
		return 0;
	key.src_identity = pending->src_identity;
	key.dst_identity = pending->dst_identity;
	key.dst_port = pending->dst_port;
	key.direction = syn.direction;
	/* copied before the delete, which may hand the entry's memory to another update */
	syn_ns = pending->syn_ns;
	/* user space counted it unanswered already: a late answer only ends the memory of it */
	if (pending->unanswered) {
		bpf_map_delete_elem(&tcp_pending, &syn);
		return 0;
	}
	if (pkt->tcp_flags & (1 << FLOWLENS_TCP_RST))
		key.outcome = FLOWLENS_TCP_OUTCOME_REFUSED;
	else if (pkt->tcp_flags & (1 << FLOWLENS_TCP_ACK))
		key.outcome = FLOWLENS_TCP_OUTCOME_ESTABLISHED;
	else
		return 0;
	if (bpf_map_delete_elem(&tcp_pending, &syn))
		return 0;
	counter_add(&tcp_attempts, &key, 1, &map_update_errors, FLOWLENS_MAP_TCP_ATTEMPTS);
	emit_tcp_outcome_event(&syn, &key, syn_ns, ifindex, bpf_ktime_get_ns());
	return 0;
}

/*
 * A subprogram rather than inlined: flow starts are rare, and keeping their
 * instructions out of handle() keeps the path every packet takes short.
 */
static __noinline int count_flow_start(struct __sk_buff *skb, const struct flowlens_packet *pkt,
				       struct flow_key *key, __u64 now)
{
	/* ICMP echo identifiers make tuples, not destination ports */
	key->dst_port = pkt->has_ports ? port_class(pkt->dport) : 0;
	counter_add(&flows, key, 1, &map_update_errors, FLOWLENS_MAP_FLOWS);
	if (pkt->protocol == FLOWLENS_PROTO_TCP)
		tcp_pending_add(pkt, key, now);
	emit_flow_event(skb, pkt, key, now);
	return 0;
}

/* after the helpers above, which the DNS parser counts and sends events with */
#include "protocols/dns.bpf.h"
#include "protocols/http.bpf.h"

static __always_inline int handle(struct __sk_buff *skb, __u8 direction)
{
	struct flowlens_packet pkt = {};
	struct flow_key key = {};
	__u64 now;
	int reason;

	reason = flowlens_parse(skb, &pkt);
	if (reason != FLOWLENS_PARSE_OK) {
		array_inc(&parse_packets, (__u32)reason);
		return FLOWLENS_TC_ACT_UNSPEC;
	}

	identities_of(pkt.family, pkt.saddr, pkt.daddr, &key.src_identity, &key.dst_identity);
	key.protocol = pkt.protocol;
	key.direction = direction;
	key.verdict = FLOWLENS_VERDICT_FORWARDED;
	/* the parser leaves tcp_flags zero unless it read a TCP header */
	traffic_add(&key, skb->len, pkt.tcp_flags);

	if (is_flow_start(&pkt, direction, &now))
		count_flow_start(skb, &pkt, &key, now);
	/* flags first: plain ACK and data segments, the bulk of TCP, skip the lookup */
	else if ((pkt.tcp_flags & ((1 << FLOWLENS_TCP_SYN) | (1 << FLOWLENS_TCP_RST))) && pkt.protocol == FLOWLENS_PROTO_TCP)
		tcp_answer(&pkt, direction, skb->ifindex);
	flowlens_dns(skb, &pkt, &key, direction);
	/* a request or status line needs four bytes to be told; payload_off is set for TCP and UDP */
	if (pkt.protocol == FLOWLENS_PROTO_TCP && pkt.payload_off && pkt.payload_off + 4 <= skb->len &&
	    http_gate_open(&pkt, skb->len - pkt.payload_off))
		http_observe(skb, &pkt, &key);
	return FLOWLENS_TC_ACT_UNSPEC;
}

SEC("tc")
int flow_from_endpoint(struct __sk_buff *skb)
{
	return handle(skb, FLOWLENS_DIRECTION_EGRESS);
}

SEC("tc")
int flow_to_endpoint(struct __sk_buff *skb)
{
	return handle(skb, FLOWLENS_DIRECTION_INGRESS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
