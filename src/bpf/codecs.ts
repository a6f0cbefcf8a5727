/**
 * Encoders and decoders of the structs in bpf/flowlens.h, and the constants
 * that go with them. Layouts and numbers come from ./layouts.generated.ts,
 * which `make layouts` generates from the header and the objects' BTF; what is
 * written here is only what C cannot say: label names of the indices (checked
 * against the header by test/bpf/codecs.test.ts) and how fields decode.
 *
 * Conventions:
 * - Multi-byte integers are host byte order, as the kernel writes them.
 * - __u64 values decode to bigint (counters and nanosecond clocks exceed 2^53).
 * - Addresses are Buffers in network byte order: 4 bytes for IPv4, 16 for
 *   IPv6 (the same shape as Address in src/net/cidr.ts). On the wire
 *   every address field is 16 bytes; IPv4 uses the first four, the rest zero.
 * - `_pad` fields encode as zero and are not part of the decoded objects.
 */
import { endianness } from 'node:os';
import {
  DNS_EVENT,
  DNS_PENDING_KEY,
  DNS_PENDING_VALUE,
  DNS_QUERY_KEY,
  DNS_RESPONSE_KEY,
  DNS_RESPONSE_VALUE,
  DROP_EVENT,
  DROP_KEY,
  EVENTS_BUDGET,
  FLOW_EVENT,
  FLOW_KEY,
  FLOW_TRAFFIC_VALUE,
  FLOW_TUPLE,
  FLOWLENS_DIRECTION_EGRESS,
  FLOWLENS_DIRECTION_INGRESS,
  FLOWLENS_DNS_FLAG_NAME_TRUNCATED,
  FLOWLENS_DNS_FLAG_TC,
  FLOWLENS_DNS_FLAG_UNANSWERED,
  FLOWLENS_DNS_LATENCY_BOUNDS_NS,
  FLOWLENS_DNS_NAME_MAX,
  FLOWLENS_DNS_PORTS_MAX,
  FLOWLENS_EVENT_DNS,
  FLOWLENS_EVENT_DROP,
  FLOWLENS_EVENT_FLOW,
  FLOWLENS_EVENT_HTTP,
  FLOWLENS_EVENT_TCP_OUTCOME,
  FLOWLENS_FAMILY_IPV4,
  FLOWLENS_FAMILY_IPV6,
  FLOWLENS_HTTP_DURATION_BOUNDS,
  FLOWLENS_HTTP_DURATION_BOUNDS_NS,
  FLOWLENS_HTTP_PATH_MAX,
  FLOWLENS_HTTP_PIPELINE_DEPTH,
  FLOWLENS_IDENTITY_HEALTH,
  FLOWLENS_IDENTITY_HOST,
  FLOWLENS_IDENTITY_KUBE_APISERVER,
  FLOWLENS_IDENTITY_REMOTE_NODE,
  FLOWLENS_IDENTITY_UNKNOWN,
  FLOWLENS_IDENTITY_UNMANAGED,
  FLOWLENS_IDENTITY_WORLD,
  FLOWLENS_REPORTER_CLIENT,
  FLOWLENS_REPORTER_SERVER,
  FLOWLENS_TCP_OUTCOME_ESTABLISHED,
  FLOWLENS_TCP_OUTCOME_REFUSED,
  FLOWLENS_TCP_OUTCOME_UNANSWERED,
  FLOWLENS_VERDICT_DROPPED,
  FLOWLENS_VERDICT_FORWARDED,
  HTTP_CONN,
  HTTP_CONN_KEY,
  HTTP_EVENT,
  HTTP_REQUEST_KEY,
  HTTP_RESPONSE_KEY,
  HTTP_RESPONSE_VALUE,
  IPCACHE_KEY,
  IPCACHE_VALUE,
  STRUCT_LAYOUTS,
  TCP_OUTCOME_EVENT,
  TCP_OUTCOME_KEY,
  TCP_PENDING_VALUE,
  TCP_RETRANSMIT_KEY,
  type FieldLayout,
  type StructLayout,
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
export type AddressFamily = 4 | 6;

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

// ---------------------------------------------------------------------------
// Layouts: generated from the objects' BTF (make layouts), never written here

export {
  DNS_EVENT,
  DNS_PENDING_KEY,
  DNS_PENDING_VALUE,
  DNS_QUERY_KEY,
  DNS_RESPONSE_KEY,
  DNS_RESPONSE_VALUE,
  DROP_EVENT,
  DROP_KEY,
  EVENTS_BUDGET,
  FLOW_EVENT,
  FLOW_KEY,
  FLOW_TRAFFIC_VALUE,
  FLOW_TUPLE,
  HTTP_CONN,
  HTTP_CONN_KEY,
  HTTP_EVENT,
  HTTP_REQUEST_KEY,
  HTTP_RESPONSE_KEY,
  HTTP_RESPONSE_VALUE,
  IPCACHE_KEY,
  IPCACHE_VALUE,
  STRUCT_LAYOUTS,
  TCP_OUTCOME_EVENT,
  TCP_OUTCOME_KEY,
  TCP_PENDING_VALUE,
  TCP_RETRANSMIT_KEY,
  type FieldLayout,
  type StructLayout,
};

/** Number of TCP flag counters in flow_traffic_value, one per FLOWLENS_TCP_* bit. */
export const TCP_FLAG_COUNT = TCP_FLAG_NAMES.length;

export interface TcpRetransmitKey {
  srcIdentity: number;
  dstIdentity: number;
}

/** FLOWLENS_RETRANSMIT_MAP_*: index of retransmit_map_errors. */
export const RETRANSMIT_MAP_ERROR_MAPS = ['tcp_retransmits'] as const;

// ---------------------------------------------------------------------------
// Field access in host byte order

const LE = endianness() === 'LE';

function off(l: StructLayout, field: string): number {
  const f = l.fields[field];
  if (!f) throw new Error(`codecs: ${l.name} has no field ${field}`);
  return f.offset;
}

function readU16(buf: Buffer, at: number): number {
  return LE ? buf.readUInt16LE(at) : buf.readUInt16BE(at);
}
function readU32(buf: Buffer, at: number): number {
  return LE ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
}
function readU64(buf: Buffer, at: number): bigint {
  return LE ? buf.readBigUInt64LE(at) : buf.readBigUInt64BE(at);
}
function writeU16(buf: Buffer, at: number, v: number): void {
  if (LE) buf.writeUInt16LE(v, at);
  else buf.writeUInt16BE(v, at);
}
function writeU32(buf: Buffer, at: number, v: number): void {
  if (LE) buf.writeUInt32LE(v, at);
  else buf.writeUInt32BE(v, at);
}
function writeU64(buf: Buffer, at: number, v: bigint): void {
  if (LE) buf.writeBigUInt64LE(v, at);
  else buf.writeBigUInt64BE(v, at);
}

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

/** Unknown families keep all 16 bytes, so nothing is hidden from a caller debugging a bad entry. */
function readAddress(buf: Buffer, at: number, family: number): Buffer {
  const len = family === Family.IPV4 ? 4 : 16;
  return Buffer.from(buf.subarray(at, at + len));
}

interface Codec<T> {
  encode(value: T): Buffer;
  decode(buf: Buffer, offset?: number): T;
}

/** src_identity -> srcIdentity: the TS property of a C field. */
function camel(name: string): string {
  return name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Encoder and decoder of one struct, driven by its layout alone, so a struct
 * is described once. A field's size gives its type: 1, 2 and 4 bytes are
 * unsigned numbers, 8 a u64 as bigint, a larger multiple of 8 an array of u64
 * counters, except fields named *addr, which hold an address of the struct's
 * `family` (no address is written for family 0: nothing was parsed; without a
 * family field all 16 bytes are kept), and fields named *name, which are raw
 * bytes (a Buffer of the field's size). The
 * property is the field's C name in camelCase; padding is written as zeros and
 * not decoded. Each struct exports its pair as
 * `export const { encode: encodeX, decode: decodeX } = structCodec<X>(X_LAYOUT)`.
 */
function structCodec<T extends object>(l: StructLayout): Codec<T> {
  const fields = Object.entries(l.fields)
    .filter(([name]) => !name.startsWith('_'))
    .map(([name, f]) => ({ key: camel(name), at: f.offset, size: f.size, addr: name.endsWith('addr'), bytes: name.endsWith('name') }));
  return {
    encode(value: T): Buffer {
      const v = value as Record<string, unknown>;
      const buf = Buffer.alloc(l.size);
      for (const f of fields) {
        if (f.addr) {
          if (v['family'] === undefined) (v[f.key] as Buffer).copy(buf, f.at, 0, 16);
          else if (v['family'] !== 0) writeAddress(buf, f.at, v['family'] as number, v[f.key] as Buffer);
        } else if (f.bytes) {
          (v[f.key] as Buffer).copy(buf, f.at, 0, f.size);
        } else if (f.size > 8) {
          const counts = v[f.key] as bigint[];
          if (counts.length !== f.size / 8) {
            throw new RangeError(`codecs: ${f.key} needs ${f.size / 8} counters, got ${counts.length}`);
          }
          counts.forEach((count, i) => writeU64(buf, f.at + i * 8, count));
        } else {
          writeScalar(buf, f.at, f.size, v[f.key] as number | bigint);
        }
      }
      return buf;
    },
    decode(buf: Buffer, offset = 0): T {
      checkSize(l, buf, offset);
      const out: Record<string, unknown> = {};
      for (const f of fields) {
        if (f.addr) continue;
        if (f.bytes) {
          out[f.key] = Buffer.from(buf.subarray(offset + f.at, offset + f.at + f.size));
          continue;
        }
        out[f.key] =
          f.size > 8
            ? Array.from({ length: f.size / 8 }, (_, i) => readU64(buf, offset + f.at + i * 8))
            : readScalar(buf, offset + f.at, f.size);
      }
      // addresses last: their length depends on the decoded family
      for (const f of fields) if (f.addr) out[f.key] = readAddress(buf, offset + f.at, out['family'] as number);
      return out as T;
    },
  };
}

function readScalar(buf: Buffer, at: number, size: number): number | bigint {
  switch (size) {
    case 1:
      return buf.readUInt8(at);
    case 2:
      return readU16(buf, at);
    case 4:
      return readU32(buf, at);
    default:
      return readU64(buf, at);
  }
}

function writeScalar(buf: Buffer, at: number, size: number, value: number | bigint): void {
  switch (size) {
    case 1:
      buf.writeUInt8(value as number, at);
      break;
    case 2:
      writeU16(buf, at, value as number);
      break;
    case 4:
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

export interface IpcacheKey {
  family: AddressFamily;
  addr: Buffer;
  /** Prefix of the address alone (0..32 or 0..128); the family's 32 bits are added on encode. */
  prefixLen: number;
}

/** LPM key: prefixlen counts the 32 bits of family too, so IPv4 and IPv6 share one trie. */
export function ipcacheKey(family: AddressFamily, addr: Buffer, prefixLen: number): Buffer {
  const max = family === Family.IPV4 ? 32 : 128;
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > max) {
    throw new RangeError(`codecs: IPv${family} prefix length must be 0..${max}, got ${prefixLen}`);
  }
  const buf = Buffer.alloc(IPCACHE_KEY.size);
  writeU32(buf, off(IPCACHE_KEY, 'prefixlen'), 32 + prefixLen);
  writeU32(buf, off(IPCACHE_KEY, 'family'), family);
  writeAddress(buf, off(IPCACHE_KEY, 'addr'), family, addr);
  return buf;
}

export function encodeIpcacheKey(key: IpcacheKey): Buffer {
  return ipcacheKey(key.family, key.addr, key.prefixLen);
}

export function decodeIpcacheKey(buf: Buffer, offset = 0): IpcacheKey {
  checkSize(IPCACHE_KEY, buf, offset);
  const family = readU32(buf, offset + off(IPCACHE_KEY, 'family'));
  return {
    family: family as AddressFamily,
    addr: readAddress(buf, offset + off(IPCACHE_KEY, 'addr'), family),
    prefixLen: readU32(buf, offset + off(IPCACHE_KEY, 'prefixlen')) - 32,
  };
}

export interface IpcacheValue {
  identity: number;
  flags: number;
}

export const { encode: encodeIpcacheValue, decode: decodeIpcacheValue } = structCodec<IpcacheValue>(IPCACHE_VALUE);

// ---------------------------------------------------------------------------
// counters

export interface FlowKey {
  srcIdentity: number;
  dstIdentity: number;
  /** Zero in flow_traffic and for protocols without ports. */
  dstPort: number;
  protocol: number;
  direction: number;
  verdict: number;
}

export const { encode: encodeFlowKey, decode: decodeFlowKey } = structCodec<FlowKey>(FLOW_KEY);

export interface FlowTrafficValue {
  packets: bigint;
  bytes: bigint;
  /** TCP packets with each flag set, indexed by FLOWLENS_TCP_* bit (TCP_FLAG_NAMES); all zero for other protocols. */
  tcpFlags: bigint[];
}

export const { encode: encodeFlowTrafficValue, decode: decodeFlowTrafficValue } = structCodec<FlowTrafficValue>(FLOW_TRAFFIC_VALUE);

// ---------------------------------------------------------------------------
// flow_conntrack

export interface FlowTuple {
  family: AddressFamily;
  saddr: Buffer;
  daddr: Buffer;
  /** Host byte order; ICMP echo uses the identifier for both, other ICMP 0/0. */
  sport: number;
  dport: number;
  protocol: number;
  direction: number;
}

export const { encode: encodeFlowTuple, decode: decodeFlowTuple } = structCodec<FlowTuple>(FLOW_TUPLE);

// ---------------------------------------------------------------------------
// TCP connection attempts (tcp_pending, tcp_attempts)

/** A SYN awaiting its answer; tcp_pending's key is the SYN's FlowTuple. */
export interface TcpPendingValue {
  /** bpf_ktime_get_ns() of the latest SYN: CLOCK_MONOTONIC, like process.hrtime.bigint(). */
  synNs: bigint;
  srcIdentity: number;
  dstIdentity: number;
  dstPort: number;
  /** 1 once user space counted the attempt as unanswered; the entry then only absorbs retries. */
  unanswered: number;
}

export const { encode: encodeTcpPendingValue, decode: decodeTcpPendingValue } = structCodec<TcpPendingValue>(TCP_PENDING_VALUE);

export interface TcpOutcomeKey {
  srcIdentity: number;
  dstIdentity: number;
  dstPort: number;
  /** TcpOutcome.* */
  outcome: number;
  /** The SYN's direction. */
  direction: number;
}

export const { encode: encodeTcpOutcomeKey, decode: decodeTcpOutcomeKey } = structCodec<TcpOutcomeKey>(TCP_OUTCOME_KEY);

export const { encode: encodeTcpRetransmitKey, decode: decodeTcpRetransmitKey } = structCodec<TcpRetransmitKey>(TCP_RETRANSMIT_KEY);

// ---------------------------------------------------------------------------
// events

export interface FlowEvent {
  type: number;
  family: AddressFamily;
  protocol: number;
  direction: number;
  ifindex: number;
  /** bpf_ktime_get_ns(): CLOCK_MONOTONIC, not wall time. */
  timestampNs: bigint;
  srcIdentity: number;
  dstIdentity: number;
  saddr: Buffer;
  daddr: Buffer;
  sport: number;
  dport: number;
  /** The TCP flags byte of the first packet (0 for other protocols). */
  tcpFlags: number;
  verdict: number;
}

export const { encode: encodeFlowEvent, decode: decodeFlowEvent } = structCodec<FlowEvent>(FLOW_EVENT);

/**
 * How one TCP connection attempt ended. Addresses, ports and direction are the
 * SYN's; the identities are those its tcp_attempts count is kept under.
 */
export interface TcpOutcomeEvent {
  type: number;
  family: AddressFamily;
  protocol: number;
  direction: number;
  /** Where the answer was seen; 0 for unanswered (user space does not know the SYN's interface). */
  ifindex: number;
  /** When the outcome was known (answer or sweep): CLOCK_MONOTONIC, like process.hrtime.bigint(). */
  timestampNs: bigint;
  /** The latest SYN of the attempt, same clock. */
  synTimestampNs: bigint;
  srcIdentity: number;
  dstIdentity: number;
  saddr: Buffer;
  daddr: Buffer;
  sport: number;
  dport: number;
  /** TcpOutcome.* */
  outcome: number;
}

export const { encode: encodeTcpOutcomeEvent, decode: decodeTcpOutcomeEvent } = structCodec<TcpOutcomeEvent>(TCP_OUTCOME_EVENT);

// ---------------------------------------------------------------------------
// drops (drop.bpf.c)

export interface DropKey {
  /** The running kernel's enum skb_drop_reason value (name it from the kernel's BTF). */
  reason: number;
  srcIdentity: number;
  dstIdentity: number;
  dstPort: number;
  /** Zero when the dropped buffer held no readable IP header. */
  protocol: number;
  /** Zero when the tracer could not tell (forwarded, no device). */
  direction: number;
}

export const { encode: encodeDropKey, decode: decodeDropKey } = structCodec<DropKey>(DROP_KEY);

export interface DropEvent {
  type: number;
  /** 0 when the dropped buffer held no readable IP header; the addresses are then all zero. */
  family: AddressFamily | 0;
  protocol: number;
  direction: number;
  /** The device the buffer was at (0: none); an index in the namespace of that device. */
  ifindex: number;
  /** bpf_ktime_get_ns(): CLOCK_MONOTONIC, not wall time. */
  timestampNs: bigint;
  reason: number;
  srcIdentity: number;
  dstIdentity: number;
  saddr: Buffer;
  daddr: Buffer;
  sport: number;
  dport: number;
}

export const { encode: encodeDropEvent, decode: decodeDropEvent } = structCodec<DropEvent>(DROP_EVENT);

/** Type byte of a ring-buffer record, to pick its decoder. */
export function eventType(buf: Buffer): number {
  if (buf.length < 1) throw new RangeError('codecs: empty event');
  return buf.readUInt8(0);
}

export interface EventsBudget {
  windowStartNs: bigint;
  sent: bigint;
}

export const { encode: encodeEventsBudget, decode: decodeEventsBudget } = structCodec<EventsBudget>(EVENTS_BUDGET);

// ---------------------------------------------------------------------------
// DNS (protocols/dns.bpf.h)

export interface DnsQueryKey {
  /** The client. */
  srcIdentity: number;
  /** The server. */
  dstIdentity: number;
  qtype: number;
  /** Reporter.* */
  reporter: number;
}

export const { encode: encodeDnsQueryKey, decode: decodeDnsQueryKey } = structCodec<DnsQueryKey>(DNS_QUERY_KEY);

export interface DnsResponseKey {
  srcIdentity: number;
  dstIdentity: number;
  qtype: number;
  /** The header's 4-bit RCODE. */
  rcode: number;
  reporter: number;
}

export const { encode: encodeDnsResponseKey, decode: decodeDnsResponseKey } = structCodec<DnsResponseKey>(DNS_RESPONSE_KEY);

export interface DnsResponseValue {
  responses: bigint;
  latencySumNs: bigint;
  /** Not cumulative: slot i counts latencies in (bound[i-1], bound[i]] of DNS_LATENCY_BOUNDS_SECONDS, the last slot above them all. */
  latencyBuckets: bigint[];
}

export const { encode: encodeDnsResponseValue, decode: decodeDnsResponseValue } = structCodec<DnsResponseValue>(DNS_RESPONSE_VALUE);

export interface DnsPendingKey {
  family: AddressFamily;
  clientAddr: Buffer;
  clientPort: number;
  id: number;
  protocol: number;
  reporter: number;
}

export const { encode: encodeDnsPendingKey, decode: decodeDnsPendingKey } = structCodec<DnsPendingKey>(DNS_PENDING_KEY);

/** A query awaiting its response. serverAddr has all 16 bytes: its family is the key's. */
export interface DnsPendingValue {
  /** CLOCK_MONOTONIC, like process.hrtime.bigint(). */
  queryNs: bigint;
  srcIdentity: number;
  dstIdentity: number;
  serverAddr: Buffer;
  ifindex: number;
  serverPort: number;
  qtype: number;
  qclass: number;
  qnameLen: number;
  flags: number;
  /** Wire format; the first qnameLen bytes are the name. */
  qname: Buffer;
}

export const { encode: encodeDnsPendingValue, decode: decodeDnsPendingValue } = structCodec<DnsPendingValue>(DNS_PENDING_VALUE);

/** One DNS exchange: from the kernel when a response matched its query, from the sweep when none came. */
export interface DnsEvent {
  type: number;
  family: AddressFamily;
  /** IPPROTO_UDP or IPPROTO_TCP. */
  protocol: number;
  /** Reporter.* */
  reporter: number;
  ifindex: number;
  /** CLOCK_MONOTONIC, like process.hrtime.bigint(). */
  queryNs: bigint;
  /** CLOCK_MONOTONIC; 0n when unanswered. */
  responseNs: bigint;
  /** The client. */
  srcIdentity: number;
  /** The server. */
  dstIdentity: number;
  clientAddr: Buffer;
  serverAddr: Buffer;
  clientPort: number;
  serverPort: number;
  id: number;
  qtype: number;
  qclass: number;
  answers: number;
  rcode: number;
  /** DnsFlag.* bits. */
  flags: number;
  qnameLen: number;
  /** Wire format; the first qnameLen bytes are the name (see dnsNameFromWire). */
  qname: Buffer;
}

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

export interface HttpRequestKey {
  /** The client. */
  srcIdentity: number;
  /** The server. */
  dstIdentity: number;
  method: number;
  reporter: number;
}

export const { encode: encodeHttpRequestKey, decode: decodeHttpRequestKey } = structCodec<HttpRequestKey>(HTTP_REQUEST_KEY);

export interface HttpResponseKey {
  srcIdentity: number;
  dstIdentity: number;
  status: number;
  method: number;
  reporter: number;
}

export const { encode: encodeHttpResponseKey, decode: decodeHttpResponseKey } = structCodec<HttpResponseKey>(HTTP_RESPONSE_KEY);

export interface HttpResponseValue {
  /** Responses, timed or not (method unknown: no request to time from). */
  count: bigint;
  durationNsSum: bigint;
  /** Timed responses per bucket, not cumulative; the last is +Inf. */
  buckets: bigint[];
}

export const { encode: encodeHttpResponseValue, decode: decodeHttpResponseValue } = structCodec<HttpResponseValue>(HTTP_RESPONSE_VALUE);

/** Key of http_connections; decoded for tests and debugging only. */
export interface HttpConnKey {
  family: AddressFamily;
  clientAddr: Buffer;
  serverAddr: Buffer;
  clientPort: number;
  serverPort: number;
  reporter: number;
}

export function decodeHttpConnKey(buf: Buffer, offset = 0): HttpConnKey {
  checkSize(HTTP_CONN_KEY, buf, offset);
  const family = buf.readUInt8(offset + off(HTTP_CONN_KEY, 'family'));
  return {
    family: family as AddressFamily,
    clientAddr: readAddress(buf, offset + off(HTTP_CONN_KEY, 'client_addr'), family),
    serverAddr: readAddress(buf, offset + off(HTTP_CONN_KEY, 'server_addr'), family),
    clientPort: readU16(buf, offset + off(HTTP_CONN_KEY, 'client_port')),
    serverPort: readU16(buf, offset + off(HTTP_CONN_KEY, 'server_port')),
    reporter: buf.readUInt8(offset + off(HTTP_CONN_KEY, 'reporter')),
  };
}

/** Value of http_connections: the outstanding requests, oldest at `head`. */
export interface HttpConn {
  requestNs: bigint[];
  requestSeq: number;
  responseSeq: number;
  methods: number[];
  head: number;
  pending: number;
  untracked: number;
  headDetail: number;
  path: string;
  pathTruncated: number;
  hasTrace: number;
}

export function decodeHttpConn(buf: Buffer, offset = 0): HttpConn {
  checkSize(HTTP_CONN, buf, offset);
  const at = (field: string): number => offset + off(HTTP_CONN, field);
  const pathLen = buf.readUInt8(at('path_len'));
  return {
    requestNs: Array.from({ length: HTTP_PIPELINE_DEPTH }, (_, i) => readU64(buf, at('request_ns') + i * 8)),
    requestSeq: readU32(buf, at('request_seq')),
    responseSeq: readU32(buf, at('response_seq')),
    methods: [...buf.subarray(at('methods'), at('methods') + HTTP_PIPELINE_DEPTH)],
    head: buf.readUInt8(at('head')),
    pending: buf.readUInt8(at('pending')),
    untracked: buf.readUInt8(at('untracked')),
    headDetail: buf.readUInt8(at('head_detail')),
    path: buf.subarray(at('path'), at('path') + Math.min(pathLen, HTTP_PATH_MAX)).toString('latin1'),
    pathTruncated: buf.readUInt8(at('path_truncated')),
    hasTrace: buf.readUInt8(at('has_trace')),
  };
}

/** One completed HTTP exchange. Source is the client, destination the server. */
export interface HttpEvent {
  type: number;
  family: AddressFamily;
  method: number;
  reporter: number;
  /** Where the response was seen. */
  ifindex: number;
  /** The response: CLOCK_MONOTONIC, like process.hrtime.bigint(). */
  timestampNs: bigint;
  durationNs: bigint;
  srcIdentity: number;
  dstIdentity: number;
  saddr: Buffer;
  daddr: Buffer;
  sport: number;
  dport: number;
  status: number;
  /** "1.0" or "1.1", from the status line. */
  protocolVersion: string;
  /** The request path without its query, as far as kept; undefined when not kept (a pipelined request). */
  path: string | undefined;
  /** The path was longer than HTTP_PATH_MAX bytes and is cut there. */
  pathTruncated: boolean;
  /** From the request's traceparent header, lower-case hex; undefined without one. */
  traceId: string | undefined;
  parentSpanId: string | undefined;
}

export function decodeHttpEvent(buf: Buffer, offset = 0): HttpEvent {
  checkSize(HTTP_EVENT, buf, offset);
  // read for every HTTP event: fields by constant name, not through off()'s checked lookup in a closure
  const f = HTTP_EVENT.fields;
  const family = buf.readUInt8(offset + f.family!.offset);
  const pathKnown = buf.readUInt8(offset + f.path_known!.offset) !== 0;
  const pathLen = Math.min(buf.readUInt8(offset + f.path_len!.offset), HTTP_PATH_MAX);
  let traceId: string | undefined;
  let parentSpanId: string | undefined;
  if (buf.readUInt8(offset + f.has_trace!.offset) !== 0) {
    traceId = buf.toString('hex', offset + f.trace_id!.offset, offset + f.trace_id!.offset + f.trace_id!.size);
    parentSpanId = buf.toString('hex', offset + f.parent_span_id!.offset, offset + f.parent_span_id!.offset + f.parent_span_id!.size);
    // all-zero ids are invalid (W3C trace context): such a header joins no trace
    if (!/[^0]/.test(traceId) || !/[^0]/.test(parentSpanId)) traceId = parentSpanId = undefined;
  }
  return {
    type: buf.readUInt8(offset + f.type!.offset),
    family: family as AddressFamily,
    method: buf.readUInt8(offset + f.method!.offset),
    reporter: buf.readUInt8(offset + f.reporter!.offset),
    ifindex: readU32(buf, offset + f.ifindex!.offset),
    timestampNs: readU64(buf, offset + f.timestamp_ns!.offset),
    durationNs: readU64(buf, offset + f.duration_ns!.offset),
    srcIdentity: readU32(buf, offset + f.src_identity!.offset),
    dstIdentity: readU32(buf, offset + f.dst_identity!.offset),
    saddr: readAddress(buf, offset + f.saddr!.offset, family),
    daddr: readAddress(buf, offset + f.daddr!.offset, family),
    sport: readU16(buf, offset + f.sport!.offset),
    dport: readU16(buf, offset + f.dport!.offset),
    status: readU16(buf, offset + f.status!.offset),
    protocolVersion: `1.${buf.readUInt8(offset + f.version_minor!.offset)}`,
    // bytes as they came: latin1 keeps each one a character, whatever the encoding
    path: pathKnown ? buf.toString('latin1', offset + f.path!.offset, offset + f.path!.offset + pathLen) : undefined,
    pathTruncated: pathKnown && buf.readUInt8(offset + f.path_truncated!.offset) !== 0,
    traceId,
    parentSpanId,
  };
}
