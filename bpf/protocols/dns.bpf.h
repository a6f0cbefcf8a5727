/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * DNS over UDP and TCP for flow.bpf.c: the header and the first question of
 * every message on a DNS port, counted as queries and responses by the
 * identities of client and server, queries matched to their responses for
 * latency, and each matched exchange sent as an event.
 *
 * Included by flow.bpf.c after its helpers (counter_add, array_inc,
 * event_reserve), which it uses; handle() calls flowlens_dns() once per
 * packet. That call costs a packet on another port one compare per
 * configured port of each end (the ports are read-only globals): everything
 * else sits behind the __noinline dns_observe().
 */
#ifndef __FLOWLENS_DNS_BPF_H
#define __FLOWLENS_DNS_BPF_H

#include "flowlens.h"

#define DNS_HEADER_LEN 12
/* RFC 1035 3.1: a name is at most 255 bytes in wire format, each label at most 63. */
#define DNS_NAME_WIRE_MAX 255
#define DNS_LABEL_MAX 63
/* The question: the name, then QTYPE and QCLASS. */
#define DNS_QUESTION_MAX (DNS_NAME_WIRE_MAX + 4)
/* A name of 255 bytes has at most 127 labels of one byte plus the root. */
#define DNS_LABELS_MAX 128
/* Scratch is a power of two larger than the question, so a masked index is in bounds. */
#define DNS_SCRATCH_LEN 512
#define DNS_SCRATCH_MASK (DNS_SCRATCH_LEN - 1)

/*
 * Ports parsed as DNS, set by user space before load (scalars: globals are
 * set one scalar at a time). dns_port_count says how many are in use, so the
 * common single-port case costs one compare per end.
 */
const volatile __u16 dns_port_0 = 53;
const volatile __u16 dns_port_1 = 0;
const volatile __u16 dns_port_2 = 0;
const volatile __u16 dns_port_3 = 0;
const volatile __u32 dns_port_count = 1;

/* flowlens_dns_queries_total. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct dns_query_key);
	__type(value, __u64);
} dns_queries SEC(".maps");

/* flowlens_dns_responses_total and flowlens_dns_response_duration_seconds. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct dns_response_key);
	__type(value, struct dns_response_value);
} dns_responses SEC(".maps");

/*
 * Queries awaiting a response. Shared by all CPUs: the response may be
 * handled on another CPU. Entries leave on the response or, unanswered, when
 * user space sweeps them out after its timeout; a full LRU evicts the oldest.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct dns_pending_key);
	__type(value, struct dns_pending_value);
} dns_pending SEC(".maps");

/* flowlens_dns_malformed_messages_total, by FLOWLENS_DNS_MALFORMED_*. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLOWLENS_DNS_MALFORMED_REASONS);
	__type(key, __u32);
	__type(value, __u64);
} dns_malformed SEC(".maps");

/* The question as read from the packet, and the pending entry built from it: too big for the stack. */
struct dns_scratch {
	__u8 question[DNS_SCRATCH_LEN];
	struct dns_pending_value pending;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dns_scratch);
} dns_scratch SEC(".maps");

const struct dns_event *const unused_dns_event __attribute__((unused)) = 0;

/* Upper bounds of the latency buckets, ns (FLOWLENS_DNS_LATENCY_BUCKETS - 1 of them, then +Inf). */
static const __u64 dns_latency_le_ns[FLOWLENS_DNS_LATENCY_BUCKETS - 1] = { FLOWLENS_DNS_LATENCY_BOUNDS_NS };
/* a short list would leave zero bounds at the end; a long one fails to compile anyway */
_Static_assert(sizeof((__u64[]){ FLOWLENS_DNS_LATENCY_BOUNDS_NS }) == sizeof(dns_latency_le_ns),
	       "FLOWLENS_DNS_LATENCY_BOUNDS_NS needs FLOWLENS_DNS_LATENCY_BUCKETS - 1 bounds");

/* What dns_observe read from a message. */
struct dns_message {
	__u16 id;
	__u16 flags; /* header flags word: QR, opcode, AA, TC, RD, RA, Z, RCODE */
	__u16 answers;
	__u16 qtype;
	__u16 qclass;
	__u16 name_len; /* wire bytes of the question name, root label included */
};

static __always_inline bool dns_port_match(__u16 sport, __u16 dport)
{
	if (sport == dns_port_0 || dport == dns_port_0)
		return true;
	if (dns_port_count < 2)
		return false;
	if (sport == dns_port_1 || dport == dns_port_1)
		return true;
	if (dns_port_count < 3)
		return false;
	if (sport == dns_port_2 || dport == dns_port_2)
		return true;
	return dns_port_count >= 4 && (sport == dns_port_3 || dport == dns_port_3);
}

static __always_inline __u32 dns_latency_bucket(__u64 latency_ns)
{
	__u32 i;

#pragma unroll
	for (i = 0; i < FLOWLENS_DNS_LATENCY_BUCKETS - 1; i++) {
		if (latency_ns <= dns_latency_le_ns[i])
			return i;
	}
	return FLOWLENS_DNS_LATENCY_BUCKETS - 1;
}

/*
 * Reads the header and walks the first question's name in scratch. Returns
 * -1 when the message parsed, else its FLOWLENS_DNS_MALFORMED_* reason. off
 * is where the message starts, end where it ends (exclusive).
 */
static __always_inline int dns_parse(struct __sk_buff *skb, __u32 off, __u32 end, struct dns_scratch *scratch,
				     struct dns_message *msg)
{
	__u8 *q = scratch->question;
	__u32 avail, pos = 0, len;
	__u16 qdcount;
	int i;

	if (off + DNS_HEADER_LEN > end)
		return FLOWLENS_DNS_MALFORMED_HEADER_TRUNCATED;
	if (bpf_skb_load_bytes(skb, off, q, DNS_HEADER_LEN))
		return FLOWLENS_DNS_MALFORMED_HEADER_TRUNCATED;
	msg->id = ((__u16)q[0] << 8) | q[1];
	msg->flags = ((__u16)q[2] << 8) | q[3];
	qdcount = ((__u16)q[4] << 8) | q[5];
	msg->answers = ((__u16)q[6] << 8) | q[7];
	if ((msg->flags >> 11) & 0xf)
		return FLOWLENS_DNS_MALFORMED_OPCODE;
	if (qdcount == 0)
		return FLOWLENS_DNS_MALFORMED_NO_QUESTION;

	off += DNS_HEADER_LEN;
	avail = end - off;
	if (avail > DNS_QUESTION_MAX)
		avail = DNS_QUESTION_MAX;
	/* the verifier needs the length's bounds in the register passed: mask after the compiler's view */
	barrier_var(avail);
	avail &= DNS_SCRATCH_MASK;
	if (avail == 0)
		return FLOWLENS_DNS_MALFORMED_NAME_TRUNCATED;
	if (bpf_skb_load_bytes(skb, off, q, avail))
		return FLOWLENS_DNS_MALFORMED_NAME_TRUNCATED;

	for (i = 0; i < DNS_LABELS_MAX; i++) {
		if (pos >= avail)
			return FLOWLENS_DNS_MALFORMED_NAME_TRUNCATED;
		len = q[pos & DNS_SCRATCH_MASK];
		if (len == 0)
			break;
		/* 11: a pointer; 01 and 10: extended and reserved label types, i.e. lengths over 63 */
		if ((len & 0xc0) == 0xc0)
			return FLOWLENS_DNS_MALFORMED_COMPRESSION;
		if (len > DNS_LABEL_MAX)
			return FLOWLENS_DNS_MALFORMED_LABEL_TOO_LONG;
		pos += len + 1;
		/* pos + 1 bytes with the root label still to come */
		if (pos >= DNS_NAME_WIRE_MAX)
			return FLOWLENS_DNS_MALFORMED_NAME_TOO_LONG;
	}
	msg->name_len = pos + 1;
	if (msg->name_len + 4 > avail)
		return FLOWLENS_DNS_MALFORMED_QUESTION_TRUNCATED;
	msg->qtype = ((__u16)q[(pos + 1) & DNS_SCRATCH_MASK] << 8) | q[(pos + 2) & DNS_SCRATCH_MASK];
	msg->qclass = ((__u16)q[(pos + 3) & DNS_SCRATCH_MASK] << 8) | q[(pos + 4) & DNS_SCRATCH_MASK];
	return -1;
}

/* One more response under key; latency_ns is observed only when matched. */
static __always_inline void dns_response_add(const struct dns_response_key *key, bool matched, __u64 latency_ns)
{
	struct dns_response_value *value =
		counter_value(&dns_responses, key, &map_update_errors, FLOWLENS_MAP_DNS_RESPONSES);
	__u32 bucket = dns_latency_bucket(latency_ns);

	if (!value)
		return;
	value->responses += 1;
	if (!matched)
		return;
	value->latency_sum_ns += latency_ns;
	if (bucket < FLOWLENS_DNS_LATENCY_BUCKETS)
		value->latency_buckets[bucket] += 1;
}

static __always_inline void emit_dns_event(struct __sk_buff *skb, const struct flowlens_packet *pkt,
					   const struct dns_response_key *key, const struct dns_message *msg,
					   const struct dns_scratch *scratch, __u64 query_ns, __u64 now)
{
	struct dns_event *event = event_reserve(sizeof(*event), now);

	if (!event)
		return;
	/* reserved memory is not zeroed: write every byte, padding included */
	event->type = FLOWLENS_EVENT_DNS;
	event->family = pkt->family;
	event->protocol = pkt->protocol;
	event->reporter = key->reporter;
	event->ifindex = skb->ifindex;
	event->query_ns = query_ns;
	event->response_ns = now;
	event->src_identity = key->src_identity;
	event->dst_identity = key->dst_identity;
	/* a response travels server -> client */
	__builtin_memcpy(event->client_addr, pkt->daddr, 16);
	__builtin_memcpy(event->server_addr, pkt->saddr, 16);
	event->client_port = pkt->dport;
	event->server_port = pkt->sport;
	event->id = msg->id;
	event->qtype = msg->qtype;
	event->qclass = msg->qclass;
	event->answers = msg->answers;
	event->rcode = key->rcode;
	event->flags = (msg->name_len > FLOWLENS_DNS_NAME_MAX ? FLOWLENS_DNS_FLAG_NAME_TRUNCATED : 0) |
		       (msg->flags & 0x0200 ? FLOWLENS_DNS_FLAG_TC : 0);
	event->qname_len = msg->name_len > FLOWLENS_DNS_NAME_MAX ? FLOWLENS_DNS_NAME_MAX : msg->name_len;
	event->_pad[0] = 0;
	__builtin_memcpy(event->qname, scratch->question, FLOWLENS_DNS_NAME_MAX);
	bpf_ringbuf_submit(event, FLOWLENS_EVENT_SUBMIT_FLAGS);
}

/*
 * A query: counted, and remembered in dns_pending for its response. A
 * retransmission with the same id overwrites the entry, so latency runs from
 * the latest try. The reporter is the client when the query leaves the
 * endpoint whose interface saw it.
 */
static __always_inline void dns_query(struct __sk_buff *skb, const struct flowlens_packet *pkt, __u32 src_identity,
				      __u32 dst_identity, __u8 direction, const struct dns_message *msg,
				      struct dns_scratch *scratch, __u64 now)
{
	struct dns_query_key key = {
		.src_identity = src_identity,
		.dst_identity = dst_identity,
		.qtype = msg->qtype,
		.reporter = direction == FLOWLENS_DIRECTION_EGRESS ? FLOWLENS_REPORTER_CLIENT : FLOWLENS_REPORTER_SERVER,
	};
	struct dns_pending_key pending = {
		.client_port = pkt->sport,
		.id = msg->id,
		.family = pkt->family,
		.protocol = pkt->protocol,
		.reporter = key.reporter,
	};
	struct dns_pending_value *value = &scratch->pending;

	counter_add(&dns_queries, &key, 1, &map_update_errors, FLOWLENS_MAP_DNS_QUERIES);

	__builtin_memcpy(pending.client_addr, pkt->saddr, 16);
	value->query_ns = now;
	value->src_identity = src_identity;
	value->dst_identity = dst_identity;
	__builtin_memcpy(value->server_addr, pkt->daddr, 16);
	value->ifindex = skb->ifindex;
	value->server_port = pkt->dport;
	value->qtype = msg->qtype;
	value->qclass = msg->qclass;
	value->flags = msg->name_len > FLOWLENS_DNS_NAME_MAX ? FLOWLENS_DNS_FLAG_NAME_TRUNCATED : 0;
	value->qname_len = msg->name_len > FLOWLENS_DNS_NAME_MAX ? FLOWLENS_DNS_NAME_MAX : msg->name_len;
	__builtin_memset(value->_pad, 0, sizeof(value->_pad));
	__builtin_memcpy(value->qname, scratch->question, FLOWLENS_DNS_NAME_MAX);
	bpf_map_update_elem(&dns_pending, &pending, value, BPF_ANY);
}

/*
 * A response: counted by the client's and server's identities (the
 * packet's destination and source), and, when it answers a pending query
 * seen at the same side, observed as latency and sent as an exchange. Only
 * the CPU whose delete succeeds does that, so a duplicated response or one
 * racing the user-space sweep is one exchange at most.
 */
static __always_inline void dns_response(struct __sk_buff *skb, const struct flowlens_packet *pkt, __u32 src_identity,
					 __u32 dst_identity, __u8 direction, const struct dns_message *msg,
					 struct dns_scratch *scratch, __u64 now)
{
	struct dns_response_key key = {
		.src_identity = dst_identity,
		.dst_identity = src_identity,
		.qtype = msg->qtype,
		.rcode = msg->flags & 0xf,
		.reporter = direction == FLOWLENS_DIRECTION_INGRESS ? FLOWLENS_REPORTER_CLIENT : FLOWLENS_REPORTER_SERVER,
	};
	struct dns_pending_key pending = {
		.client_port = pkt->dport,
		.id = msg->id,
		.family = pkt->family,
		.protocol = pkt->protocol,
		.reporter = key.reporter,
	};
	struct dns_pending_value *value;
	__u64 query_ns;

	__builtin_memcpy(pending.client_addr, pkt->daddr, 16);
	value = bpf_map_lookup_elem(&dns_pending, &pending);
	if (!value) {
		dns_response_add(&key, false, 0);
		return;
	}
	/* copied before the delete, which may hand the entry's memory to another update */
	query_ns = value->query_ns;
	if (bpf_map_delete_elem(&dns_pending, &pending)) {
		dns_response_add(&key, false, 0);
		return;
	}
	dns_response_add(&key, true, elapsed_since(query_ns, now));
	emit_dns_event(skb, pkt, &key, msg, scratch, query_ns, now);
}

/*
 * A UDP datagram or TCP segment on a DNS port. Over TCP a message starts
 * with its two-byte length; segments without payload (handshake, ACKs) are
 * not messages. Only a segment that starts a message is parsed: one whose
 * message continues from an earlier segment reads as malformed.
 */
static __noinline int dns_observe(struct __sk_buff *skb, const struct flowlens_packet *pkt, __u32 src_identity,
				  __u32 dst_identity, __u8 direction)
{
	struct dns_message msg = {};
	struct dns_scratch *scratch;
	__u32 zero = 0, off = pkt->payload_off, end = skb->len;
	__u8 prefix[2];
	__u16 len;
	int reason;

	/* a TCP segment without payload carries no message; an empty UDP datagram is a short one */
	if (off >= end && pkt->protocol == FLOWLENS_PROTO_TCP)
		return 0;
	scratch = bpf_map_lookup_elem(&dns_scratch, &zero);
	if (!scratch)
		return 0;
	if (pkt->protocol == FLOWLENS_PROTO_TCP) {
		if (off + 2 > end || bpf_skb_load_bytes(skb, off, prefix, 2)) {
			array_inc(&dns_malformed, FLOWLENS_DNS_MALFORMED_HEADER_TRUNCATED);
			return 0;
		}
		len = ((__u16)prefix[0] << 8) | prefix[1];
		if (len < DNS_HEADER_LEN) {
			array_inc(&dns_malformed, FLOWLENS_DNS_MALFORMED_TCP_LENGTH);
			return 0;
		}
		off += 2;
		/* a message longer than the segment: the question is in this one, or it is truncated */
		if (off + len < end)
			end = off + len;
	}
	reason = dns_parse(skb, off, end, scratch, &msg);
	if (reason >= 0) {
		array_inc(&dns_malformed, (__u32)reason);
		return 0;
	}
	if (msg.flags & 0x8000)
		dns_response(skb, pkt, src_identity, dst_identity, direction, &msg, scratch, bpf_ktime_get_ns());
	else
		dns_query(skb, pkt, src_identity, dst_identity, direction, &msg, scratch, bpf_ktime_get_ns());
	return 0;
}

/* handle()'s one call: a port compare, then the parser only for UDP and TCP on a DNS port. */
static __always_inline void flowlens_dns(struct __sk_buff *skb, const struct flowlens_packet *pkt,
					 const struct flow_key *key, __u8 direction)
{
	if (!dns_port_match(pkt->sport, pkt->dport))
		return;
	if (!pkt->has_ports || (pkt->protocol != FLOWLENS_PROTO_UDP && pkt->protocol != FLOWLENS_PROTO_TCP))
		return;
	dns_observe(skb, pkt, key->src_identity, key->dst_identity, direction);
}

#endif /* __FLOWLENS_DNS_BPF_H */
