/**
 * Encoders and decoders of the structs in bpf/flowlens.h, and the constants
 * that go with them. Layouts, numbers and the decoded objects' interfaces come
 * from ./layouts.generated.ts, which `make layouts` generates from the header
 * and the objects' BTF; what is written here is only what C cannot say: label
 * names of the indices (checked against the header by test/bpf/codecs.test.ts)
 * and the few structs that decode to something other than their fields.
 *
 * Conventions:
 * - Multi-byte integers are host byte order, as the kernel writes them.
 * - __u64 values decode to bigint (counters and nanosecond clocks exceed 2^53).
 * - Addresses are Buffers in network byte order: 4 bytes for IPv4, 16 for
 *   IPv6 (the same shape as Address in src/net/cidr.ts). On the wire
 *   every address field is 16 bytes; IPv4 uses the first four, the rest zero.
 * - `_pad` fields encode as zero and are not part of the decoded objects.
 */
import { readU32, readU64, writeU16, writeU32, writeU64 } from './bytes.js';
import {
  FLOWLENS_DIRECTION_EGRESS, FLOWLENS_DIRECTION_INGRESS, FLOWLENS_FAMILY_IPV4, FLOWLENS_FAMILY_IPV6,
  FLOWLENS_VERDICT_DROPPED, FLOWLENS_VERDICT_FORWARDED, FLOWLENS_REPORTER_CLIENT, FLOWLENS_REPORTER_SERVER,
  FLOWLENS_IDENTITY_HEALTH, FLOWLENS_IDENTITY_HOST, FLOWLENS_IDENTITY_KUBE_APISERVER, FLOWLENS_IDENTITY_REMOTE_NODE,
  FLOWLENS_IDENTITY_UNKNOWN, FLOWLENS_IDENTITY_UNMANAGED, FLOWLENS_IDENTITY_WORLD,
  FLOWLENS_EVENT_DNS, FLOWLENS_EVENT_DROP, FLOWLENS_EVENT_FLOW, FLOWLENS_EVENT_HTTP, FLOWLENS_EVENT_TCP_OUTCOME,
  FLOWLENS_TCP_OUTCOME_ESTABLISHED, FLOWLENS_TCP_OUTCOME_REFUSED, FLOWLENS_TCP_OUTCOME_UNANSWERED,
  FLOWLENS_DNS_FLAG_NAME_TRUNCATED, FLOWLENS_DNS_FLAG_TC, FLOWLENS_DNS_FLAG_UNANSWERED,
  FLOWLENS_DNS_LATENCY_BOUNDS_NS, FLOWLENS_DNS_NAME_MAX, FLOWLENS_DNS_PORTS_MAX,
  FLOWLENS_HTTP_DURATION_BOUNDS, FLOWLENS_HTTP_DURATION_BOUNDS_NS, FLOWLENS_HTTP_PATH_MAX, FLOWLENS_HTTP_PIPELINE_DEPTH,
  FLOWLENS_HTTP_TRACE_SAMPLED,
  DNS_EVENT, DNS_PENDING_KEY, DNS_PENDING_VALUE, DNS_QUERY_KEY, DNS_RESPONSE_KEY, DNS_RESPONSE_VALUE, DROP_EVENT, DROP_KEY,
  EVENTS_BUDGET, FLOW_EVENT, FLOW_KEY, FLOW_TRAFFIC_VALUE, FLOW_TUPLE, HTTP_CONN, HTTP_CONN_KEY, HTTP_EVENT, HTTP_REQUEST_KEY,
  HTTP_RESPONSE_KEY, HTTP_RESPONSE_VALUE, IPCACHE_KEY, IPCACHE_VALUE, STRUCT_READERS, TCP_OUTCOME_EVENT, TCP_OUTCOME_KEY, TCP_PENDING_VALUE,
  TCP_RETRANSMIT_KEY,
  type AddressFamily, type DnsEvent, type DnsPendingKey, type DnsPendingValue, type DnsQueryKey, type DnsResponseKey,
  type DnsResponseValue, type DropEvent as DropEventStruct, type DropKey, type EventsBudget, type FieldKind, type FlowEvent,
  type FlowKey, type FlowTrafficValue, type FlowTuple, type HttpConn, type HttpConnKey, type HttpEvent as HttpEventStruct,
  type HttpRequestKey, type HttpResponseKey, type HttpResponseValue, type IpcacheKey, type IpcacheValue, type StructLayout,
  type TcpOutcomeEvent, type TcpOutcomeKey, type TcpPendingValue, type TcpRetransmitKey,
} from './layouts.generated.js';

// Layouts and the decoded objects' interfaces: generated from the objects' BTF (make layouts), never written here
export {
  DNS_EVENT, DNS_PENDING_KEY, DNS_PENDING_VALUE, DNS_QUERY_KEY, DNS_RESPONSE_KEY, DNS_RESPONSE_VALUE, DROP_EVENT, DROP_KEY,
  EVENTS_BUDGET, FLOW_EVENT, FLOW_KEY, FLOW_TRAFFIC_VALUE, FLOW_TUPLE, HTTP_CONN, HTTP_CONN_KEY, HTTP_EVENT, HTTP_REQUEST_KEY,
  HTTP_RESPONSE_KEY, HTTP_RESPONSE_VALUE, IPCACHE_KEY, IPCACHE_VALUE, STRUCT_LAYOUTS, TCP_OUTCOME_EVENT, TCP_OUTCOME_KEY,
  TCP_PENDING_VALUE, TCP_RETRANSMIT_KEY,
} from './layouts.generated.js';
export type {
  AddressFamily, DnsEvent, DnsPendingKey, DnsPendingValue, DnsQueryKey, DnsResponseKey, DnsResponseValue, DropKey,
  EventsBudget, FieldLayout, FlowEvent, FlowKey, FlowTrafficValue, FlowTuple, HttpConn, HttpConnKey, HttpRequestKey,
  HttpResponseKey, HttpResponseValue, IpcacheValue, StructLayout, TcpOutcomeEvent, TcpOutcomeKey, TcpPendingValue,
  TcpRetransmitKey,
} from './layouts.generated.js';

// ---------------------------------------------------------------------------
// Constants (bpf/flowlens.h)

export const Identity = {
  UNKNOWN: FLOWLENS_IDENTITY_UNKNOWN,
  HOST: FLOWLENS_IDENTITY_HOST,
  WORLD: FLOWLENS_IDENTITY_WORLD,
  UNMANAGED: FLOWLENS_IDENTITY_UNMANAGED,
  HEALTH: FLOWLENS_IDENTITY_HEALTH,
  REMOTE_NODE: FLOWLENS_IDENTITY_REMOTE_NODE,
  KUBE_APISERVER: FLOWLENS_IDENTITY_KUBE_APISERVER,
} as const;

export const Family = { IPV4: FLOWLENS_FAMILY_IPV4, IPV6: FLOWLENS_FAMILY_IPV6 } as const;

export const Direction = { INGRESS: FLOWLENS_DIRECTION_INGRESS, EGRESS: FLOWLENS_DIRECTION_EGRESS } as const;
export const DIRECTION_NAMES: Readonly<Record<number, 'ingress' | 'egress'>> = {
  [Direction.INGRESS]: 'ingress',
  [Direction.EGRESS]: 'egress',
};

export const Verdict = { FORWARDED: FLOWLENS_VERDICT_FORWARDED, DROPPED: FLOWLENS_VERDICT_DROPPED } as const;
export const VERDICT_NAMES: Readonly<Record<number, 'forwarded' | 'dropped'>> = {
  [Verdict.FORWARDED]: 'forwarded',
  [Verdict.DROPPED]: 'dropped',
};

export const EventType = {
  FLOW: FLOWLENS_EVENT_FLOW,
  DROP: FLOWLENS_EVENT_DROP,
  TCP_OUTCOME: FLOWLENS_EVENT_TCP_OUTCOME,
  DNS: FLOWLENS_EVENT_DNS,
  HTTP: FLOWLENS_EVENT_HTTP,
} as const;

/** Index = FLOWLENS_TCP_* bit position = index of flow_traffic_value.tcp_flags. */
export const TCP_FLAG_NAMES = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr'] as const;
export type TcpFlagName = (typeof TCP_FLAG_NAMES)[number];

/** Index = FLOWLENS_PARSE_* = slot of the parse_packets array. */
export const PARSE_REASON_NAMES = [
  'not_ip',
  'eth_truncated',
  'vlan_truncated',
  'ipv4_truncated',
  'ipv4_bad_header',
  'ipv6_truncated',
  'ipv6_exthdr_truncated',
  'ipv6_exthdr_limit',
  'tcp_truncated',
  'udp_truncated',
  'icmp_truncated',
  'sctp_truncated',
  'tcp_bad_header',
  'ipv6_bad_header',
] as const;
export type ParseReasonName = (typeof PARSE_REASON_NAMES)[number];
export const PARSE_REASONS = PARSE_REASON_NAMES.length;

/** Index = FLOWLENS_LOST_* = slot of the events_lost array. */
export const LOST_REASON_NAMES = ['rate_limit', 'ring_full'] as const;
export type LostReasonName = (typeof LOST_REASON_NAMES)[number];
export const LOST_REASONS = LOST_REASON_NAMES.length;

/** Index = FLOWLENS_MAP_* = slot of the map_update_errors array (hash maps that refused a new key). */
export const MAP_UPDATE_ERROR_MAPS = [
  'flow_traffic',
  'flows',
  'flow_conntrack',
  'tcp_attempts',
  'dns_queries',
  'dns_responses',
  'http_requests',
  'http_responses',
  'http_connections',
] as const;
export const MAP_IDS = MAP_UPDATE_ERROR_MAPS.length;

/** Index = FLOWLENS_DROP_MAP_* = slot of drop.bpf.c's drop_map_errors array. */
export const DROP_MAP_ERROR_MAPS = ['drops', 'dropped_flows'] as const;
export const DROP_MAP_IDS = DROP_MAP_ERROR_MAPS.length;

/** FLOWLENS_TCP_OUTCOME_*: how a TCP connection attempt (SYN without ACK) ended. */
export const TcpOutcome = {
  ESTABLISHED: FLOWLENS_TCP_OUTCOME_ESTABLISHED,
  REFUSED: FLOWLENS_TCP_OUTCOME_REFUSED,
  UNANSWERED: FLOWLENS_TCP_OUTCOME_UNANSWERED,
} as const;
export const TCP_OUTCOME_NAMES: Readonly<Record<number, 'established' | 'refused' | 'unanswered'>> = {
  [TcpOutcome.ESTABLISHED]: 'established',
  [TcpOutcome.REFUSED]: 'refused',
  [TcpOutcome.UNANSWERED]: 'unanswered',
};

/** FLOWLENS_HTTP_METHOD_*: index = code; 0 is a response whose request was not recognised. */
export const HTTP_METHOD_NAMES = ['unknown', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE'] as const;
export type HttpMethodName = (typeof HTTP_METHOD_NAMES)[number];

/** Index = FLOWLENS_HTTP_MSG_* = slot of the http_unmatched array. */
export const HTTP_MESSAGE_REASON_NAMES = ['unmatched_response', 'pipeline_overflow', 'retransmit'] as const;

export const HTTP_PATH_MAX = FLOWLENS_HTTP_PATH_MAX;
export const HTTP_PIPELINE_DEPTH = FLOWLENS_HTTP_PIPELINE_DEPTH;
/** FLOWLENS_HTTP_DURATION_BOUNDS: finite bucket bounds of the latency histogram (http_duration_bounds_ns). */
export const HTTP_DURATION_BOUNDS = FLOWLENS_HTTP_DURATION_BOUNDS;
export const HTTP_DURATION_BUCKETS = HTTP_DURATION_BOUNDS + 1;
/** The kernel's bucket bounds (FLOWLENS_HTTP_DURATION_BOUNDS_NS), in seconds. */
export const HTTP_DURATION_BOUNDS_SECONDS: readonly number[] = FLOWLENS_HTTP_DURATION_BOUNDS_NS.map((ns) => ns / 1e9);

/** FLOWLENS_REPORTER_*: which end's interface saw a DNS message or HTTP exchange. */
export const Reporter = { CLIENT: FLOWLENS_REPORTER_CLIENT, SERVER: FLOWLENS_REPORTER_SERVER } as const;
export const REPORTER_NAMES: Readonly<Record<number, 'client' | 'server'>> = {
  [Reporter.CLIENT]: 'client',
  [Reporter.SERVER]: 'server',
};

/** FLOWLENS_DNS_FLAG_* bits of dns_event.flags and dns_pending_value.flags. */
export const DnsFlag = {
  NAME_TRUNCATED: FLOWLENS_DNS_FLAG_NAME_TRUNCATED,
  TC: FLOWLENS_DNS_FLAG_TC,
  UNANSWERED: FLOWLENS_DNS_FLAG_UNANSWERED,
} as const;

/** Index = FLOWLENS_DNS_MALFORMED_* = slot of the dns_malformed array. */
export const DNS_MALFORMED_REASON_NAMES = [
  'header_truncated',
  'tcp_length',
  'unsupported_opcode',
  'no_question',
  'name_truncated',
  'label_too_long',
  'compression_pointer',
  'name_too_long',
  'question_truncated',
] as const;
export type DnsMalformedReasonName = (typeof DNS_MALFORMED_REASON_NAMES)[number];
export const DNS_MALFORMED_REASONS = DNS_MALFORMED_REASON_NAMES.length;

/** FLOWLENS_DNS_PORTS_MAX: slots of the dns_ports global. */
export const DNS_PORTS_MAX = FLOWLENS_DNS_PORTS_MAX;
/** FLOWLENS_DNS_NAME_MAX: wire bytes of a question name kept in events. */
export const DNS_NAME_MAX = FLOWLENS_DNS_NAME_MAX;
/** Upper bounds of dns_response_value.latency_buckets in seconds (FLOWLENS_DNS_LATENCY_BOUNDS_NS), then +Inf. */
export const DNS_LATENCY_BOUNDS_SECONDS: readonly number[] = FLOWLENS_DNS_LATENCY_BOUNDS_NS.map((ns) => ns / 1e9);
export const DNS_LATENCY_BUCKETS = DNS_LATENCY_BOUNDS_SECONDS.length + 1;

/** Name of an index in one of the arrays above; out of range gives `unknown_<n>` rather than throwing. */
export function nameAt(names: readonly string[], index: number): string {
  return names[index] ?? `unknown_${index}`;
}

/** Number of TCP flag counters in flow_traffic_value, one per FLOWLENS_TCP_* bit. */
export const TCP_FLAG_COUNT = TCP_FLAG_NAMES.length;

/** FLOWLENS_RETRANSMIT_MAP_*: index of retransmit_map_errors. */
export const RETRANSMIT_MAP_ERROR_MAPS = ['tcp_retransmits'] as const;

// ---------------------------------------------------------------------------
// Field access: host byte order (./bytes.ts)

function checkSize(l: StructLayout, buf: Buffer, offset: number): void {
  if (buf.length - offset < l.size) {
    throw new RangeError(`codecs: ${l.name} needs ${l.size} bytes, got ${buf.length - offset}`);
  }
}

/** The address bytes of a family: IPv4 lives in the first 4 of the 16 stored bytes. */
function addressLength(family: number): number {
  if (family === Family.IPV4) return 4;
  if (family === Family.IPV6) return 16;
  throw new RangeError(`codecs: unknown address family ${family}`);
}

function writeAddress(buf: Buffer, at: number, family: number, addr: Buffer): void {
  const len = addressLength(family);
  if (addr.length !== len) {
    throw new RangeError(`codecs: IPv${family} address must be ${len} bytes, got ${addr.length}`);
  }
  addr.copy(buf, at);
}

interface Codec<T> {
  encode(value: T): Buffer;
  decode(buf: Buffer, offset?: number): T;
}

/**
 * Encoder and decoder of one struct, so a struct is described once (in C) and
 * its object has the generated interface. The encoder walks the generated
 * layout (each field is its `property`, written by its `kind`); the decoder is
 * the struct's generated reader (read<Struct> in layouts.generated.ts), one
 * object literal, as events are decoded by the thousand per second. Fields
 * named *addr hold an address of the struct's `family` (no address is written
 * for family 0: nothing was parsed; without a family field all 16 bytes are
 * kept). Padding is written as zeros and not decoded. Each struct exports its
 * pair as `export const { encode: encodeX, decode: decodeX } = structCodec<X>(X_LAYOUT)`.
 */
function structCodec<T extends object>(l: StructLayout): Codec<T> {
  const read = STRUCT_READERS[l.name];
  if (!read) throw new Error(`codecs: no generated reader for struct ${l.name}`);
  const fields = Object.entries(l.fields)
    .filter(([name]) => !name.startsWith('_'))
    .map(([name, f]) => ({ key: f.property, at: f.offset, size: f.size, kind: f.kind, addr: name.endsWith('addr') }));
  return {
    encode(value: T): Buffer {
      const v = value as Record<string, unknown>;
      const buf = Buffer.alloc(l.size);
      for (const f of fields) {
        if (f.addr) {
          if (v['family'] === undefined) (v[f.key] as Buffer).copy(buf, f.at, 0, 16);
          else if (v['family'] !== 0) writeAddress(buf, f.at, v['family'] as number, v[f.key] as Buffer);
        } else if (f.kind === 'u8[]') {
          (v[f.key] as Buffer).copy(buf, f.at, 0, f.size);
        } else if (f.kind === 'u64[]') {
          const counts = v[f.key] as bigint[];
          if (counts.length !== f.size / 8) {
            throw new RangeError(`codecs: ${f.key} needs ${f.size / 8} counters, got ${counts.length}`);
          }
          counts.forEach((count, i) => writeU64(buf, f.at + i * 8, count));
        } else {
          writeScalar(buf, f.at, f.kind, v[f.key] as number | bigint);
        }
      }
      return buf;
    },
    decode(buf: Buffer, offset = 0): T {
      checkSize(l, buf, offset);
      return read(buf, offset) as T;
    },
  };
}

function writeScalar(buf: Buffer, at: number, kind: FieldKind, value: number | bigint): void {
  switch (kind) {
    case 'u8':
      buf.writeUInt8(value as number, at);
      break;
    case 'u16':
      writeU16(buf, at, value as number);
      break;
    case 'u32':
      writeU32(buf, at, value as number);
      break;
    default:
      writeU64(buf, at, value as bigint);
  }
}

/** A u64 map value (flows, parse_packets, ...). */
export function decodeU64(buf: Buffer, offset = 0): bigint {
  return readU64(buf, offset);
}

export function encodeU64(value: bigint): Buffer {
  const buf = Buffer.alloc(8);
  writeU64(buf, 0, value);
  return buf;
}

/** Key of the per-CPU arrays (parse_packets, events_lost, map_update_errors, events_budget). */
export function encodeU32(value: number): Buffer {
  const buf = Buffer.alloc(4);
  writeU32(buf, 0, value);
  return buf;
}

export function decodeU32(buf: Buffer, offset = 0): number {
  return readU32(buf, offset);
}

// ---------------------------------------------------------------------------
// ipcache

/** An ipcache_key as the prefix it stands for: the raw prefixlen also counts the family's 32 bits. */
export interface IpcachePrefix {
  family: AddressFamily;
  addr: Buffer;
  /** Prefix of the address alone (0..32 or 0..128); the family's 32 bits are added on encode. */
  prefixLen: number;
}

const ipcacheKeyCodec = structCodec<IpcacheKey>(IPCACHE_KEY);

/** LPM key: prefixlen counts the 32 bits of family too, so IPv4 and IPv6 share one trie. */
export function ipcacheKey(family: AddressFamily, addr: Buffer, prefixLen: number): Buffer {
  const max = family === Family.IPV4 ? 32 : 128;
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > max) {
    throw new RangeError(`codecs: IPv${family} prefix length must be 0..${max}, got ${prefixLen}`);
  }
  return ipcacheKeyCodec.encode({ prefixlen: 32 + prefixLen, family, addr });
}

export function encodeIpcacheKey(key: IpcachePrefix): Buffer {
  return ipcacheKey(key.family, key.addr, key.prefixLen);
}

export function decodeIpcacheKey(buf: Buffer, offset = 0): IpcachePrefix {
  const { family, addr, prefixlen } = ipcacheKeyCodec.decode(buf, offset);
  return { family, addr, prefixLen: prefixlen - 32 };
}

export const { encode: encodeIpcacheValue, decode: decodeIpcacheValue } = structCodec<IpcacheValue>(IPCACHE_VALUE);

// ---------------------------------------------------------------------------
// counters

export const { encode: encodeFlowKey, decode: decodeFlowKey } = structCodec<FlowKey>(FLOW_KEY);
export const { encode: encodeFlowTrafficValue, decode: decodeFlowTrafficValue } = structCodec<FlowTrafficValue>(FLOW_TRAFFIC_VALUE);

// ---------------------------------------------------------------------------
// flow_conntrack

export const { encode: encodeFlowTuple, decode: decodeFlowTuple } = structCodec<FlowTuple>(FLOW_TUPLE);

// ---------------------------------------------------------------------------
// TCP connection attempts (tcp_pending, tcp_attempts)

export const { encode: encodeTcpPendingValue, decode: decodeTcpPendingValue } = structCodec<TcpPendingValue>(TCP_PENDING_VALUE);
export const { encode: encodeTcpOutcomeKey, decode: decodeTcpOutcomeKey } = structCodec<TcpOutcomeKey>(TCP_OUTCOME_KEY);
export const { encode: encodeTcpRetransmitKey, decode: decodeTcpRetransmitKey } = structCodec<TcpRetransmitKey>(TCP_RETRANSMIT_KEY);

// ---------------------------------------------------------------------------
// events

export const { encode: encodeFlowEvent, decode: decodeFlowEvent } = structCodec<FlowEvent>(FLOW_EVENT);
export const { encode: encodeTcpOutcomeEvent, decode: decodeTcpOutcomeEvent } = structCodec<TcpOutcomeEvent>(TCP_OUTCOME_EVENT);

// ---------------------------------------------------------------------------
// drops (drop.bpf.c)

export const { encode: encodeDropKey, decode: decodeDropKey } = structCodec<DropKey>(DROP_KEY);

/** One dropped packet, as drop_event decodes (the generated DropEventStruct), but for its family. */
export interface DropEvent extends Omit<DropEventStruct, 'family'> {
  /** 0 when the dropped buffer held no readable IP header; the addresses are then all zero. */
  family: AddressFamily | 0;
}

export const { encode: encodeDropEvent, decode: decodeDropEvent } = structCodec<DropEvent>(DROP_EVENT);

/** Type byte of a ring-buffer record, to pick its decoder. */
export function eventType(buf: Buffer): number {
  if (buf.length < 1) throw new RangeError('codecs: empty event');
  return buf.readUInt8(0);
}

export const { encode: encodeEventsBudget, decode: decodeEventsBudget } = structCodec<EventsBudget>(EVENTS_BUDGET);

// ---------------------------------------------------------------------------
// DNS (protocols/dns.bpf.h)

export const { encode: encodeDnsQueryKey, decode: decodeDnsQueryKey } = structCodec<DnsQueryKey>(DNS_QUERY_KEY);
export const { encode: encodeDnsResponseKey, decode: decodeDnsResponseKey } = structCodec<DnsResponseKey>(DNS_RESPONSE_KEY);
export const { encode: encodeDnsResponseValue, decode: decodeDnsResponseValue } = structCodec<DnsResponseValue>(DNS_RESPONSE_VALUE);
export const { encode: encodeDnsPendingKey, decode: decodeDnsPendingKey } = structCodec<DnsPendingKey>(DNS_PENDING_KEY);
export const { encode: encodeDnsPendingValue, decode: decodeDnsPendingValue } = structCodec<DnsPendingValue>(DNS_PENDING_VALUE);
export const { encode: encodeDnsEvent, decode: decodeDnsEvent } = structCodec<DnsEvent>(DNS_EVENT);

/**
 * A question name from its wire format (length-prefixed labels), as text
 * without the trailing dot ("" for the root). A name the kernel cut at
 * DNS_NAME_MAX ends at the last whole label. Bytes outside printable ASCII,
 * dots and backslashes inside labels are escaped as \DDD (RFC 4343 style), so
 * the text never splits a label.
 */
export function dnsNameFromWire(wire: Buffer, length: number = wire.length): string {
  const labels: string[] = [];
  let pos = 0;
  const end = Math.min(length, wire.length);
  while (pos < end) {
    const len = wire[pos]!;
    if (len === 0 || len > 63 || pos + 1 + len > end) break;
    let label = '';
    for (let i = pos + 1; i <= pos + len; i++) {
      const c = wire[i]!;
      label += c > 0x20 && c < 0x7f && c !== 0x2e && c !== 0x5c ? String.fromCharCode(c) : `\\${String(c).padStart(3, '0')}`;
    }
    labels.push(label);
    pos += 1 + len;
  }
  return labels.join('.');
}

// ---------------------------------------------------------------------------
// HTTP (protocols/http.bpf.h)

export const { encode: encodeHttpRequestKey, decode: decodeHttpRequestKey } = structCodec<HttpRequestKey>(HTTP_REQUEST_KEY);
export const { encode: encodeHttpResponseKey, decode: decodeHttpResponseKey } = structCodec<HttpResponseKey>(HTTP_RESPONSE_KEY);
export const { encode: encodeHttpResponseValue, decode: decodeHttpResponseValue } = structCodec<HttpResponseValue>(HTTP_RESPONSE_VALUE);

/** http_connections, decoded for tests and debugging only. */
export const { decode: decodeHttpConnKey } = structCodec<HttpConnKey>(HTTP_CONN_KEY);
export const { decode: decodeHttpConn } = structCodec<HttpConn>(HTTP_CONN);

/**
 * One completed HTTP exchange (source the client, destination the server):
 * http_event's fields (HttpEventStruct), with the path, HTTP version and
 * trace context decoded from the bytes and flags that carry them.
 */
export interface HttpEvent
  extends Omit<HttpEventStruct, 'pathLen' | 'pathTruncated' | 'pathKnown' | 'hasTrace' | 'versionMinor' | 'path' | 'traceId' | 'parentSpanId'> {
  /** "1.0" or "1.1", from the status line. */
  protocolVersion: string;
  /** The request path without its query, as far as kept; undefined when not kept (a pipelined request). */
  path: string | undefined;
  /** The path was longer than HTTP_PATH_MAX bytes and is cut there. */
  pathTruncated: boolean;
  /** From the request's traceparent header, lower-case hex; undefined without one. */
  traceId: string | undefined;
  parentSpanId: string | undefined;
  /** The traceparent's sampled flag: false when the caller did not sample its trace (or there is none). */
  traceSampled: boolean;
}

const httpEventCodec = structCodec<HttpEventStruct>(HTTP_EVENT);

export function decodeHttpEvent(buf: Buffer, offset = 0): HttpEvent {
  const e = httpEventCodec.decode(buf, offset);
  const known = e.pathKnown !== 0;
  // all-zero ids are invalid (W3C trace context): such a header joins no trace
  const traced = e.hasTrace !== 0 && e.traceId.some((b) => b !== 0) && e.parentSpanId.some((b) => b !== 0);
  // every field written out (no object rest or spread): one shape, decoded once per exchange
  return {
    type: e.type,
    family: e.family,
    method: e.method,
    reporter: e.reporter,
    ifindex: e.ifindex,
    timestampNs: e.timestampNs,
    durationNs: e.durationNs,
    srcIdentity: e.srcIdentity,
    dstIdentity: e.dstIdentity,
    saddr: e.saddr,
    daddr: e.daddr,
    sport: e.sport,
    dport: e.dport,
    status: e.status,
    protocolVersion: `1.${e.versionMinor}`,
    // bytes as they came: latin1 keeps each one a character, whatever the encoding
    path: known ? e.path.toString('latin1', 0, Math.min(e.pathLen, HTTP_PATH_MAX)) : undefined,
    pathTruncated: known && e.pathTruncated !== 0,
    traceId: traced ? e.traceId.toString('hex') : undefined,
    parentSpanId: traced ? e.parentSpanId.toString('hex') : undefined,
    traceSampled: traced && (e.hasTrace & FLOWLENS_HTTP_TRACE_SAMPLED) !== 0,
  };
}
