/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * HTTP/1.x on any TCP port, for flow.bpf.c: recognises request lines and
 * status lines at the start of a segment's payload, matches each response to
 * the oldest outstanding request of its connection (HTTP/1.x answers in
 * order, pipelined or not), and counts and reports every exchange.
 *
 * Cost: a TCP segment with payload pays one 4-byte read of its first payload
 * bytes and a compare against nine words, unless its connection showed no
 * message start lately (http_gate, below); only a segment that starts like a
 * request or status line goes further (a cold subprogram: the window copy,
 * the connection map, the counters).
 *
 * Included by flow.bpf.c after its counter and event helpers (counter_add,
 * array_inc, event_reserve), which it uses.
 */
#ifndef __FLOWLENS_HTTP_BPF_H
#define __FLOWLENS_HTTP_BPF_H

#include "flowlens.h"

/* Off switch set by user space before load: false leaves only the test of this flag per segment. */
const volatile bool http_enabled = true;
/* Upper bounds of the latency histogram's buckets (flowlens.h; test/bpf/http checks them bucket by bucket). */
static const __u64 http_duration_bounds_ns[FLOWLENS_HTTP_DURATION_BOUNDS] = { FLOWLENS_HTTP_DURATION_BOUNDS_NS };
/* a short list would leave zero bounds at the end; a long one fails to compile anyway */
_Static_assert(sizeof((__u64[]){ FLOWLENS_HTTP_DURATION_BOUNDS_NS }) == sizeof(http_duration_bounds_ns),
	       "FLOWLENS_HTTP_DURATION_BOUNDS_NS needs FLOWLENS_HTTP_DURATION_BOUNDS bounds");

/*
 * Payload bytes a request is read from: the request line must end within
 * them, and a traceparent header is found only there. A power of two (masks
 * keep indices in bounds for the verifier).
 */
#define HTTP_WINDOW 512
#define HTTP_WINDOW_MASK (HTTP_WINDOW - 1)
/* "traceparent:" after the newline that starts a header line */
#define HTTP_TRACEPARENT_NAME_LEN 12
/* "vv-" + 32 hex + "-" + 16 hex + "-" + 2 hex */
#define HTTP_TRACEPARENT_VALUE_LEN 55

/* flowlens_http_requests_total. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct http_request_key);
	__type(value, __u64);
} http_requests SEC(".maps");

/* flowlens_http_responses_total and flowlens_http_request_duration_seconds. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct http_response_key);
	__type(value, struct http_response_value);
} http_responses SEC(".maps");

/*
 * Outstanding requests per connection and interface. Shared by all CPUs: a
 * response may be handled on another CPU than its request. An LRU, so
 * connections that close (which this program does not watch) age out.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct http_conn_key);
	__type(value, struct http_conn);
} http_connections SEC(".maps");

/* flowlens_http_unmatched_messages_total, by FLOWLENS_HTTP_MSG_*. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLOWLENS_HTTP_MSG_REASONS);
	__type(key, __u32);
	__type(value, __u64);
} http_unmatched SEC(".maps");

/* Per-CPU working memory: the payload window and a connection entry are too large for the stack. */
struct http_scratch {
	__u8 buf[HTTP_WINDOW];
	struct http_conn conn;
	struct http_conn_key key;
	char path[FLOWLENS_HTTP_PATH_MAX];
	__u8 trace_id[16];
	__u8 parent_span_id[8];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct http_scratch);
} http_scratch SEC(".maps");

const struct http_event *const unused_http_event __attribute__((unused)) = 0;

/*
 * Reading the first payload bytes costs a helper call when they are not in
 * the skb's linear part, which is where a local TCP sender's payload always
 * is (page fragments): about 50-90 ns per segment, more than the rest of the
 * program. So connections (both directions together) whose last
 * HTTP_GATE_MISSES payload segments were no HTTP message start are not read
 * any more, except for small segments (a request without a large body), and
 * any message start on the connection opens it again. Bulk transfers (and
 * the long body of a large response) then cost one array lookup per segment.
 * A direct-mapped table shared by all CPUs (a request and its response may
 * be handled on different CPUs); a slot holds a hash of the connection, and
 * a collision only costs a check.
 */
#define HTTP_GATE_SLOTS 1024
#define HTTP_GATE_MISSES 8
/* Payload bytes up to which a segment is always read: most requests without a body fit. */
#define HTTP_GATE_SMALL 1024

struct http_gate {
	__u64 conn; /* http_conn_hash(); 0: empty */
	__u64 misses; /* payload segments since the last message start, up to HTTP_GATE_MISSES */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HTTP_GATE_SLOTS);
	__type(key, __u32);
	__type(value, struct http_gate);
} http_gate SEC(".maps");

/* The same for both directions of a connection: symmetric in the two ends. */
static __always_inline __u64 http_conn_hash(const struct flowlens_packet *pkt)
{
	__u64 sa[2], da[2], s, d, h;

	__builtin_memcpy(sa, pkt->saddr, 16);
	__builtin_memcpy(da, pkt->daddr, 16);
	s = sa[0] ^ sa[1];
	d = da[0] ^ da[1];
	h = ((s ^ d) * 0x9e3779b97f4a7c15ULL) + (s + d);
	h ^= ((__u64)(pkt->sport ^ pkt->dport) << 16 | (__u16)(pkt->sport + pkt->dport)) * 0xc2b2ae3d27d4eb4fULL;
	return h | 1; /* never 0, the empty slot */
}

/* Four payload bytes as the u32 a load from memory gives (the target's byte order). */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HTTP_WORD(a, b, c, d) ((__u32)(a) | (__u32)(b) << 8 | (__u32)(c) << 16 | (__u32)(d) << 24)
#else
#define HTTP_WORD(a, b, c, d) ((__u32)(d) | (__u32)(c) << 8 | (__u32)(b) << 16 | (__u32)(a) << 24)
#endif

/* Marks a status line among the method codes returned by http_word_kind. */
#define HTTP_KIND_RESPONSE 0xff

/* What a payload starting with word may be: a method (its prefix), a status line, or nothing (0). */
static __always_inline __u8 http_word_kind(__u32 word)
{
	switch (word) {
	case HTTP_WORD('G', 'E', 'T', ' '):
		return FLOWLENS_HTTP_METHOD_GET;
	case HTTP_WORD('H', 'T', 'T', 'P'):
		return HTTP_KIND_RESPONSE;
	case HTTP_WORD('P', 'O', 'S', 'T'):
		return FLOWLENS_HTTP_METHOD_POST;
	case HTTP_WORD('P', 'U', 'T', ' '):
		return FLOWLENS_HTTP_METHOD_PUT;
	case HTTP_WORD('H', 'E', 'A', 'D'):
		return FLOWLENS_HTTP_METHOD_HEAD;
	case HTTP_WORD('D', 'E', 'L', 'E'):
		return FLOWLENS_HTTP_METHOD_DELETE;
	case HTTP_WORD('P', 'A', 'T', 'C'):
		return FLOWLENS_HTTP_METHOD_PATCH;
	case HTTP_WORD('O', 'P', 'T', 'I'):
		return FLOWLENS_HTTP_METHOD_OPTIONS;
	case HTTP_WORD('C', 'O', 'N', 'N'):
		return FLOWLENS_HTTP_METHOD_CONNECT;
	case HTTP_WORD('T', 'R', 'A', 'C'):
		return FLOWLENS_HTTP_METHOD_TRACE;
	default:
		return 0;
	}
}

/*
 * Length of the method token including its space when buf holds all of it
 * ("DELETE " for a word that began "DELE"), else 0: "POSTAL" is no request.
 * The first four bytes were compared already (http_word_kind).
 */
static __always_inline __u32 http_method_len(const __u8 *buf, __u32 len, __u8 method)
{
	switch (method) {
	case FLOWLENS_HTTP_METHOD_GET:
	case FLOWLENS_HTTP_METHOD_PUT:
		return 4;
	case FLOWLENS_HTTP_METHOD_HEAD:
	case FLOWLENS_HTTP_METHOD_POST:
		return len >= 5 && buf[4] == ' ' ? 5 : 0;
	case FLOWLENS_HTTP_METHOD_DELETE:
		return len >= 7 && buf[4] == 'T' && buf[5] == 'E' && buf[6] == ' ' ? 7 : 0;
	case FLOWLENS_HTTP_METHOD_PATCH:
		return len >= 6 && buf[4] == 'H' && buf[5] == ' ' ? 6 : 0;
	case FLOWLENS_HTTP_METHOD_OPTIONS:
		return len >= 8 && buf[4] == 'O' && buf[5] == 'N' && buf[6] == 'S' && buf[7] == ' ' ? 8 : 0;
	case FLOWLENS_HTTP_METHOD_CONNECT:
		return len >= 8 && buf[4] == 'E' && buf[5] == 'C' && buf[6] == 'T' && buf[7] == ' ' ? 8 : 0;
	case FLOWLENS_HTTP_METHOD_TRACE:
		return len >= 6 && buf[4] == 'E' && buf[5] == ' ' ? 6 : 0;
	default:
		return 0;
	}
}

/* Request target scan state for http_target_step (bpf_loop). */
struct http_target_scan {
	const __u8 *buf;
	char *path;
	__u32 start; /* first byte of the target */
	__u32 len;   /* bytes in buf */
	__u32 end;   /* out: index of the space after the target; 0 when the line ends first */
	__u32 path_len;
	__u8 in_query;
	__u8 truncated;
};

/* Target bytes read in an unrolled loop before bpf_loop takes over (see http_request). */
#define HTTP_TARGET_UNROLLED 24

/* One byte of the request target: up to the space before the version; the path stops at '?'. */
static long http_target_step(__u64 index, void *ctx)
{
	struct http_target_scan *s = ctx;
	__u32 i = s->start + (__u32)index;
	__u8 c;

	if (i >= s->len)
		return 1;
	c = s->buf[i & HTTP_WINDOW_MASK];
	if (c == ' ') {
		s->end = i;
		return 1;
	}
	if (c == '\r' || c == '\n')
		return 1;
	if (c == '?')
		s->in_query = 1;
	if (s->in_query)
		return 0;
	if (s->path_len < FLOWLENS_HTTP_PATH_MAX) {
		s->path[s->path_len & (FLOWLENS_HTTP_PATH_MAX - 1)] = c;
		s->path_len++;
	} else {
		s->truncated = 1;
	}
	return 0;
}

/* Header scan state for http_header_step (bpf_loop). */
struct http_header_scan {
	const __u8 *buf;
	__u32 start;
	__u32 len;
	__u32 value; /* out: index just after "traceparent:"; 0 when not found */
};

/* One byte of the header block: a line starting "traceparent:" (any case) ends the scan, as does the blank line. */
static long http_header_step(__u64 index, void *ctx)
{
	static const char name[HTTP_TRACEPARENT_NAME_LEN] = "traceparent:";
	struct http_header_scan *s = ctx;
	__u32 i = s->start + (__u32)index;
	__u32 k;

	if (i + 1 + HTTP_TRACEPARENT_NAME_LEN + HTTP_TRACEPARENT_VALUE_LEN > s->len)
		return 1;
	if (s->buf[i & HTTP_WINDOW_MASK] != '\n')
		return 0;
	if (s->buf[(i + 1) & HTTP_WINDOW_MASK] == '\r')
		return 1; /* end of the headers: what follows is the body */
#pragma unroll
	for (k = 0; k < HTTP_TRACEPARENT_NAME_LEN; k++) {
		__u8 c = s->buf[(i + 1 + k) & HTTP_WINDOW_MASK];

		/* ASCII letters compare in lower case; ':' is its own lower case */
		if (c >= 'A' && c <= 'Z')
			c |= 0x20;
		if (c != (__u8)name[k])
			return 0;
	}
	s->value = i + 1 + HTTP_TRACEPARENT_NAME_LEN;
	return 1;
}

/* A lower-case hex digit's value, or 0xff (W3C trace context allows lower case only). */
static __always_inline __u8 http_hex(__u8 c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return 0xff;
}

/* n bytes from 2n hex digits at buf[at]; false on a non-hex digit. */
static __always_inline bool http_hex_bytes(const __u8 *buf, __u32 at, __u8 *out, __u32 n)
{
	__u32 j;

#pragma unroll
	for (j = 0; j < 16; j++) {
		__u8 hi, lo;

		if (j >= n)
			break;
		hi = http_hex(buf[(at + 2 * j) & HTTP_WINDOW_MASK]);
		lo = http_hex(buf[(at + 2 * j + 1) & HTTP_WINDOW_MASK]);
		if ((hi | lo) & 0xf0)
			return false;
		out[j] = (hi << 4) | lo;
	}
	return true;
}

/*
 * Trace id and parent span id of a traceparent value at buf[at] (after
 * optional blanks): FLOWLENS_HTTP_TRACE_* bits, 0 when the value is not valid.
 */
static __always_inline __u8 http_traceparent(struct http_scratch *s, __u32 at, __u32 len)
{
	__u8 flags = 0;
	int k;

#pragma unroll
	for (k = 0; k < 4; k++) {
		__u8 c = s->buf[at & HTTP_WINDOW_MASK];

		if (c != ' ' && c != '\t')
			break;
		at++;
	}
	if (at + HTTP_TRACEPARENT_VALUE_LEN > len)
		return 0;
	/* version (2 hex, "ff" is invalid), then dashes at fixed places */
	if (http_hex(s->buf[at & HTTP_WINDOW_MASK]) == 0xff || http_hex(s->buf[(at + 1) & HTTP_WINDOW_MASK]) == 0xff ||
	    (s->buf[at & HTTP_WINDOW_MASK] == 'f' && s->buf[(at + 1) & HTTP_WINDOW_MASK] == 'f'))
		return 0;
	if (s->buf[(at + 2) & HTTP_WINDOW_MASK] != '-' || s->buf[(at + 35) & HTTP_WINDOW_MASK] != '-' ||
	    s->buf[(at + 52) & HTTP_WINDOW_MASK] != '-')
		return 0;
	if (!http_hex_bytes(s->buf, at + 3, s->trace_id, 16) || !http_hex_bytes(s->buf, at + 36, s->parent_span_id, 8) ||
	    !http_hex_bytes(s->buf, at + 53, &flags, 1))
		return 0;
	/* trace-flags bit 0 is "sampled" (W3C trace context); the other bits are not ours to read */
	return FLOWLENS_HTTP_TRACE_PRESENT | ((flags & 1) ? FLOWLENS_HTTP_TRACE_SAMPLED : 0);
}

/* The TCP sequence number of the segment (retransmits of a message repeat it). */
static __always_inline __u32 http_tcp_seq(struct __sk_buff *skb, const struct flowlens_packet *pkt)
{
	__u8 buf[4];
	const __u8 *seq = flowlens_header(skb, pkt->l4_off + 4, 4, buf);

	return seq ? ((__u32)seq[0] << 24 | (__u32)seq[1] << 16 | (__u32)seq[2] << 8 | seq[3]) : 0;
}

/*
 * A segment starting like a request line. The request line must end within
 * the window: one split across segments is not counted as a request, and its
 * response then counts under method "unknown", never under a guessed method.
 */
static __noinline int http_request(struct __sk_buff *skb, const struct flowlens_packet *pkt, const struct flow_key *key,
				   __u8 method, __u8 reporter)
{
	__u32 zero = 0;
	struct http_scratch *s = bpf_map_lookup_elem(&http_scratch, &zero);
	struct http_target_scan target = {};
	struct http_header_scan headers = {};
	struct http_request_key rkey = {};
	struct http_conn *conn;
	__u32 len, mlen, slot, seq;
	__u64 wlen;
	__u8 has_trace;
	bool stopped;
	__u64 now;
	__u32 k;

	if (!s)
		return 0;
	/*
	 * 64-bit and clamped in the register passed: a 32-bit length reaches
	 * the helper without its bound, which the verifier refuses
	 */
	wlen = (__u64)skb->len - pkt->payload_off;
	if (wlen > HTTP_WINDOW)
		wlen = HTTP_WINDOW;
	barrier_var(wlen);
	if ((__s64)wlen < 4 || wlen > HTTP_WINDOW || bpf_skb_load_bytes(skb, pkt->payload_off, s->buf, wlen))
		return 0;
	len = wlen;
	mlen = http_method_len(s->buf, len, method);
	if (!mlen)
		return 0;

	target.buf = s->buf;
	target.path = s->path;
	target.start = mlen;
	target.len = len;
	/*
	 * The target's first bytes in an unrolled loop: most targets end within
	 * them, and a bpf_loop costs about 100 ns before its first byte. Longer
	 * targets go on in bpf_loop from where the unrolled part stopped.
	 */
	stopped = false;
#pragma unroll
	for (k = 0; k < HTTP_TARGET_UNROLLED; k++) {
		if (http_target_step(k, &target)) {
			stopped = true;
			break;
		}
	}
	if (!stopped) {
		target.start += HTTP_TARGET_UNROLLED;
		bpf_loop(HTTP_WINDOW, http_target_step, &target, 0);
	}
	/* the version must follow within the window: "HTTP/1.0" or "HTTP/1.1" */
	if (!target.end || target.end + 9 > len)
		return 0;
	if (s->buf[(target.end + 1) & HTTP_WINDOW_MASK] != 'H' || s->buf[(target.end + 2) & HTTP_WINDOW_MASK] != 'T' ||
	    s->buf[(target.end + 3) & HTTP_WINDOW_MASK] != 'T' || s->buf[(target.end + 4) & HTTP_WINDOW_MASK] != 'P' ||
	    s->buf[(target.end + 5) & HTTP_WINDOW_MASK] != '/' || s->buf[(target.end + 6) & HTTP_WINDOW_MASK] != '1' ||
	    s->buf[(target.end + 7) & HTTP_WINDOW_MASK] != '.' ||
	    (s->buf[(target.end + 8) & HTTP_WINDOW_MASK] != '0' && s->buf[(target.end + 8) & HTTP_WINDOW_MASK] != '1'))
		return 0;

	headers.buf = s->buf;
	headers.start = target.end + 9;
	headers.len = len;
	bpf_loop(HTTP_WINDOW, http_header_step, &headers, 0);
	has_trace = headers.value ? http_traceparent(s, headers.value, len) : 0;

	/* the packet goes client -> server */
	__builtin_memset(&s->key, 0, sizeof(s->key));
	__builtin_memcpy(s->key.client_addr, pkt->saddr, 16);
	__builtin_memcpy(s->key.server_addr, pkt->daddr, 16);
	s->key.client_port = pkt->sport;
	s->key.server_port = pkt->dport;
	s->key.family = pkt->family;
	s->key.reporter = reporter;

	seq = http_tcp_seq(skb, pkt);
	conn = bpf_map_lookup_elem(&http_connections, &s->key);
	if (conn && conn->request_seq == seq) {
		array_inc(&http_unmatched, FLOWLENS_HTTP_MSG_RETRANSMIT);
		return 0;
	}

	rkey.src_identity = key->src_identity;
	rkey.dst_identity = key->dst_identity;
	rkey.method = method;
	rkey.reporter = reporter;
	counter_add(&http_requests, &rkey, 1, &map_update_errors, FLOWLENS_MAP_HTTP_REQUESTS);

	if (!conn) {
		__builtin_memset(&s->conn, 0, sizeof(s->conn));
		conn = &s->conn;
	}
	now = bpf_ktime_get_ns();
	conn->request_seq = seq;
	/* responses come in request order: a request behind untracked ones cannot be matched either */
	if (conn->untracked || conn->pending >= FLOWLENS_HTTP_PIPELINE_DEPTH) {
		if (conn->untracked < 255)
			conn->untracked++;
		array_inc(&http_unmatched, FLOWLENS_HTTP_MSG_PIPELINE_OVERFLOW);
	} else {
		slot = (conn->head + conn->pending) & (FLOWLENS_HTTP_PIPELINE_DEPTH - 1);
		conn->methods[slot] = method;
		conn->request_ns[slot] = now;
		if (conn->pending == 0) {
			/* the details follow only the request a response will answer next */
			conn->head_detail = 1;
			conn->path_len = target.path_len;
			conn->path_truncated = target.truncated;
			conn->has_trace = has_trace;
			__builtin_memcpy(conn->path, s->path, FLOWLENS_HTTP_PATH_MAX);
			__builtin_memcpy(conn->trace_id, s->trace_id, 16);
			__builtin_memcpy(conn->parent_span_id, s->parent_span_id, 8);
		}
		conn->pending++;
	}
	if (conn == &s->conn && bpf_map_update_elem(&http_connections, &s->key, conn, BPF_ANY))
		array_inc(&map_update_errors, FLOWLENS_MAP_HTTP_CONNECTIONS);
	return 0;
}

/* Index of the histogram bucket of a latency: the first bound it does not exceed, else +Inf. */
static __always_inline __u32 http_duration_bucket(__u64 duration_ns)
{
	__u32 i;

#pragma unroll
	for (i = 0; i < FLOWLENS_HTTP_DURATION_BOUNDS; i++) {
		if (duration_ns <= http_duration_bounds_ns[i])
			return i;
	}
	return FLOWLENS_HTTP_DURATION_BOUNDS;
}

static __always_inline void http_emit(struct __sk_buff *skb, const struct flowlens_packet *pkt,
				      const struct http_response_key *rkey, const struct http_conn *conn, bool detail,
				      __u8 version_minor, __u64 duration_ns, __u64 now)
{
	struct http_event *event = event_reserve(sizeof(*event), now);

	if (!event)
		return;
	/* reserved memory is not zeroed: write every byte, padding included */
	event->type = FLOWLENS_EVENT_HTTP;
	event->family = pkt->family;
	event->method = rkey->method;
	event->reporter = rkey->reporter;
	event->ifindex = skb->ifindex;
	event->timestamp_ns = now;
	event->duration_ns = duration_ns;
	event->src_identity = rkey->src_identity;
	event->dst_identity = rkey->dst_identity;
	/* the response goes server -> client */
	__builtin_memcpy(event->saddr, pkt->daddr, 16);
	__builtin_memcpy(event->daddr, pkt->saddr, 16);
	event->sport = pkt->dport;
	event->dport = pkt->sport;
	event->status = rkey->status;
	event->version_minor = version_minor;
	__builtin_memset(event->_pad, 0, sizeof(event->_pad));
	if (detail) {
		event->path_len = conn->path_len;
		event->path_truncated = conn->path_truncated;
		event->path_known = 1;
		event->has_trace = conn->has_trace;
		__builtin_memcpy(event->path, conn->path, FLOWLENS_HTTP_PATH_MAX);
		__builtin_memcpy(event->trace_id, conn->trace_id, 16);
		__builtin_memcpy(event->parent_span_id, conn->parent_span_id, 8);
	} else {
		event->path_len = 0;
		event->path_truncated = 0;
		event->path_known = 0;
		event->has_trace = 0;
		__builtin_memset(event->path, 0, FLOWLENS_HTTP_PATH_MAX);
		__builtin_memset(event->trace_id, 0, 16);
		__builtin_memset(event->parent_span_id, 0, 8);
	}
	bpf_ringbuf_submit(event, FLOWLENS_EVENT_SUBMIT_FLAGS);
}

/*
 * A segment starting "HTTP": a status line answers the connection's oldest
 * outstanding request. A response with none outstanding (the request was not
 * recognised, or the connection was joined mid-way) is counted under method
 * "unknown" without a latency.
 */
static __noinline int http_response(struct __sk_buff *skb, const struct flowlens_packet *pkt,
				    const struct flow_key *key, __u8 reporter)
{
	__u8 buf[12];
	const __u8 *line;
	__u32 zero = 0;
	struct http_scratch *s = bpf_map_lookup_elem(&http_scratch, &zero);
	struct http_response_key rkey = {};
	struct http_response_value *value;
	struct http_conn *conn;
	__u64 request_ns = 0, now, duration_ns = 0;
	__u32 seq, bucket;
	bool timed = false, detail = false;
	__u8 d0, d1, d2, version_minor;

	if (!s || pkt->payload_off + sizeof(buf) > skb->len)
		return 0;
	/* "HTTP/1.x NNN" */
	line = flowlens_header(skb, pkt->payload_off, sizeof(buf), buf);
	if (!line || line[4] != '/' || line[5] != '1' || line[6] != '.' || (line[7] != '0' && line[7] != '1') ||
	    line[8] != ' ')
		return 0;
	version_minor = line[7] - '0';
	d0 = line[9] - '0';
	d1 = line[10] - '0';
	d2 = line[11] - '0';
	if (d0 < 1 || d0 > 9 || d1 > 9 || d2 > 9)
		return 0;

	/* the packet goes server -> client */
	__builtin_memset(&s->key, 0, sizeof(s->key));
	__builtin_memcpy(s->key.client_addr, pkt->daddr, 16);
	__builtin_memcpy(s->key.server_addr, pkt->saddr, 16);
	s->key.client_port = pkt->dport;
	s->key.server_port = pkt->sport;
	s->key.family = pkt->family;
	s->key.reporter = reporter;

	rkey.src_identity = key->dst_identity;
	rkey.dst_identity = key->src_identity;
	rkey.status = d0 * 100 + d1 * 10 + d2;
	rkey.method = FLOWLENS_HTTP_METHOD_UNKNOWN;
	rkey.reporter = reporter;

	now = bpf_ktime_get_ns();
	conn = bpf_map_lookup_elem(&http_connections, &s->key);
	if (conn) {
		seq = http_tcp_seq(skb, pkt);
		if (seq && conn->response_seq == seq) {
			array_inc(&http_unmatched, FLOWLENS_HTTP_MSG_RETRANSMIT);
			return 0;
		}
		conn->response_seq = seq;
		if (conn->pending) {
			__u32 head = conn->head & (FLOWLENS_HTTP_PIPELINE_DEPTH - 1);

			rkey.method = conn->methods[head];
			request_ns = conn->request_ns[head];
			timed = true;
			detail = conn->head_detail;
			if (detail) {
				/* the event is sent below from a copy: the next request may overwrite the entry */
				conn->head_detail = 0;
				__builtin_memcpy(&s->conn, conn, sizeof(s->conn));
			}
			conn->head = (head + 1) & (FLOWLENS_HTTP_PIPELINE_DEPTH - 1);
			conn->pending--;
		} else if (conn->untracked) {
			conn->untracked--;
		}
	}
	if (!timed)
		array_inc(&http_unmatched, FLOWLENS_HTTP_MSG_UNMATCHED_RESPONSE);

	value = counter_value(&http_responses, &rkey, &map_update_errors, FLOWLENS_MAP_HTTP_RESPONSES);
	if (!value)
		return 0;
	value->count += 1;
	if (!timed)
		return 0;
	/* a request seen on another CPU an instant later than this clock read reads as zero */
	duration_ns = elapsed_since(request_ns, now);
	value->duration_ns_sum += duration_ns;
	bucket = http_duration_bucket(duration_ns);
	if (bucket < FLOWLENS_HTTP_DURATION_BUCKETS)
		value->buckets[bucket] += 1;
	http_emit(skb, pkt, &rkey, &s->conn, detail, version_minor, duration_ns, now);
	return 0;
}

/*
 * Whether http_observe has anything to do with a TCP segment of payload_len
 * bytes: false for the segments of a connection the gate has closed (see
 * http_gate). Inlined into flow.bpf.c's handle(), so that the bulk of a
 * transfer pays for a hash and an array read, not for a call as well.
 */
static __always_inline bool http_gate_open(const struct flowlens_packet *pkt, __u32 payload_len)
{
	struct http_gate *gate;
	__u64 conn;
	__u32 slot;

	if (!http_enabled)
		return false;
	if (payload_len <= HTTP_GATE_SMALL)
		return true;
	conn = http_conn_hash(pkt);
	slot = (__u32)(conn >> 32) & (HTTP_GATE_SLOTS - 1);
	gate = bpf_map_lookup_elem(&http_gate, &slot);
	return !gate || gate->conn != conn || gate->misses < HTTP_GATE_MISSES;
}

/*
 * flow.bpf.c's one call, for every TCP segment with at least four payload
 * bytes that http_gate_open lets through. A request leaving an endpoint, or a response entering it, is seen at
 * the client's interface; the reverse at the server's.
 */
static __noinline int http_observe(struct __sk_buff *skb, const struct flowlens_packet *pkt, const struct flow_key *key)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u32 off = pkt->payload_off;
	__u32 word, slot;
	__u64 conn;
	__u8 kind;
	bool leaving = key->direction == FLOWLENS_DIRECTION_EGRESS;
	struct http_gate *gate;

	if (!http_enabled)
		return 0;
	conn = http_conn_hash(pkt);
	slot = (__u32)(conn >> 32) & (HTTP_GATE_SLOTS - 1);
	gate = bpf_map_lookup_elem(&http_gate, &slot);
	if (!gate)
		return 0;
	if (gate->conn == conn && gate->misses >= HTTP_GATE_MISSES && skb->len - off > HTTP_GATE_SMALL)
		return 0;
	/* in place when the payload starts in the linear part; else one 4-byte copy */
	if (off < FLOWLENS_DIRECT_OFF_MAX && data + off + 4 <= data_end)
		word = *(__u32 *)(data + off);
	else if (bpf_skb_load_bytes(skb, off, &word, 4))
		return 0;
	kind = http_word_kind(word);
	if (!kind) {
		if (gate->conn != conn) {
			gate->conn = conn;
			gate->misses = 1;
		} else if (gate->misses < HTTP_GATE_MISSES) {
			gate->misses++;
		}
		return 0;
	}
	if (gate->conn != conn || gate->misses)
		gate->misses = 0;
	gate->conn = conn;
	if (kind == HTTP_KIND_RESPONSE)
		return http_response(skb, pkt, key, leaving ? FLOWLENS_REPORTER_SERVER : FLOWLENS_REPORTER_CLIENT);
	return http_request(skb, pkt, key, kind, leaving ? FLOWLENS_REPORTER_CLIENT : FLOWLENS_REPORTER_SERVER);
}

#endif /* __FLOWLENS_HTTP_BPF_H */
