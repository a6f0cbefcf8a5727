/**
 * Builders for crafted frames fed to BPF_PROG_TEST_RUN and raw sockets.
 * Lengths are always right (IPv4 total length, IPv6 payload length, UDP
 * length, extension header lengths); the IPv4 header checksum is computed,
 * transport checksums are left zero (the programs under test do not check them).
 *
 * Transport builders return { protocol, bytes } so the IP builders can fill
 * the protocol / next-header field themselves.
 */

export const ETH_P_IP = 0x0800;
export const ETH_P_IPV6 = 0x86dd;
export const ETH_P_ARP = 0x0806;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_8021AD = 0x88a8;

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_GRE = 47;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_SCTP = 132;

export const ETH_HLEN = 14;
export const VLAN_HLEN = 4;
export const IPV4_HLEN = 20;
export const IPV6_HLEN = 40;

export interface L4 {
  protocol: number;
  bytes: Buffer;
}

// ---------------------------------------------------------------------------
// addresses

export function ip4(text: string): Buffer {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`bad IPv4 address ${text}`);
  }
  return Buffer.from(parts);
}

export function ip6(text: string): Buffer {
  const [head, tail, extra] = text.split('::');
  if (extra !== undefined) throw new Error(`bad IPv6 address ${text}`);
  const groups = (s: string | undefined): number[] => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const left = groups(head);
  const right = groups(tail);
  const fill = tail === undefined ? 0 : 8 - left.length - right.length;
  const all = [...left, ...new Array<number>(fill).fill(0), ...right];
  if (all.length !== 8 || all.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) {
    throw new Error(`bad IPv6 address ${text}`);
  }
  const buf = Buffer.alloc(16);
  all.forEach((g, i) => buf.writeUInt16BE(g, i * 2));
  return buf;
}

// ---------------------------------------------------------------------------
// layer 2

export interface VlanTag {
  /** Tag protocol identifier: 0x8100 (802.1Q, default) or 0x88a8 (802.1ad). */
  tpid?: number;
  vid: number;
}

const SRC_MAC = Buffer.from([0x02, 0, 0, 0, 0, 0x01]);
const DST_MAC = Buffer.from([0x02, 0, 0, 0, 0, 0x02]);

/** Ethernet frame; vlans are listed outermost first. */
export function ethernet(etherType: number, payload: Buffer, vlans: VlanTag[] = []): Buffer {
  const parts: Buffer[] = [DST_MAC, SRC_MAC];
  for (const tag of vlans) {
    const b = Buffer.alloc(2 + 2);
    b.writeUInt16BE(tag.tpid ?? ETH_P_8021Q, 0);
    b.writeUInt16BE(tag.vid & 0x0fff, 2);
    parts.push(b);
  }
  const type = Buffer.alloc(2);
  type.writeUInt16BE(etherType, 0);
  // Each tag's TPID sits where the EtherType would be, so the real type follows the last tag.
  return Buffer.concat([...parts, type, payload]);
}

// ---------------------------------------------------------------------------
// IPv4

export interface Ipv4Options {
  src: Buffer;
  dst: Buffer;
  /** IP options, padded here to a multiple of 4 bytes. */
  options?: Buffer;
  /** Fragment offset in bytes (a multiple of 8). */
  fragmentOffset?: number;
  moreFragments?: boolean;
  ttl?: number;
  id?: number;
  /** Overrides the protocol field (e.g. for a non-first fragment's raw payload). */
  protocol?: number;
  /** Overrides version/IHL byte, to build malformed headers. */
  versionIhl?: number;
}

function checksum(buf: Buffer): number {
  let sum = 0;
  for (let i = 0; i < buf.length; i += 2) sum += (buf[i]! << 8) | (buf[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function ipv4(l4: L4, opts: Ipv4Options): Buffer {
  const options = opts.options ?? Buffer.alloc(0);
  const padded = Buffer.concat([options, Buffer.alloc((4 - (options.length % 4)) % 4)]);
  const hlen = IPV4_HLEN + padded.length;
  const h = Buffer.alloc(hlen);
  h[0] = opts.versionIhl ?? 0x40 | (hlen / 4);
  h.writeUInt16BE(hlen + l4.bytes.length, 2);
  h.writeUInt16BE(opts.id ?? 1, 4);
  const fragOffset = opts.fragmentOffset ?? 0;
  if (fragOffset % 8 !== 0) throw new Error('fragment offset must be a multiple of 8');
  h.writeUInt16BE((opts.moreFragments ? 0x2000 : 0) | (fragOffset / 8), 6);
  h[8] = opts.ttl ?? 64;
  h[9] = opts.protocol ?? l4.protocol;
  opts.src.copy(h, 12);
  opts.dst.copy(h, 16);
  padded.copy(h, IPV4_HLEN);
  h.writeUInt16BE(checksum(h), 10);
  return Buffer.concat([h, l4.bytes]);
}

// ---------------------------------------------------------------------------
// IPv6

export interface Ipv6Ext {
  type: number;
  /** Builds the header given the next header value that follows it. */
  build(next: number): Buffer;
}

function optionsExt(type: number, lengthUnits: number): Ipv6Ext {
  return {
    type,
    build(next) {
      const len = (lengthUnits + 1) * 8;
      const b = Buffer.alloc(len);
      b[0] = next;
      b[1] = lengthUnits;
      // one PadN option covering the rest, as a real stack would write
      b[2] = 1;
      b[3] = len - 4;
      return b;
    },
  };
}

/** Hop-by-hop options; lengthUnits counts 8-byte units beyond the first. */
export function hopByHop(lengthUnits = 0): Ipv6Ext {
  return optionsExt(0, lengthUnits);
}

export function destinationOptions(lengthUnits = 0): Ipv6Ext {
  return optionsExt(60, lengthUnits);
}

/** Routing header (type 4, segments left 0) with lengthUnits 8-byte units of data. */
export function routing(lengthUnits = 2): Ipv6Ext {
  return {
    type: 43,
    build(next) {
      const b = Buffer.alloc((lengthUnits + 1) * 8);
      b[0] = next;
      b[1] = lengthUnits;
      b[2] = 4;
      return b;
    },
  };
}

/** Fragment header; offset in bytes (a multiple of 8). */
export function fragment(offset: number, moreFragments: boolean, id = 0x1234): Ipv6Ext {
  if (offset % 8 !== 0) throw new Error('fragment offset must be a multiple of 8');
  return {
    type: 44,
    build(next) {
      const b = Buffer.alloc(8);
      b[0] = next;
      b.writeUInt16BE(offset | (moreFragments ? 1 : 0), 2);
      b.writeUInt32BE(id, 4);
      return b;
    },
  };
}

/** Authentication header with a 4-byte ICV: 16 bytes, length field (16 / 4) - 2. */
export function authentication(): Ipv6Ext {
  return {
    type: 51,
    build(next) {
      const b = Buffer.alloc(16);
      b[0] = next;
      b[1] = 16 / 4 - 2;
      b.writeUInt32BE(0x100, 4); // SPI
      b.writeUInt32BE(1, 8); // sequence
      return b;
    },
  };
}

export interface Ipv6Options {
  src: Buffer;
  dst: Buffer;
  extensions?: Ipv6Ext[];
  hopLimit?: number;
  /** Overrides the next header after the last extension (e.g. for a non-first fragment). */
  protocol?: number;
  /** Overrides the version nibble, to build malformed headers. */
  version?: number;
}

export function ipv6(l4: L4, opts: Ipv6Options): Buffer {
  const exts = opts.extensions ?? [];
  const headers: Buffer[] = [];
  exts.forEach((ext, i) => headers.push(ext.build(exts[i + 1]?.type ?? opts.protocol ?? l4.protocol)));
  const payload = Buffer.concat([...headers, l4.bytes]);
  const h = Buffer.alloc(IPV6_HLEN);
  h.writeUInt32BE(((opts.version ?? 6) << 28) >>> 0, 0);
  h.writeUInt16BE(payload.length, 4);
  h[6] = exts[0]?.type ?? opts.protocol ?? l4.protocol;
  h[7] = opts.hopLimit ?? 64;
  opts.src.copy(h, 8);
  opts.dst.copy(h, 24);
  return Buffer.concat([h, payload]);
}

// ---------------------------------------------------------------------------
// transports

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

export interface TcpOptions {
  sport: number;
  dport: number;
  flags: number;
  payload?: Buffer;
  /** TCP options, padded to a multiple of 4 bytes. */
  options?: Buffer;
  /** Overrides the data offset (in 4-byte words), to build malformed headers. */
  dataOffset?: number;
  /** Sequence number; 1000 by default. */
  seq?: number;
}

export function tcp(opts: TcpOptions): L4 {
  const options = opts.options ?? Buffer.alloc(0);
  const padded = Buffer.concat([options, Buffer.alloc((4 - (options.length % 4)) % 4)]);
  const h = Buffer.alloc(20 + padded.length);
  h.writeUInt16BE(opts.sport, 0);
  h.writeUInt16BE(opts.dport, 2);
  h.writeUInt32BE(opts.seq ?? 1000, 4); // sequence
  h.writeUInt32BE(opts.flags & TCP_ACK ? 2000 : 0, 8);
  h[12] = (opts.dataOffset ?? h.length / 4) << 4;
  h[13] = opts.flags;
  h.writeUInt16BE(65535, 14); // window
  padded.copy(h, 20);
  return { protocol: IPPROTO_TCP, bytes: Buffer.concat([h, opts.payload ?? Buffer.alloc(0)]) };
}

export function udp(sport: number, dport: number, payload: Buffer = Buffer.alloc(0)): L4 {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return { protocol: IPPROTO_UDP, bytes: Buffer.concat([h, payload]) };
}

function icmpLike(protocol: number, type: number, code: number, rest: Buffer, payload: Buffer): L4 {
  const h = Buffer.alloc(4);
  h[0] = type;
  h[1] = code;
  return { protocol, bytes: Buffer.concat([h, rest, payload]) };
}

function echoRest(id: number, seq: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(seq, 2);
  return b;
}

export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_ECHO_REQUEST = 8;
export const ICMPV6_DEST_UNREACH = 1;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;

export function icmpEcho(kind: 'request' | 'reply', id: number, seq = 1, payload: Buffer = Buffer.alloc(8)): L4 {
  return icmpLike(IPPROTO_ICMP, kind === 'request' ? ICMP_ECHO_REQUEST : ICMP_ECHO_REPLY, 0, echoRest(id, seq), payload);
}

export function icmp(type: number, code: number, rest: Buffer = Buffer.alloc(4), payload: Buffer = Buffer.alloc(0)): L4 {
  return icmpLike(IPPROTO_ICMP, type, code, rest, payload);
}

export function icmpv6Echo(kind: 'request' | 'reply', id: number, seq = 1, payload: Buffer = Buffer.alloc(8)): L4 {
  return icmpLike(
    IPPROTO_ICMPV6,
    kind === 'request' ? ICMPV6_ECHO_REQUEST : ICMPV6_ECHO_REPLY,
    0,
    echoRest(id, seq),
    payload,
  );
}

export function icmpv6(type: number, code: number, rest: Buffer = Buffer.alloc(4), payload: Buffer = Buffer.alloc(0)): L4 {
  return icmpLike(IPPROTO_ICMPV6, type, code, rest, payload);
}

/** SCTP common header (ports, verification tag, checksum) followed by raw chunks. */
export function sctp(sport: number, dport: number, chunks: Buffer = Buffer.alloc(0)): L4 {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt32BE(0xcafe, 4);
  return { protocol: IPPROTO_SCTP, bytes: Buffer.concat([h, chunks]) };
}

/** Any other IP protocol (GRE, ESP, ...) with an opaque payload. */
export function rawL4(protocol: number, bytes: Buffer): L4 {
  return { protocol, bytes };
}

// ---------------------------------------------------------------------------
// whole frames

export function frame4(l4: L4, opts: Ipv4Options & { vlans?: VlanTag[] }): Buffer {
  return ethernet(ETH_P_IP, ipv4(l4, opts), opts.vlans);
}

export function frame6(l4: L4, opts: Ipv6Options & { vlans?: VlanTag[] }): Buffer {
  return ethernet(ETH_P_IPV6, ipv6(l4, opts), opts.vlans);
}

/** The first n bytes of a frame: a packet cut inside one of its headers. */
export function truncate(frame: Buffer, n: number): Buffer {
  if (n > frame.length) throw new Error(`cannot truncate ${frame.length} bytes to ${n}`);
  return Buffer.from(frame.subarray(0, n));
}
