/**
 * Byte layouts of the structs in bpf/flowlens.h and the constants that go with
 * them. test/bpf/codecs.test.ts checks every layout against the BTF of the
 * built object and every constant against the header, so a change on one side
 * fails the tests until the other side follows.
 *
 * Conventions:
 * - Multi-byte integers are host byte order, as the kernel writes them.
 * - __u64 values decode to bigint (counters and nanosecond clocks exceed 2^53).
 * - Addresses are Buffers in network byte order: 4 bytes for IPv4, 16 for
 *   IPv6 (the same shape as Address in src/identity/cidr.ts). On the wire
 *   every address field is 16 bytes; IPv4 uses the first four, the rest zero.
 * - `_pad` fields encode as zero and are not part of the decoded objects.
 */
import { endianness } from 'node:os';

// ---------------------------------------------------------------------------
// Constants (bpf/flowlens.h)

export const Identity = {
  UNKNOWN: 0,
  HOST: 1,
  WORLD: 2,
  UNMANAGED: 3,
  HEALTH: 4,
  REMOTE_NODE: 6,
  KUBE_APISERVER: 7,
} as const;

export const Family = { IPV4: 4, IPV6: 6 } as const;
export type AddressFamily = 4 | 6;

export const Direction = { INGRESS: 1, EGRESS: 2 } as const;
export const DIRECTION_NAMES: Readonly<Record<number, 'ingress' | 'egress'>> = {
  [Direction.INGRESS]: 'ingress',
  [Direction.EGRESS]: 'egress',
};

export const Verdict = { FORWARDED: 1, DROPPED: 2 } as const;
export const VERDICT_NAMES: Readonly<Record<number, 'forwarded' | 'dropped'>> = {
  [Verdict.FORWARDED]: 'forwarded',
  [Verdict.DROPPED]: 'dropped',
};

export const EventType = { FLOW: 1, DROP: 2, TCP_OUTCOME: 3 } as const;

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
export const MAP_UPDATE_ERROR_MAPS = ['flow_traffic', 'flow_starts', 'flow_conntrack', 'tcp_outcomes'] as const;
export const MAP_IDS = MAP_UPDATE_ERROR_MAPS.length;

/** Index = FLOWLENS_DROP_MAP_* = slot of drop.bpf.c's drop_map_errors array. */
export const DROP_MAP_ERROR_MAPS = ['drops', 'drop_flow_starts'] as const;
export const DROP_MAP_IDS = DROP_MAP_ERROR_MAPS.length;

/** FLOWLENS_TCP_OUTCOME_*: how a TCP connection attempt (SYN without ACK) ended. */
export const TcpOutcome = { ESTABLISHED: 1, REFUSED: 2, UNANSWERED: 3 } as const;
export const TCP_OUTCOME_NAMES: Readonly<Record<number, 'established' | 'refused' | 'unanswered'>> = {
  [TcpOutcome.ESTABLISHED]: 'established',
  [TcpOutcome.REFUSED]: 'refused',
  [TcpOutcome.UNANSWERED]: 'unanswered',
};

/** Name of an index in one of the arrays above; out of range gives `unknown_<n>` rather than throwing. */
export function nameAt(names: readonly string[], index: number): string {
  return names[index] ?? `unknown_${index}`;
}

// ---------------------------------------------------------------------------
// Layouts

export interface FieldLayout {
  offset: number;
  size: number;
}

export interface StructLayout {
  name: string;
  size: number;
  fields: Readonly<Record<string, FieldLayout>>;
}

function layout(name: string, size: number, fields: Record<string, [offset: number, size: number]>): StructLayout {
  const out: Record<string, FieldLayout> = {};
  for (const [field, [offset, fieldSize]] of Object.entries(fields)) out[field] = { offset, size: fieldSize };
  return { name, size, fields: out };
}

export const IPCACHE_KEY = layout('ipcache_key', 24, {
  prefixlen: [0, 4],
  family: [4, 4],
  addr: [8, 16],
});

export const IPCACHE_VALUE = layout('ipcache_value', 8, {
  identity: [0, 4],
  flags: [4, 4],
});

export const FLOW_KEY = layout('flow_key', 16, {
  src_identity: [0, 4],
  dst_identity: [4, 4],
  dst_port: [8, 2],
  protocol: [10, 1],
  direction: [11, 1],
  verdict: [12, 1],
  _pad: [13, 3],
});

/** Number of TCP flag counters in flow_traffic_value, one per FLOWLENS_TCP_* bit. */
export const TCP_FLAG_COUNT = TCP_FLAG_NAMES.length;

export const FLOW_TRAFFIC_VALUE = layout('flow_traffic_value', 80, {
  packets: [0, 8],
  bytes: [8, 8],
  tcp_flags: [16, 8 * TCP_FLAG_COUNT],
});

export const FLOW_TUPLE = layout('flow_tuple', 40, {
  saddr: [0, 16],
  daddr: [16, 16],
  sport: [32, 2],
  dport: [34, 2],
  protocol: [36, 1],
  family: [37, 1],
  direction: [38, 1],
  _pad: [39, 1],
});

export const FLOW_EVENT = layout('flow_event', 64, {
  type: [0, 1],
  family: [1, 1],
  protocol: [2, 1],
  direction: [3, 1],
  ifindex: [4, 4],
  timestamp_ns: [8, 8],
  src_identity: [16, 4],
  dst_identity: [20, 4],
  saddr: [24, 16],
  daddr: [40, 16],
  sport: [56, 2],
  dport: [58, 2],
  tcp_flags: [60, 1],
  verdict: [61, 1],
  _pad: [62, 2],
});

export const EVENTS_BUDGET = layout('events_budget', 16, {
  window_start_ns: [0, 8],
  sent: [8, 8],
});

export const DROP_KEY = layout('drop_key', 16, {
  reason: [0, 4],
  src_identity: [4, 4],
  dst_identity: [8, 4],
  dst_port: [12, 2],
  protocol: [14, 1],
  direction: [15, 1],
});

export const DROP_EVENT = layout('drop_event', 64, {
  type: [0, 1],
  family: [1, 1],
  protocol: [2, 1],
  direction: [3, 1],
  ifindex: [4, 4],
  timestamp_ns: [8, 8],
  reason: [16, 4],
  src_identity: [20, 4],
  dst_identity: [24, 4],
  sport: [28, 2],
  dport: [30, 2],
  saddr: [32, 16],
  daddr: [48, 16],
});

export const TCP_PENDING_VALUE = layout('tcp_pending_value', 24, {
  syn_ns: [0, 8],
  src_identity: [8, 4],
  dst_identity: [12, 4],
  dst_port: [16, 2],
  _pad: [18, 6],
});

export const TCP_OUTCOME_KEY = layout('tcp_outcome_key', 12, {
  src_identity: [0, 4],
  dst_identity: [4, 4],
  dst_port: [8, 2],
  outcome: [10, 1],
  direction: [11, 1],
});

export const TCP_OUTCOME_EVENT = layout('tcp_outcome_event', 72, {
  type: [0, 1],
  family: [1, 1],
  protocol: [2, 1],
  direction: [3, 1],
  ifindex: [4, 4],
  timestamp_ns: [8, 8],
  syn_timestamp_ns: [16, 8],
  src_identity: [24, 4],
  dst_identity: [28, 4],
  saddr: [32, 16],
  daddr: [48, 16],
  sport: [64, 2],
  dport: [66, 2],
  outcome: [68, 1],
  _pad: [69, 3],
});

export const STRUCT_LAYOUTS: readonly StructLayout[] = [
  IPCACHE_KEY,
  IPCACHE_VALUE,
  FLOW_KEY,
  FLOW_TRAFFIC_VALUE,
  FLOW_TUPLE,
  FLOW_EVENT,
  EVENTS_BUDGET,
  DROP_KEY,
  DROP_EVENT,
  TCP_PENDING_VALUE,
  TCP_OUTCOME_KEY,
  TCP_OUTCOME_EVENT,
];

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

/** A u64 map value (flow_starts, parse_packets, ...). */
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

export function encodeIpcacheValue(value: IpcacheValue): Buffer {
  const buf = Buffer.alloc(IPCACHE_VALUE.size);
  writeU32(buf, off(IPCACHE_VALUE, 'identity'), value.identity);
  writeU32(buf, off(IPCACHE_VALUE, 'flags'), value.flags);
  return buf;
}

export function decodeIpcacheValue(buf: Buffer, offset = 0): IpcacheValue {
  checkSize(IPCACHE_VALUE, buf, offset);
  return {
    identity: readU32(buf, offset + off(IPCACHE_VALUE, 'identity')),
    flags: readU32(buf, offset + off(IPCACHE_VALUE, 'flags')),
  };
}

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

export function encodeFlowKey(key: FlowKey): Buffer {
  const buf = Buffer.alloc(FLOW_KEY.size);
  writeU32(buf, off(FLOW_KEY, 'src_identity'), key.srcIdentity);
  writeU32(buf, off(FLOW_KEY, 'dst_identity'), key.dstIdentity);
  writeU16(buf, off(FLOW_KEY, 'dst_port'), key.dstPort);
  buf.writeUInt8(key.protocol, off(FLOW_KEY, 'protocol'));
  buf.writeUInt8(key.direction, off(FLOW_KEY, 'direction'));
  buf.writeUInt8(key.verdict, off(FLOW_KEY, 'verdict'));
  return buf;
}

export function decodeFlowKey(buf: Buffer, offset = 0): FlowKey {
  checkSize(FLOW_KEY, buf, offset);
  return {
    srcIdentity: readU32(buf, offset + off(FLOW_KEY, 'src_identity')),
    dstIdentity: readU32(buf, offset + off(FLOW_KEY, 'dst_identity')),
    dstPort: readU16(buf, offset + off(FLOW_KEY, 'dst_port')),
    protocol: buf.readUInt8(offset + off(FLOW_KEY, 'protocol')),
    direction: buf.readUInt8(offset + off(FLOW_KEY, 'direction')),
    verdict: buf.readUInt8(offset + off(FLOW_KEY, 'verdict')),
  };
}

export interface FlowTrafficValue {
  packets: bigint;
  bytes: bigint;
  /** TCP packets with each flag set, indexed by FLOWLENS_TCP_* bit (TCP_FLAG_NAMES); all zero for other protocols. */
  tcpFlags: bigint[];
}

export function encodeFlowTrafficValue(value: FlowTrafficValue): Buffer {
  if (value.tcpFlags.length !== TCP_FLAG_COUNT) {
    throw new RangeError(`codecs: tcpFlags needs ${TCP_FLAG_COUNT} counters, got ${value.tcpFlags.length}`);
  }
  const buf = Buffer.alloc(FLOW_TRAFFIC_VALUE.size);
  writeU64(buf, off(FLOW_TRAFFIC_VALUE, 'packets'), value.packets);
  writeU64(buf, off(FLOW_TRAFFIC_VALUE, 'bytes'), value.bytes);
  const flags = off(FLOW_TRAFFIC_VALUE, 'tcp_flags');
  value.tcpFlags.forEach((count, bit) => writeU64(buf, flags + bit * 8, count));
  return buf;
}

export function decodeFlowTrafficValue(buf: Buffer, offset = 0): FlowTrafficValue {
  checkSize(FLOW_TRAFFIC_VALUE, buf, offset);
  const flags = offset + off(FLOW_TRAFFIC_VALUE, 'tcp_flags');
  return {
    packets: readU64(buf, offset + off(FLOW_TRAFFIC_VALUE, 'packets')),
    bytes: readU64(buf, offset + off(FLOW_TRAFFIC_VALUE, 'bytes')),
    tcpFlags: Array.from({ length: TCP_FLAG_COUNT }, (_, bit) => readU64(buf, flags + bit * 8)),
  };
}

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

export function encodeFlowTuple(tuple: FlowTuple): Buffer {
  const buf = Buffer.alloc(FLOW_TUPLE.size);
  writeAddress(buf, off(FLOW_TUPLE, 'saddr'), tuple.family, tuple.saddr);
  writeAddress(buf, off(FLOW_TUPLE, 'daddr'), tuple.family, tuple.daddr);
  writeU16(buf, off(FLOW_TUPLE, 'sport'), tuple.sport);
  writeU16(buf, off(FLOW_TUPLE, 'dport'), tuple.dport);
  buf.writeUInt8(tuple.protocol, off(FLOW_TUPLE, 'protocol'));
  buf.writeUInt8(tuple.family, off(FLOW_TUPLE, 'family'));
  buf.writeUInt8(tuple.direction, off(FLOW_TUPLE, 'direction'));
  return buf;
}

export function decodeFlowTuple(buf: Buffer, offset = 0): FlowTuple {
  checkSize(FLOW_TUPLE, buf, offset);
  const family = buf.readUInt8(offset + off(FLOW_TUPLE, 'family'));
  return {
    family: family as AddressFamily,
    saddr: readAddress(buf, offset + off(FLOW_TUPLE, 'saddr'), family),
    daddr: readAddress(buf, offset + off(FLOW_TUPLE, 'daddr'), family),
    sport: readU16(buf, offset + off(FLOW_TUPLE, 'sport')),
    dport: readU16(buf, offset + off(FLOW_TUPLE, 'dport')),
    protocol: buf.readUInt8(offset + off(FLOW_TUPLE, 'protocol')),
    direction: buf.readUInt8(offset + off(FLOW_TUPLE, 'direction')),
  };
}

// ---------------------------------------------------------------------------
// TCP connection attempts (tcp_pending, tcp_outcomes)

/** A SYN awaiting its answer; tcp_pending's key is the SYN's FlowTuple. */
export interface TcpPendingValue {
  /** bpf_ktime_get_ns() of the latest SYN: CLOCK_MONOTONIC, like process.hrtime.bigint(). */
  synNs: bigint;
  srcIdentity: number;
  dstIdentity: number;
  dstPort: number;
}

export function encodeTcpPendingValue(value: TcpPendingValue): Buffer {
  const buf = Buffer.alloc(TCP_PENDING_VALUE.size);
  writeU64(buf, off(TCP_PENDING_VALUE, 'syn_ns'), value.synNs);
  writeU32(buf, off(TCP_PENDING_VALUE, 'src_identity'), value.srcIdentity);
  writeU32(buf, off(TCP_PENDING_VALUE, 'dst_identity'), value.dstIdentity);
  writeU16(buf, off(TCP_PENDING_VALUE, 'dst_port'), value.dstPort);
  return buf;
}

export function decodeTcpPendingValue(buf: Buffer, offset = 0): TcpPendingValue {
  checkSize(TCP_PENDING_VALUE, buf, offset);
  return {
    synNs: readU64(buf, offset + off(TCP_PENDING_VALUE, 'syn_ns')),
    srcIdentity: readU32(buf, offset + off(TCP_PENDING_VALUE, 'src_identity')),
    dstIdentity: readU32(buf, offset + off(TCP_PENDING_VALUE, 'dst_identity')),
    dstPort: readU16(buf, offset + off(TCP_PENDING_VALUE, 'dst_port')),
  };
}

export interface TcpOutcomeKey {
  srcIdentity: number;
  dstIdentity: number;
  dstPort: number;
  /** TcpOutcome.* */
  outcome: number;
  /** The SYN's direction. */
  direction: number;
}

export function encodeTcpOutcomeKey(key: TcpOutcomeKey): Buffer {
  const buf = Buffer.alloc(TCP_OUTCOME_KEY.size);
  writeU32(buf, off(TCP_OUTCOME_KEY, 'src_identity'), key.srcIdentity);
  writeU32(buf, off(TCP_OUTCOME_KEY, 'dst_identity'), key.dstIdentity);
  writeU16(buf, off(TCP_OUTCOME_KEY, 'dst_port'), key.dstPort);
  buf.writeUInt8(key.outcome, off(TCP_OUTCOME_KEY, 'outcome'));
  buf.writeUInt8(key.direction, off(TCP_OUTCOME_KEY, 'direction'));
  return buf;
}

export function decodeTcpOutcomeKey(buf: Buffer, offset = 0): TcpOutcomeKey {
  checkSize(TCP_OUTCOME_KEY, buf, offset);
  return {
    srcIdentity: readU32(buf, offset + off(TCP_OUTCOME_KEY, 'src_identity')),
    dstIdentity: readU32(buf, offset + off(TCP_OUTCOME_KEY, 'dst_identity')),
    dstPort: readU16(buf, offset + off(TCP_OUTCOME_KEY, 'dst_port')),
    outcome: buf.readUInt8(offset + off(TCP_OUTCOME_KEY, 'outcome')),
    direction: buf.readUInt8(offset + off(TCP_OUTCOME_KEY, 'direction')),
  };
}

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

export function encodeFlowEvent(event: FlowEvent): Buffer {
  const buf = Buffer.alloc(FLOW_EVENT.size);
  buf.writeUInt8(event.type, off(FLOW_EVENT, 'type'));
  buf.writeUInt8(event.family, off(FLOW_EVENT, 'family'));
  buf.writeUInt8(event.protocol, off(FLOW_EVENT, 'protocol'));
  buf.writeUInt8(event.direction, off(FLOW_EVENT, 'direction'));
  writeU32(buf, off(FLOW_EVENT, 'ifindex'), event.ifindex);
  writeU64(buf, off(FLOW_EVENT, 'timestamp_ns'), event.timestampNs);
  writeU32(buf, off(FLOW_EVENT, 'src_identity'), event.srcIdentity);
  writeU32(buf, off(FLOW_EVENT, 'dst_identity'), event.dstIdentity);
  writeAddress(buf, off(FLOW_EVENT, 'saddr'), event.family, event.saddr);
  writeAddress(buf, off(FLOW_EVENT, 'daddr'), event.family, event.daddr);
  writeU16(buf, off(FLOW_EVENT, 'sport'), event.sport);
  writeU16(buf, off(FLOW_EVENT, 'dport'), event.dport);
  buf.writeUInt8(event.tcpFlags, off(FLOW_EVENT, 'tcp_flags'));
  buf.writeUInt8(event.verdict, off(FLOW_EVENT, 'verdict'));
  return buf;
}

export function decodeFlowEvent(buf: Buffer, offset = 0): FlowEvent {
  checkSize(FLOW_EVENT, buf, offset);
  const at = (field: string): number => offset + off(FLOW_EVENT, field);
  const family = buf.readUInt8(at('family'));
  return {
    type: buf.readUInt8(at('type')),
    family: family as AddressFamily,
    protocol: buf.readUInt8(at('protocol')),
    direction: buf.readUInt8(at('direction')),
    ifindex: readU32(buf, at('ifindex')),
    timestampNs: readU64(buf, at('timestamp_ns')),
    srcIdentity: readU32(buf, at('src_identity')),
    dstIdentity: readU32(buf, at('dst_identity')),
    saddr: readAddress(buf, at('saddr'), family),
    daddr: readAddress(buf, at('daddr'), family),
    sport: readU16(buf, at('sport')),
    dport: readU16(buf, at('dport')),
    tcpFlags: buf.readUInt8(at('tcp_flags')),
    verdict: buf.readUInt8(at('verdict')),
  };
}

/**
 * How one TCP connection attempt ended. Addresses, ports and direction are the
 * SYN's; the identities are those its tcp_outcomes count is kept under.
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

export function encodeTcpOutcomeEvent(event: TcpOutcomeEvent): Buffer {
  const buf = Buffer.alloc(TCP_OUTCOME_EVENT.size);
  const at = (field: string): number => off(TCP_OUTCOME_EVENT, field);
  buf.writeUInt8(event.type, at('type'));
  buf.writeUInt8(event.family, at('family'));
  buf.writeUInt8(event.protocol, at('protocol'));
  buf.writeUInt8(event.direction, at('direction'));
  writeU32(buf, at('ifindex'), event.ifindex);
  writeU64(buf, at('timestamp_ns'), event.timestampNs);
  writeU64(buf, at('syn_timestamp_ns'), event.synTimestampNs);
  writeU32(buf, at('src_identity'), event.srcIdentity);
  writeU32(buf, at('dst_identity'), event.dstIdentity);
  writeAddress(buf, at('saddr'), event.family, event.saddr);
  writeAddress(buf, at('daddr'), event.family, event.daddr);
  writeU16(buf, at('sport'), event.sport);
  writeU16(buf, at('dport'), event.dport);
  buf.writeUInt8(event.outcome, at('outcome'));
  return buf;
}

export function decodeTcpOutcomeEvent(buf: Buffer, offset = 0): TcpOutcomeEvent {
  checkSize(TCP_OUTCOME_EVENT, buf, offset);
  const at = (field: string): number => offset + off(TCP_OUTCOME_EVENT, field);
  const family = buf.readUInt8(at('family'));
  return {
    type: buf.readUInt8(at('type')),
    family: family as AddressFamily,
    protocol: buf.readUInt8(at('protocol')),
    direction: buf.readUInt8(at('direction')),
    ifindex: readU32(buf, at('ifindex')),
    timestampNs: readU64(buf, at('timestamp_ns')),
    synTimestampNs: readU64(buf, at('syn_timestamp_ns')),
    srcIdentity: readU32(buf, at('src_identity')),
    dstIdentity: readU32(buf, at('dst_identity')),
    saddr: readAddress(buf, at('saddr'), family),
    daddr: readAddress(buf, at('daddr'), family),
    sport: readU16(buf, at('sport')),
    dport: readU16(buf, at('dport')),
    outcome: buf.readUInt8(at('outcome')),
  };
}

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

export function encodeDropKey(key: DropKey): Buffer {
  const buf = Buffer.alloc(DROP_KEY.size);
  writeU32(buf, off(DROP_KEY, 'reason'), key.reason);
  writeU32(buf, off(DROP_KEY, 'src_identity'), key.srcIdentity);
  writeU32(buf, off(DROP_KEY, 'dst_identity'), key.dstIdentity);
  writeU16(buf, off(DROP_KEY, 'dst_port'), key.dstPort);
  buf.writeUInt8(key.protocol, off(DROP_KEY, 'protocol'));
  buf.writeUInt8(key.direction, off(DROP_KEY, 'direction'));
  return buf;
}

export function decodeDropKey(buf: Buffer, offset = 0): DropKey {
  checkSize(DROP_KEY, buf, offset);
  return {
    reason: readU32(buf, offset + off(DROP_KEY, 'reason')),
    srcIdentity: readU32(buf, offset + off(DROP_KEY, 'src_identity')),
    dstIdentity: readU32(buf, offset + off(DROP_KEY, 'dst_identity')),
    dstPort: readU16(buf, offset + off(DROP_KEY, 'dst_port')),
    protocol: buf.readUInt8(offset + off(DROP_KEY, 'protocol')),
    direction: buf.readUInt8(offset + off(DROP_KEY, 'direction')),
  };
}

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

export function encodeDropEvent(event: DropEvent): Buffer {
  const buf = Buffer.alloc(DROP_EVENT.size);
  buf.writeUInt8(event.type, off(DROP_EVENT, 'type'));
  buf.writeUInt8(event.family, off(DROP_EVENT, 'family'));
  buf.writeUInt8(event.protocol, off(DROP_EVENT, 'protocol'));
  buf.writeUInt8(event.direction, off(DROP_EVENT, 'direction'));
  writeU32(buf, off(DROP_EVENT, 'ifindex'), event.ifindex);
  writeU64(buf, off(DROP_EVENT, 'timestamp_ns'), event.timestampNs);
  writeU32(buf, off(DROP_EVENT, 'reason'), event.reason);
  writeU32(buf, off(DROP_EVENT, 'src_identity'), event.srcIdentity);
  writeU32(buf, off(DROP_EVENT, 'dst_identity'), event.dstIdentity);
  writeU16(buf, off(DROP_EVENT, 'sport'), event.sport);
  writeU16(buf, off(DROP_EVENT, 'dport'), event.dport);
  if (event.family !== 0) {
    writeAddress(buf, off(DROP_EVENT, 'saddr'), event.family, event.saddr);
    writeAddress(buf, off(DROP_EVENT, 'daddr'), event.family, event.daddr);
  }
  return buf;
}

export function decodeDropEvent(buf: Buffer, offset = 0): DropEvent {
  checkSize(DROP_EVENT, buf, offset);
  const at = (field: string): number => offset + off(DROP_EVENT, field);
  const family = buf.readUInt8(at('family'));
  return {
    type: buf.readUInt8(at('type')),
    family: family as AddressFamily | 0,
    protocol: buf.readUInt8(at('protocol')),
    direction: buf.readUInt8(at('direction')),
    ifindex: readU32(buf, at('ifindex')),
    timestampNs: readU64(buf, at('timestamp_ns')),
    reason: readU32(buf, at('reason')),
    srcIdentity: readU32(buf, at('src_identity')),
    dstIdentity: readU32(buf, at('dst_identity')),
    saddr: readAddress(buf, at('saddr'), family),
    daddr: readAddress(buf, at('daddr'), family),
    sport: readU16(buf, at('sport')),
    dport: readU16(buf, at('dport')),
  };
}

/** Type byte of a ring-buffer record, to pick its decoder. */
export function eventType(buf: Buffer): number {
  if (buf.length < 1) throw new RangeError('codecs: empty event');
  return buf.readUInt8(0);
}

export interface EventsBudget {
  windowStartNs: bigint;
  sent: bigint;
}

export function encodeEventsBudget(value: EventsBudget): Buffer {
  const buf = Buffer.alloc(EVENTS_BUDGET.size);
  writeU64(buf, off(EVENTS_BUDGET, 'window_start_ns'), value.windowStartNs);
  writeU64(buf, off(EVENTS_BUDGET, 'sent'), value.sent);
  return buf;
}

export function decodeEventsBudget(buf: Buffer, offset = 0): EventsBudget {
  checkSize(EVENTS_BUDGET, buf, offset);
  return {
    windowStartNs: readU64(buf, offset + off(EVENTS_BUDGET, 'window_start_ns')),
    sent: readU64(buf, offset + off(EVENTS_BUDGET, 'sent')),
  };
}
