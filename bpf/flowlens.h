/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every struct and constant that both the kernel programs and user space read.
 *
 * Rules: fixed-width types only, explicit padding (never packed), every field
 * naturally aligned. User space reads the layouts and the plain numbers
 * defined here from src/bpf/layouts.generated.ts, which `make layouts`
 * generates from this header and the BTF of the built objects; test/bpf/codecs
 * fails while that file is stale, so the two sides cannot drift.
 * Multi-byte fields are host byte order unless the name says otherwise
 * (addresses are kept in network byte order, as on the wire).
 */
#ifndef __FLOWLENS_H
#define __FLOWLENS_H

/* Reserved security identities, with Cilium's numbers. */
#define FLOWLENS_IDENTITY_UNKNOWN 0
#define FLOWLENS_IDENTITY_HOST 1
#define FLOWLENS_IDENTITY_WORLD 2
#define FLOWLENS_IDENTITY_UNMANAGED 3
#define FLOWLENS_IDENTITY_HEALTH 4
#define FLOWLENS_IDENTITY_REMOTE_NODE 6
#define FLOWLENS_IDENTITY_KUBE_APISERVER 7

/*
 * The overflow key of every per-CPU counter map: each byte of the key 0xff, so
 * both identities read FLOWLENS_IDENTITY_OVERFLOW (derived identities are 24-bit
 * numbers and never take it). User space inserts it at load; counts of keys
 * that a full map could not take go there (bpf/include/counter.bpf.h).
 */
#define FLOWLENS_COUNTER_OVERFLOW_BYTE 255	  /* 0xff */
#define FLOWLENS_IDENTITY_OVERFLOW 4294967295 /* 0xffffffff */

/*
 * Destination ports in counter keys are port classes, so the kernel's key
 * space is the metrics' series space: port_classes[port] (a const volatile
 * table user space sets before load from its one port policy) is the port
 * that stands for the port's class; zero keeps the port itself (a port with a
 * series of its own, and port 0).
 */
#define FLOWLENS_PORTS 65536

/* Address families as stored in keys and events (not AF_* values). */
#define FLOWLENS_FAMILY_IPV4 4
#define FLOWLENS_FAMILY_IPV6 6

/*
 * Direction relative to the local endpoint whose interface saw the packet.
 * flow_from_endpoint runs where packets leave an endpoint (TC ingress of a pod
 * veth's host side), flow_to_endpoint where they enter it.
 */
#define FLOWLENS_DIRECTION_INGRESS 1
#define FLOWLENS_DIRECTION_EGRESS 2

#define FLOWLENS_VERDICT_FORWARDED 1
#define FLOWLENS_VERDICT_DROPPED 2

/* Every ring-buffer event starts with one of these type bytes. */
#define FLOWLENS_EVENT_FLOW 1

/* TCP flag bit positions in the TCP header's flags byte; index of flow_traffic_value.tcp_flags. */
#define FLOWLENS_TCP_FIN 0
#define FLOWLENS_TCP_SYN 1
#define FLOWLENS_TCP_RST 2
#define FLOWLENS_TCP_PSH 3
#define FLOWLENS_TCP_ACK 4
#define FLOWLENS_TCP_URG 5
#define FLOWLENS_TCP_ECE 6
#define FLOWLENS_TCP_CWR 7

/*
 * Index of the parse_packets array: why a packet was not (fully) attributed.
 * Index 0 is not an error: the frame carried no IP packet (ARP, LLDP, ...).
 */
#define FLOWLENS_PARSE_NOT_IP 0
#define FLOWLENS_PARSE_ETH_TRUNCATED 1
#define FLOWLENS_PARSE_VLAN_TRUNCATED 2
#define FLOWLENS_PARSE_IPV4_TRUNCATED 3
#define FLOWLENS_PARSE_IPV4_BAD_HEADER 4 /* version != 4 or IHL < 5 */
#define FLOWLENS_PARSE_IPV6_TRUNCATED 5
#define FLOWLENS_PARSE_IPV6_EXTHDR_TRUNCATED 6
#define FLOWLENS_PARSE_IPV6_EXTHDR_LIMIT 7 /* more extension headers than the parser follows */
#define FLOWLENS_PARSE_TCP_TRUNCATED 8
#define FLOWLENS_PARSE_UDP_TRUNCATED 9
#define FLOWLENS_PARSE_ICMP_TRUNCATED 10
#define FLOWLENS_PARSE_SCTP_TRUNCATED 11
#define FLOWLENS_PARSE_TCP_BAD_HEADER 12 /* data offset < 5 */
#define FLOWLENS_PARSE_IPV6_BAD_HEADER 13 /* version != 6 */
#define FLOWLENS_PARSE_REASONS 14

/* Index of the events_lost array. */
#define FLOWLENS_LOST_RATE_LIMIT 0 /* over the per-CPU event budget */
#define FLOWLENS_LOST_RING_FULL 1  /* ring buffer had no room */
#define FLOWLENS_LOST_REASONS 2

/*
 * Index of the map_update_errors array: the hash map that refused a new entry
 * (full). A counter map is named after the metric family it feeds (flows:
 * flowlens_flows_total, tcp_attempts: flowlens_tcp_connection_attempts_total),
 * and these are the `map` label values of flowlens_bpf_map_*.
 */
#define FLOWLENS_MAP_FLOW_TRAFFIC 0
#define FLOWLENS_MAP_FLOWS 1
#define FLOWLENS_MAP_FLOW_CONNTRACK 2
#define FLOWLENS_MAP_TCP_ATTEMPTS 3
#define FLOWLENS_MAP_DNS_QUERIES 4
#define FLOWLENS_MAP_DNS_RESPONSES 5
#define FLOWLENS_MAP_HTTP_REQUESTS 6
#define FLOWLENS_MAP_HTTP_RESPONSES 7
#define FLOWLENS_MAP_HTTP_CONNECTIONS 8
#define FLOWLENS_MAP_IDS 9

/*
 * Key of the ipcache LPM trie. prefixlen counts the bits of family (32) plus
 * the address prefix, so IPv4 and IPv6 share one trie:
 * 10.0.0.0/8 is { .prefixlen = 32 + 8, .family = 4, .addr = {10} }.
 * IPv4 addresses use addr[0..3]; the rest is zero.
 */
struct ipcache_key {
	__u32 prefixlen;
	__u32 family;
	__u8 addr[16];
};

struct ipcache_value {
	__u32 identity;
	__u32 flags; /* reserved, zero */
};

/*
 * Key of flow_traffic (packets, bytes, TCP flags), flows (new flows) and
 * dropped_flows (drop.bpf.c: connection attempts the kernel dropped). Both ends
 * by identity, never by address, so map size follows identity pairs, not
 * connections. dst_port is zero in flow_traffic (packets are not counted per
 * port) and for protocols without ports.
 */
struct flow_key {
	__u32 src_identity;
	__u32 dst_identity;
	__u16 dst_port;
	__u8 protocol; /* IPPROTO_* */
	__u8 direction;
	__u8 verdict;
	__u8 _pad[3];
};

/*
 * The TCP flag counters live beside packets and bytes rather than in a map of
 * their own: a TCP packet then costs one hash lookup for all three, instead of
 * one more per flag it carries. Zero for other protocols.
 */
struct flow_traffic_value {
	__u64 packets;
	__u64 bytes;
	__u64 tcp_flags[8]; /* TCP packets with each FLOWLENS_TCP_* flag set, by bit position */
};

/* Key of flow_conntrack, the LRU that tells the first packet of a UDP/ICMP/SCTP flow. */
struct flow_tuple {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport; /* ICMP echo: the identifier, in both ports; other ICMP: zero */
	__u16 dport;
	__u8 protocol;
	__u8 family;
	__u8 direction; /* replies match the reversed tuple with the opposite direction */
	__u8 _pad[1];
};

/* One new flow, on the events ring buffer. */
struct flow_event {
	__u8 type; /* FLOWLENS_EVENT_FLOW */
	__u8 family;
	__u8 protocol;
	__u8 direction;
	__u32 ifindex;
	__u64 timestamp_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 src_identity;
	__u32 dst_identity;
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u8 tcp_flags; /* the TCP flags byte of the first packet, zero for other protocols */
	__u8 verdict;
	__u8 _pad[2];
};

/* Per-CPU state of the event rate limiter (events_budget array, one slot). */
struct events_budget {
	__u64 window_start_ns;
	__u64 sent;
};

#define FLOWLENS_NSEC_PER_SEC 1000000000ULL

/*
 * The rate limiter's windows: a budget of 10 or more events a second is
 * granted a tenth at a time, in 100 ms windows (rounded down), so that under
 * a flood the events that pass are spread over the second rather than all
 * taken in its first milliseconds: a better sample for the flows API, and
 * ten small batches a second for user space to read instead of one large
 * one. Smaller budgets keep one-second windows.
 */
#define FLOWLENS_EVENTS_WINDOWS_PER_SEC 10
#define FLOWLENS_EVENTS_WINDOW_NS(per_second)                                                    \
	((per_second) >= FLOWLENS_EVENTS_WINDOWS_PER_SEC ? FLOWLENS_NSEC_PER_SEC / FLOWLENS_EVENTS_WINDOWS_PER_SEC \
							   : FLOWLENS_NSEC_PER_SEC)
#define FLOWLENS_EVENTS_PER_WINDOW(per_second)                                                   \
	((per_second) >= FLOWLENS_EVENTS_WINDOWS_PER_SEC ? (per_second) / FLOWLENS_EVENTS_WINDOWS_PER_SEC : (per_second))

/* ---- drop.bpf.c: packets the kernel freed as dropped (tp_btf/kfree_skb) ---- */

#define FLOWLENS_EVENT_DROP 2

/* Index of the drop_map_errors array: the hash map that refused a new entry (full). */
#define FLOWLENS_DROP_MAP_DROPS 0
#define FLOWLENS_DROP_MAP_DROPPED_FLOWS 1
#define FLOWLENS_DROP_MAP_IDS 2

/*
 * Key of drops. reason is the kernel's enum skb_drop_reason value, whose
 * numbering changes between kernel versions: user space names it from the
 * running kernel's BTF. Identities are FLOWLENS_IDENTITY_UNKNOWN and protocol
 * zero when the dropped buffer held no readable IP header. direction is zero
 * when it cannot be told (see drop.bpf.c).
 */
struct drop_key {
	__u32 reason;
	__u32 src_identity;
	__u32 dst_identity;
	__u16 dst_port;
	__u8 protocol; /* IPPROTO_* */
	__u8 direction;
};

/* One dropped packet, on the drop_events ring buffer. */
struct drop_event {
	__u8 type; /* FLOWLENS_EVENT_DROP */
	__u8 family; /* FLOWLENS_FAMILY_*, zero without a readable IP header */
	__u8 protocol;
	__u8 direction;
	__u32 ifindex; /* skb->dev, zero when the buffer had no device */
	__u64 timestamp_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 reason; /* enum skb_drop_reason */
	__u32 src_identity;
	__u32 dst_identity;
	__u16 sport; /* as in flow_event: ports, ICMP echo identifier, else zero */
	__u16 dport;
	__u8 saddr[16];
	__u8 daddr[16];
};

/* ---- flow.bpf.c: outcome of TCP connection attempts (SYN without ACK) ---- */

#define FLOWLENS_TCP_OUTCOME_ESTABLISHED 1 /* a SYN-ACK answered */
#define FLOWLENS_TCP_OUTCOME_REFUSED 2	   /* an RST answered */
#define FLOWLENS_TCP_OUTCOME_UNANSWERED 3  /* nothing within the timeout; counted by user space */

/*
 * Value of tcp_pending, keyed by the SYN's struct flow_tuple (with its
 * direction): what the outcome will be counted under once the answer, or
 * the lack of one, is known.
 */
struct tcp_pending_value {
	__u64 syn_ns; /* bpf_ktime_get_ns() of the latest SYN of the tuple: CLOCK_MONOTONIC */
	__u32 src_identity;
	__u32 dst_identity;
	__u16 dst_port;
	/*
	 * Set by user space when it counted the attempt as unanswered: the entry
	 * then only remembers the attempt, so that the client's SYN retries and a
	 * late answer count nothing more. User space deletes it once the SYNs stop.
	 */
	__u8 unanswered;
	__u8 _pad[5];
};

/* Key of tcp_attempts; identities, port and direction are the SYN's. */
struct tcp_outcome_key {
	__u32 src_identity;
	__u32 dst_identity;
	__u16 dst_port;
	__u8 outcome; /* FLOWLENS_TCP_OUTCOME_* */
	__u8 direction;
};

/* ---- flow.bpf.c: one TCP connection attempt's outcome, on the events ring buffer ---- */

#define FLOWLENS_EVENT_TCP_OUTCOME 3

/*
 * Sent when an answer settles an attempt (by the kernel) or the timeout does
 * (built by user space, ifindex zero: tcp_pending does not keep it). The
 * addresses, ports and direction are the SYN's tuple, the identities those
 * the attempt is counted under in tcp_attempts.
 */
struct tcp_outcome_event {
	__u8 type; /* FLOWLENS_EVENT_TCP_OUTCOME */
	__u8 family;
	__u8 protocol; /* IPPROTO_TCP */
	__u8 direction; /* the SYN's */
	__u32 ifindex; /* where the answer was seen */
	__u64 timestamp_ns; /* bpf_ktime_get_ns() of the answer (CLOCK_MONOTONIC) */
	__u64 syn_timestamp_ns; /* tcp_pending_value.syn_ns: the latest SYN */
	__u32 src_identity;
	__u32 dst_identity;
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u8 outcome; /* FLOWLENS_TCP_OUTCOME_* */
	__u8 _pad[3];
};

/* ---- flow.bpf.c + protocols/dns.bpf.h: DNS queries, responses and exchanges ---- */

#define FLOWLENS_EVENT_DNS 4

/* Ports parsed as DNS at most (the dns_port_0..3 globals). */
#define FLOWLENS_DNS_PORTS_MAX 4
/*
 * Bytes of the question name kept in pending queries and events, in wire
 * format (length-prefixed labels). Longer names are cut here and flagged
 * FLOWLENS_DNS_FLAG_NAME_TRUNCATED; the full name is still parsed.
 */
#define FLOWLENS_DNS_NAME_MAX 128

/* Which end's interface saw the message: the client's or the server's (DESIGN.md's `reporter`). */
#define FLOWLENS_REPORTER_CLIENT 1
#define FLOWLENS_REPORTER_SERVER 2

/* dns_event.flags and dns_pending_value.flags */
#define FLOWLENS_DNS_FLAG_NAME_TRUNCATED 1 /* qname holds the first FLOWLENS_DNS_NAME_MAX bytes only */
#define FLOWLENS_DNS_FLAG_TC 2		   /* the response had its TC (truncated) bit set */
#define FLOWLENS_DNS_FLAG_UNANSWERED 4	   /* no response within the timeout (built by user space) */

/* Index of the dns_malformed array: why a message on a DNS port was not counted. */
#define FLOWLENS_DNS_MALFORMED_HEADER_TRUNCATED 0   /* shorter than the 12-byte header */
#define FLOWLENS_DNS_MALFORMED_TCP_LENGTH 1	    /* TCP length prefix shorter than a header */
#define FLOWLENS_DNS_MALFORMED_OPCODE 2		    /* not a standard QUERY (opcode != 0): not parsed further */
#define FLOWLENS_DNS_MALFORMED_NO_QUESTION 3	    /* QDCOUNT zero */
#define FLOWLENS_DNS_MALFORMED_NAME_TRUNCATED 4	    /* the message ends inside the question name */
#define FLOWLENS_DNS_MALFORMED_LABEL_TOO_LONG 5	    /* a label length byte over 63 (types 01, 10) */
#define FLOWLENS_DNS_MALFORMED_COMPRESSION 6	    /* a compression pointer in the question name */
#define FLOWLENS_DNS_MALFORMED_NAME_TOO_LONG 7	    /* a name over 255 bytes */
#define FLOWLENS_DNS_MALFORMED_QUESTION_TRUNCATED 8 /* the message ends before QTYPE and QCLASS */
#define FLOWLENS_DNS_MALFORMED_REASONS 9

/*
 * Upper bounds (le) of the response latency histogram in ns: 0.5 ms .. 5 s,
 * then +Inf. The one copy of the numbers: dns.bpf.h buckets by them and user
 * space labels the buckets from them (src/bpf/layouts.generated.ts).
 */
#define FLOWLENS_DNS_LATENCY_BUCKETS 14
#define FLOWLENS_DNS_LATENCY_BOUNDS_NS                                                                    \
	500000ULL, 1000000ULL, 2500000ULL, 5000000ULL, 10000000ULL, 25000000ULL, 50000000ULL, 100000000ULL, \
		250000000ULL, 500000000ULL, 1000000000ULL, 2500000000ULL, 5000000000ULL

/* Key of dns_queries: one query message, by the identities of client (src) and server (dst). */
struct dns_query_key {
	__u32 src_identity; /* client */
	__u32 dst_identity; /* server */
	__u16 qtype;
	__u8 reporter; /* FLOWLENS_REPORTER_* */
	__u8 _pad[1];
};

/* Key of dns_responses. rcode is the header's 4-bit RCODE. */
struct dns_response_key {
	__u32 src_identity; /* client: the response's destination */
	__u32 dst_identity; /* server */
	__u16 qtype;
	__u8 rcode;
	__u8 reporter;
};

/*
 * Responses, and the latency of those that answered a query seen at the same
 * hook (the histogram's count is the sum of the buckets, not `responses`).
 */
struct dns_response_value {
	__u64 responses;
	__u64 latency_sum_ns;
	__u64 latency_buckets[FLOWLENS_DNS_LATENCY_BUCKETS]; /* not cumulative: slot i counts (le[i-1], le[i]] */
};

/*
 * Key of dns_pending, a query awaiting its response: the client's address,
 * port and the DNS id, as the issue asks, plus the reporter, so that one
 * exchange seen at both ends' interfaces is matched once at each.
 */
struct dns_pending_key {
	__u8 client_addr[16];
	__u16 client_port;
	__u16 id;
	__u8 family;
	__u8 protocol;
	__u8 reporter;
	__u8 _pad[1];
};

struct dns_pending_value {
	__u64 query_ns; /* bpf_ktime_get_ns() of the query: CLOCK_MONOTONIC */
	__u32 src_identity;
	__u32 dst_identity;
	__u8 server_addr[16]; /* of the key's family */
	__u32 ifindex;
	__u16 server_port;
	__u16 qtype;
	__u16 qclass;
	__u8 qname_len;
	__u8 flags; /* FLOWLENS_DNS_FLAG_* */
	__u8 _pad[4];
	__u8 qname[FLOWLENS_DNS_NAME_MAX]; /* wire format; qname_len bytes are meaningful */
};

/*
 * One DNS exchange on the events ring buffer: sent by the kernel when a
 * response matches a pending query, or built by user space for a query left
 * unanswered (response_ns zero, FLOWLENS_DNS_FLAG_UNANSWERED).
 */
struct dns_event {
	__u8 type; /* FLOWLENS_EVENT_DNS */
	__u8 family;
	__u8 protocol; /* IPPROTO_UDP or IPPROTO_TCP */
	__u8 reporter;
	__u32 ifindex;
	__u64 query_ns;	   /* CLOCK_MONOTONIC */
	__u64 response_ns; /* CLOCK_MONOTONIC; zero when unanswered */
	__u32 src_identity; /* client */
	__u32 dst_identity; /* server */
	__u8 client_addr[16];
	__u8 server_addr[16];
	__u16 client_port;
	__u16 server_port;
	__u16 id;
	__u16 qtype;
	__u16 qclass;
	__u16 answers; /* ANCOUNT of the response */
	__u8 rcode;
	__u8 flags; /* FLOWLENS_DNS_FLAG_* */
	__u8 qname_len;
	__u8 _pad[1];
	__u8 qname[FLOWLENS_DNS_NAME_MAX];
};

/* ---- flow.bpf.c + protocols/http.bpf.h: HTTP/1.x exchanges ---- */

#define FLOWLENS_EVENT_HTTP 5

/*
 * Request methods, as stored in keys and events. 0 is a response whose
 * request was not recognised (a request line split across segments, a
 * connection joined mid-way, a request beyond the pipeline depth).
 */
#define FLOWLENS_HTTP_METHOD_UNKNOWN 0
#define FLOWLENS_HTTP_METHOD_GET 1
#define FLOWLENS_HTTP_METHOD_HEAD 2
#define FLOWLENS_HTTP_METHOD_POST 3
#define FLOWLENS_HTTP_METHOD_PUT 4
#define FLOWLENS_HTTP_METHOD_DELETE 5
#define FLOWLENS_HTTP_METHOD_PATCH 6
#define FLOWLENS_HTTP_METHOD_OPTIONS 7
#define FLOWLENS_HTTP_METHOD_CONNECT 8
#define FLOWLENS_HTTP_METHOD_TRACE 9

/* Where an exchange was observed: FLOWLENS_REPORTER_* as for DNS. */

/* Bytes of the request path kept (the query string is never kept). */
#define FLOWLENS_HTTP_PATH_MAX 64
/* Requests a connection may have outstanding (pipelining) and still be matched in order. */
#define FLOWLENS_HTTP_PIPELINE_DEPTH 4
/*
 * Latency histogram: upper bounds in ns, 1 ms .. 10 s, plus +Inf. The one copy
 * of the numbers: http.bpf.h buckets by them and user space labels the buckets
 * from them (src/bpf/layouts.generated.ts).
 */
#define FLOWLENS_HTTP_DURATION_BOUNDS 13
#define FLOWLENS_HTTP_DURATION_BUCKETS 14
#define FLOWLENS_HTTP_DURATION_BOUNDS_NS                                                                  \
	1000000ULL, 2500000ULL, 5000000ULL, 10000000ULL, 25000000ULL, 50000000ULL, 100000000ULL, 250000000ULL, \
		500000000ULL, 1000000000ULL, 2500000000ULL, 5000000000ULL, 10000000000ULL

/* Index of the http_unmatched array: messages seen that did not make a matched exchange. */
#define FLOWLENS_HTTP_MSG_UNMATCHED_RESPONSE 0 /* a status line with no request outstanding */
#define FLOWLENS_HTTP_MSG_PIPELINE_OVERFLOW 1  /* a request beyond FLOWLENS_HTTP_PIPELINE_DEPTH outstanding */
#define FLOWLENS_HTTP_MSG_RETRANSMIT 2	      /* a request or status line seen again at the same TCP sequence */
#define FLOWLENS_HTTP_MSG_REASONS 3

/* Key of http_requests: requests by client (src) and server (dst) identity. */
struct http_request_key {
	__u32 src_identity; /* client */
	__u32 dst_identity; /* server */
	__u8 method;	    /* FLOWLENS_HTTP_METHOD_* */
	__u8 reporter;	    /* FLOWLENS_REPORTER_* */
	__u8 _pad[2];
};

/* Key of http_responses: completed exchanges. */
struct http_response_key {
	__u32 src_identity; /* client */
	__u32 dst_identity; /* server */
	__u16 status;	    /* 100..999 */
	__u8 method;
	__u8 reporter;
};

/* Value of http_responses: the count and latency histogram of its exchanges. */
struct http_response_value {
	__u64 count; /* responses, timed or not (method unknown: no request to time from) */
	__u64 duration_ns_sum;
	/* buckets[i]: exchanges with latency <= bound i (not cumulative); the last is +Inf */
	__u64 buckets[FLOWLENS_HTTP_DURATION_BUCKETS];
};

/*
 * Key of http_connections: one TCP connection as seen at one interface, the
 * client's address and port first. reporter keeps the two interfaces of a
 * connection between local endpoints apart, so each side matches its own.
 */
struct http_conn_key {
	__u8 client_addr[16];
	__u8 server_addr[16];
	__u16 client_port;
	__u16 server_port;
	__u8 family;
	__u8 reporter;
	__u8 _pad[2];
};

/* Value of http_connections: the requests awaiting their responses, oldest first. */
struct http_conn {
	__u64 request_ns[FLOWLENS_HTTP_PIPELINE_DEPTH]; /* bpf_ktime_get_ns() of each request */
	__u32 request_seq;  /* TCP sequence number of the latest request line, to skip retransmits */
	__u32 response_seq; /* same for the latest status line */
	__u8 methods[FLOWLENS_HTTP_PIPELINE_DEPTH];
	__u8 head;	/* slot of the oldest outstanding request */
	__u8 pending;	/* outstanding requests in the slots */
	__u8 untracked; /* requests beyond the slots, answered after them */
	__u8 head_detail; /* the details below belong to the oldest outstanding request */
	/* details of the first request queued into an empty connection */
	__u8 path_len;
	__u8 path_truncated;
	__u8 has_trace;
	__u8 _pad[5];
	char path[FLOWLENS_HTTP_PATH_MAX];
	__u8 trace_id[16];
	__u8 parent_span_id[8];
};

/*
 * has_trace of http_conn and http_event: a valid traceparent header was read
 * (FLOWLENS_HTTP_TRACE_PRESENT), and its trace-flags had the sampled bit set
 * (FLOWLENS_HTTP_TRACE_SAMPLED): a caller that did not sample its trace gets
 * no span from flowlens either (a parent-based sampler needs the flag).
 */
#define FLOWLENS_HTTP_TRACE_PRESENT 0x1
#define FLOWLENS_HTTP_TRACE_SAMPLED 0x2

/* One completed exchange, on the events ring buffer. */
struct http_event {
	__u8 type; /* FLOWLENS_EVENT_HTTP */
	__u8 family;
	__u8 method;
	__u8 reporter;
	__u32 ifindex; /* where the response was seen */
	__u64 timestamp_ns; /* bpf_ktime_get_ns() of the response: CLOCK_MONOTONIC */
	__u64 duration_ns;  /* response - request */
	__u32 src_identity; /* client */
	__u32 dst_identity; /* server */
	__u8 saddr[16];	    /* client */
	__u8 daddr[16];	    /* server */
	__u16 sport;	    /* client port */
	__u16 dport;	    /* server port */
	__u16 status;
	__u8 path_len;	     /* bytes of path used; 0 with path_known 0 when not kept */
	__u8 path_truncated; /* the path was longer than FLOWLENS_HTTP_PATH_MAX */
	__u8 path_known;     /* path holds this request's path */
	__u8 has_trace;	     /* FLOWLENS_HTTP_TRACE_* bits: trace_id and parent_span_id come from a traceparent header */
	__u8 version_minor;  /* HTTP/1.x of the status line: 0 or 1 */
	__u8 _pad[5];
	char path[FLOWLENS_HTTP_PATH_MAX];
	__u8 trace_id[16];
	__u8 parent_span_id[8];
};


/* ---- retransmit.bpf.c: TCP segments sent again (tp_btf/tcp_retransmit_skb, tcp_retransmit_synack) ---- */

/* Index of the retransmit_map_errors array: the hash map that refused a new entry (full). */
#define FLOWLENS_RETRANSMIT_MAP_TCP_RETRANSMITS 0
#define FLOWLENS_RETRANSMIT_MAP_IDS 1

/* Key of tcp_retransmits: the retransmitting socket's end (src) and its peer (dst). */
struct tcp_retransmit_key {
	__u32 src_identity;
	__u32 dst_identity;
};

#endif /* __FLOWLENS_H */
