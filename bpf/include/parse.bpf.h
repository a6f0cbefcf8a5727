/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Bounded L2-L4 parser for TC programs: Ethernet (+ up to two 802.1Q/802.1ad
 * tags), IPv4 (options, fragments), IPv6 (extension headers, fragments), TCP,
 * UDP, ICMP, ICMPv6, SCTP.
 *
 * Headers are read in place when they lie in the skb's linear part, which is
 * where the stack puts them for nearly every packet; only a header that runs
 * into paged data is copied out with bpf_skb_load_bytes. Either way a header
 * past the end of the packet is one NULL, so every truncation keeps its own
 * reason.
 */
#ifndef __FLOWLENS_PARSE_BPF_H
#define __FLOWLENS_PARSE_BPF_H

#include "flowlens.h"

/* Returned by flowlens_parse when every header it looked at was whole. */
#define FLOWLENS_PARSE_OK (-1)

/* Extension headers followed before giving up (FLOWLENS_PARSE_IPV6_EXTHDR_LIMIT). */
#define FLOWLENS_IPV6_EXTHDR_MAX 6
/* 802.1ad outer + 802.1Q inner is the deepest stacking seen in practice. */
#define FLOWLENS_VLAN_MAX 2

/* Local names: the kernel's ETH_P_* and NEXTHDR_* are macros vmlinux.h lacks. */
#define FLOWLENS_ETH_HLEN 14
#define FLOWLENS_ETH_P_IP 0x0800
#define FLOWLENS_ETH_P_IPV6 0x86DD
#define FLOWLENS_ETH_P_8021Q 0x8100
#define FLOWLENS_ETH_P_8021AD 0x88A8

#define FLOWLENS_NEXTHDR_HOP 0
#define FLOWLENS_NEXTHDR_ROUTING 43
#define FLOWLENS_NEXTHDR_FRAGMENT 44
#define FLOWLENS_NEXTHDR_AUTH 51
#define FLOWLENS_NEXTHDR_DEST 60

#define FLOWLENS_PROTO_ICMP 1
#define FLOWLENS_PROTO_TCP 6
#define FLOWLENS_PROTO_UDP 17
#define FLOWLENS_PROTO_ICMPV6 58
#define FLOWLENS_PROTO_SCTP 132

#define FLOWLENS_ICMP_ECHO_REPLY 0
#define FLOWLENS_ICMP_ECHO_REQUEST 8
#define FLOWLENS_ICMPV6_ECHO_REQUEST 128
#define FLOWLENS_ICMPV6_ECHO_REPLY 129

struct flowlens_packet {
	__u8 saddr[16]; /* network byte order; IPv4 in [0..3], rest zero */
	__u8 daddr[16];
	/*
	 * Host byte order. For ICMP/ICMPv6 echo both hold the echo identifier, so
	 * a request and its reply form one tuple; other ICMP messages use 0/0.
	 */
	__u16 sport;
	__u16 dport;
	__u8 family;   /* FLOWLENS_FAMILY_* */
	__u8 protocol; /* IPPROTO_* of the transport header */
	__u8 tcp_flags;
	/* The transport header was parsed: false for non-first fragments and for protocols this parser does not know. */
	__u8 has_l4;
	/* sport/dport are real transport ports (TCP, UDP, SCTP). */
	__u8 has_ports;
	/* TCP only: offset of the TCP header from the frame's start (HTTP reads its sequence number). */
	__u16 l4_off;
	/* Offset of the TCP/UDP payload from the start of the frame (runs to skb->len); zero for other protocols. */
	__u16 payload_off;
};

/*
 * Bound on a header offset read in place. The verifier only accepts a variable
 * offset into the packet when it has an upper bound (below MAX_PACKET_OFF);
 * the deepest header this parser reads (two VLAN tags, IPv6 with six maximal
 * extension headers) starts well below it.
 */
#define FLOWLENS_DIRECT_OFF_MAX 0x3fff

/*
 * The len bytes at off: a pointer into the packet when they lie within
 * [skb->data, skb->data_end), else a copy in buf (the header crosses into
 * paged data), or NULL when the packet ends before off + len.
 *
 * Why not always bpf_skb_load_bytes: a helper call per header was the largest
 * cost of parsing (about 20 ns each, three per TCP packet), while the in-place
 * read costs a bounds check. The copy stays as the fallback so that non-linear
 * skbs parse exactly as linear ones.
 */
static __always_inline const __u8 *flowlens_header(struct __sk_buff *skb, __u32 off, __u32 len, void *buf)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	const __u8 *hdr;

	if (off < FLOWLENS_DIRECT_OFF_MAX) {
		hdr = data + off;
		if ((const void *)(hdr + len) <= data_end)
			return hdr;
	}
	if (bpf_skb_load_bytes(skb, off, buf, len))
		return NULL;
	return buf;
}

/* ICMP and ICMPv6 echo requests and replies: their identifier names the exchange. */
static __always_inline bool flowlens_icmp_is_echo(__u8 protocol, __u8 type)
{
	if (protocol == FLOWLENS_PROTO_ICMP)
		return type == FLOWLENS_ICMP_ECHO_REQUEST || type == FLOWLENS_ICMP_ECHO_REPLY;
	return protocol == FLOWLENS_PROTO_ICMPV6 &&
	       (type == FLOWLENS_ICMPV6_ECHO_REQUEST || type == FLOWLENS_ICMPV6_ECHO_REPLY);
}

static __always_inline int flowlens_parse_l4(struct __sk_buff *skb, __u32 off, struct flowlens_packet *pkt)
{
	__u8 buf[20];
	const __u8 *hdr;

	switch (pkt->protocol) {
	case FLOWLENS_PROTO_TCP:
		hdr = flowlens_header(skb, off, 20, buf);
		if (!hdr)
			return FLOWLENS_PARSE_TCP_TRUNCATED;
		/* byte 12: data offset in 4-byte words; byte 13: flags */
		if ((hdr[12] >> 4) < 5)
			return FLOWLENS_PARSE_TCP_BAD_HEADER;
		if (off + (__u32)(hdr[12] >> 4) * 4 > skb->len)
			return FLOWLENS_PARSE_TCP_TRUNCATED;
		pkt->tcp_flags = hdr[13];
		pkt->l4_off = off;
		pkt->payload_off = off + (__u32)(hdr[12] >> 4) * 4;
		pkt->sport = ((__u16)hdr[0] << 8) | hdr[1];
		pkt->dport = ((__u16)hdr[2] << 8) | hdr[3];
		pkt->has_ports = 1;
		break;
	case FLOWLENS_PROTO_UDP:
		hdr = flowlens_header(skb, off, 8, buf);
		if (!hdr)
			return FLOWLENS_PARSE_UDP_TRUNCATED;
		pkt->payload_off = off + 8;
		pkt->sport = ((__u16)hdr[0] << 8) | hdr[1];
		pkt->dport = ((__u16)hdr[2] << 8) | hdr[3];
		pkt->has_ports = 1;
		break;
	case FLOWLENS_PROTO_SCTP:
		/* common header: ports, verification tag, checksum */
		hdr = flowlens_header(skb, off, 12, buf);
		if (!hdr)
			return FLOWLENS_PARSE_SCTP_TRUNCATED;
		pkt->sport = ((__u16)hdr[0] << 8) | hdr[1];
		pkt->dport = ((__u16)hdr[2] << 8) | hdr[3];
		pkt->has_ports = 1;
		break;
	case FLOWLENS_PROTO_ICMP:
	case FLOWLENS_PROTO_ICMPV6:
		/* type, code, checksum, then identifier and sequence for echo */
		hdr = flowlens_header(skb, off, 8, buf);
		if (!hdr)
			return FLOWLENS_PARSE_ICMP_TRUNCATED;
		if (flowlens_icmp_is_echo(pkt->protocol, hdr[0])) {
			pkt->sport = ((__u16)hdr[4] << 8) | hdr[5];
			pkt->dport = pkt->sport;
		}
		break;
	default:
		/* GRE, ESP, ...: counted by protocol, without ports or flow starts */
		return FLOWLENS_PARSE_OK;
	}
	pkt->has_l4 = 1;
	return FLOWLENS_PARSE_OK;
}

static __always_inline int flowlens_parse_ipv4(struct __sk_buff *skb, __u32 off, struct flowlens_packet *pkt)
{
	__u8 buf[20];
	const __u8 *iph;
	__u32 ihl;
	__u16 frag_off;

	iph = flowlens_header(skb, off, sizeof(buf), buf);
	if (!iph)
		return FLOWLENS_PARSE_IPV4_TRUNCATED;
	ihl = iph[0] & 0x0f;
	if ((iph[0] >> 4) != 4 || ihl < 5)
		return FLOWLENS_PARSE_IPV4_BAD_HEADER;
	if (off + ihl * 4 > skb->len)
		return FLOWLENS_PARSE_IPV4_TRUNCATED;

	pkt->family = FLOWLENS_FAMILY_IPV4;
	pkt->protocol = iph[9];
	__builtin_memcpy(pkt->saddr, &iph[12], 4);
	__builtin_memcpy(pkt->daddr, &iph[16], 4);

	/* A non-first fragment starts with payload bytes, not a transport header. */
	frag_off = (((__u16)iph[6] << 8) | iph[7]) & 0x1fff;
	if (frag_off != 0)
		return FLOWLENS_PARSE_OK;
	return flowlens_parse_l4(skb, off + ihl * 4, pkt);
}

static __always_inline bool flowlens_ipv6_is_exthdr(__u8 nexthdr)
{
	return nexthdr == FLOWLENS_NEXTHDR_HOP || nexthdr == FLOWLENS_NEXTHDR_ROUTING ||
	       nexthdr == FLOWLENS_NEXTHDR_FRAGMENT || nexthdr == FLOWLENS_NEXTHDR_AUTH ||
	       nexthdr == FLOWLENS_NEXTHDR_DEST;
}

/* Length of an IPv6 extension header from its first bytes (next header, length). */
static __always_inline __u32 flowlens_ipv6_exthdr_len(__u8 nexthdr, const __u8 *ext)
{
	if (nexthdr == FLOWLENS_NEXTHDR_FRAGMENT)
		return 8; /* fixed size; its second byte is reserved, not a length */
	if (nexthdr == FLOWLENS_NEXTHDR_AUTH)
		return ((__u32)ext[1] + 2) * 4; /* RFC 4302 counts 4-byte words */
	return ((__u32)ext[1] + 1) * 8;
}

/* A fragment header whose offset is not zero: what follows is payload, not a transport header. */
static __always_inline bool flowlens_ipv6_later_fragment(__u8 nexthdr, const __u8 *ext)
{
	return nexthdr == FLOWLENS_NEXTHDR_FRAGMENT && ((((__u16)ext[2] << 8) | ext[3]) >> 3) != 0;
}

static __always_inline int flowlens_parse_ipv6(struct __sk_buff *skb, __u32 off, struct flowlens_packet *pkt)
{
	__u8 buf[40];
	__u8 ext_buf[4];
	const __u8 *ip6h;
	const __u8 *ext;
	__u8 nexthdr;
	__u32 len;
	int i;

	ip6h = flowlens_header(skb, off, sizeof(buf), buf);
	if (!ip6h)
		return FLOWLENS_PARSE_IPV6_TRUNCATED;
	if ((ip6h[0] >> 4) != 6)
		return FLOWLENS_PARSE_IPV6_BAD_HEADER;

	pkt->family = FLOWLENS_FAMILY_IPV6;
	__builtin_memcpy(pkt->saddr, &ip6h[8], 16);
	__builtin_memcpy(pkt->daddr, &ip6h[24], 16);
	nexthdr = ip6h[6];
	off += sizeof(buf);

#pragma unroll
	for (i = 0; i < FLOWLENS_IPV6_EXTHDR_MAX; i++) {
		if (!flowlens_ipv6_is_exthdr(nexthdr))
			break;
		/* next header, length, then (fragment header) offset and M flag */
		ext = flowlens_header(skb, off, sizeof(ext_buf), ext_buf);
		if (!ext)
			return FLOWLENS_PARSE_IPV6_EXTHDR_TRUNCATED;
		len = flowlens_ipv6_exthdr_len(nexthdr, ext);
		if (off + len > skb->len)
			return FLOWLENS_PARSE_IPV6_EXTHDR_TRUNCATED;
		if (flowlens_ipv6_later_fragment(nexthdr, ext)) {
			/* non-first fragment: what follows is payload */
			pkt->protocol = ext[0];
			return FLOWLENS_PARSE_OK;
		}
		nexthdr = ext[0];
		off += len;
	}
	if (flowlens_ipv6_is_exthdr(nexthdr))
		return FLOWLENS_PARSE_IPV6_EXTHDR_LIMIT;

	pkt->protocol = nexthdr;
	return flowlens_parse_l4(skb, off, pkt);
}

/*
 * Fills pkt and returns FLOWLENS_PARSE_OK, or returns the FLOWLENS_PARSE_*
 * reason the packet cannot be attributed (FLOWLENS_PARSE_NOT_IP included).
 */
static __always_inline int flowlens_parse(struct __sk_buff *skb, struct flowlens_packet *pkt)
{
	__u8 buf[4];
	const __u8 *tag;
	__u16 proto;
	__u32 off = FLOWLENS_ETH_HLEN;
	int i;

	tag = flowlens_header(skb, 12, 2, buf);
	if (!tag)
		return FLOWLENS_PARSE_ETH_TRUNCATED;
	proto = ((__u16)tag[0] << 8) | tag[1];

#pragma unroll
	for (i = 0; i < FLOWLENS_VLAN_MAX; i++) {
		if (proto != FLOWLENS_ETH_P_8021Q && proto != FLOWLENS_ETH_P_8021AD)
			break;
		/* TCI, then the encapsulated EtherType */
		tag = flowlens_header(skb, off, 4, buf);
		if (!tag)
			return FLOWLENS_PARSE_VLAN_TRUNCATED;
		proto = ((__u16)tag[2] << 8) | tag[3];
		off += 4;
	}

	if (proto == FLOWLENS_ETH_P_IP)
		return flowlens_parse_ipv4(skb, off, pkt);
	if (proto == FLOWLENS_ETH_P_IPV6)
		return flowlens_parse_ipv6(skb, off, pkt);
	return FLOWLENS_PARSE_NOT_IP;
}

#endif /* __FLOWLENS_PARSE_BPF_H */
