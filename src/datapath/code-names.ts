// Names of the kernel's numeric codes (protocol, direction, verdict, TCP
// flag, DNS qtype and rcode, reporter) as metrics, flows and spans show them.
// Every function is injective on the values it names, so records that render
// alike may be summed without hiding a distinction the kernel made, except
// where folding is the point (unknown codes).

import { REPORTER_NAMES } from '../bpf/codecs.js';

/** Codes the kernel side should never produce still get a label, not an exception. */
export const UNKNOWN = 'unknown';

const PROTOCOL_NAMES: Readonly<Record<number, string>> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 132: 'sctp' };

// IPPROTO is one byte: precomputed so a scrape renders protocols without allocating.
const PROTOCOLS: readonly string[] = Array.from({ length: 256 }, (_, n) => PROTOCOL_NAMES[n] ?? `ip-${n}`);

export function protocolLabel(protocol: number): string {
  return PROTOCOLS[protocol] ?? `ip-${protocol}`;
}

export function directionLabel(direction: number): string {
  return direction === 1 ? 'ingress' : direction === 2 ? 'egress' : UNKNOWN;
}

export function verdictLabel(verdict: number): string {
  return verdict === 1 ? 'forwarded' : verdict === 2 ? 'dropped' : UNKNOWN;
}

/** Index is the bit position in the TCP flags byte (FLOWLENS_TCP_* in bpf/flowlens.h). */
export const TCP_FLAGS: readonly string[] = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr'];

export function tcpFlagLabel(flag: number): string {
  return TCP_FLAGS[flag] ?? UNKNOWN;
}

/** IANA mnemonics of the common RR types; others render as TYPE<n> (RFC 3597). */
const QTYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 13: 'HINFO', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV',
  35: 'NAPTR', 39: 'DNAME', 43: 'DS', 46: 'RRSIG', 47: 'NSEC', 48: 'DNSKEY', 52: 'TLSA', 64: 'SVCB', 65: 'HTTPS',
  99: 'SPF', 251: 'IXFR', 252: 'AXFR', 255: 'ANY', 257: 'CAA',
};

/** IANA names of the header's 4-bit RCODEs; others render as RCODE<n>. */
const RCODE_NAMES: readonly string[] = [
  'NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE', 'DSOTYPENI',
];

export function qtypeLabel(qtype: number): string {
  return QTYPE_NAMES[qtype] ?? `TYPE${qtype}`;
}

export function rcodeLabel(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}

export function reporterLabel(reporter: number): string {
  return REPORTER_NAMES[reporter] ?? UNKNOWN;
}
