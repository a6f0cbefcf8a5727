// Address prefixes as the ipcache stores them: family, network-order bytes and
// a prefix length. Parsing is strict on purpose: an identity file or cluster
// range with a typo must be rejected at load, not silently attribute traffic to
// the wrong workload.
//
// Host bits: a prefix with bits set beyond its length (10.0.0.1/8) is
// REJECTED, with the network address suggested. Normalising it quietly would
// hide the likelier mistake (a wrong prefix length for a single host).

export type Cidr = {
  family: 4 | 6;
  /** 4 or 16 bytes, network order, host bits zero. */
  addr: Buffer;
  prefixLen: number;
  /** Canonical text: dotted quad or RFC 5952 IPv6, always with /len. */
  text: string;
};

export type Address = { family: 4 | 6; addr: Buffer };

export type CidrResult = { ok: true; cidr: Cidr } | { ok: false; reason: string };

function parseIPv4(text: string): Buffer | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    // Leading zeros are refused: some tools read them as octal.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseIPv6(text: string): Buffer | undefined {
  if (text.includes('%')) return undefined; // zone ids have no meaning in a prefix
  const halves = text.split('::');
  if (halves.length > 2) return undefined;

  const groupsOf = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const pieces = s.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIPv4(piece);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return undefined;
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };

  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !tail) return undefined;
  // An embedded IPv4 address is only allowed at the very end.
  if (halves.length === 2 && halves[0]!.includes('.')) return undefined;

  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;

  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** Parses a bare IPv4 or IPv6 address; undefined when it is neither. */
export function parseAddress(text: string): Address | undefined {
  if (text.includes(':')) {
    const addr = parseIPv6(text);
    return addr ? { family: 6, addr } : undefined;
  }
  const addr = parseIPv4(text);
  return addr ? { family: 4, addr } : undefined;
}

/** Canonical text of a 4- or 16-byte address (RFC 5952 for IPv6). */
export function formatAddress(addr: Buffer): string {
  if (addr.length === 4) return `${addr[0]}.${addr[1]}.${addr[2]}.${addr[3]}`;
  if (addr.length !== 16) throw new RangeError(`address must be 4 or 16 bytes, got ${addr.length}`);

  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(addr.readUInt16BE(i * 2));

  // RFC 5952: compress the longest run of two or more zero groups, the first if tied.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function hostBitsSet(addr: Buffer, prefixLen: number): boolean {
  for (let bit = prefixLen; bit < addr.length * 8; bit++) {
    if (addr[bit >> 3]! & (0x80 >> (bit & 7))) return true;
  }
  return false;
}

function maskTo(addr: Buffer, prefixLen: number): Buffer {
  const out = Buffer.from(addr);
  for (let bit = prefixLen; bit < out.length * 8; bit++) out[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return out;
}

/** Builds a Cidr from parts; the caller guarantees host bits are zero. */
export function makeCidr(family: 4 | 6, addr: Buffer, prefixLen: number): Cidr {
  return { family, addr, prefixLen, text: `${formatAddress(addr)}/${prefixLen}` };
}

/** Parses "ADDR/LEN" or a bare address (as /32 or /128) without throwing. */
export function tryParseCidr(text: string): CidrResult {
  const invalid = (why: string): CidrResult => ({ ok: false, reason: `"${text}" is not a valid CIDR (${why})` });
  if (typeof text !== 'string') return { ok: false, reason: `${JSON.stringify(text)} is not a valid CIDR (not a string)` };
  const trimmed = text.trim();
  if (trimmed === '') return invalid('empty');

  const slash = trimmed.indexOf('/');
  const addrText = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const parsed = parseAddress(addrText);
  if (!parsed) return invalid(addrText.includes(':') ? 'bad IPv6 address' : 'bad IPv4 address');

  const maxLen = parsed.family === 4 ? 32 : 128;
  let prefixLen = maxLen;
  if (slash >= 0) {
    const lenText = trimmed.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(lenText) || Number(lenText) > maxLen) {
      return invalid(`prefix length must be 0 to ${maxLen}`);
    }
    prefixLen = Number(lenText);
  }
  if (hostBitsSet(parsed.addr, prefixLen)) {
    const network = makeCidr(parsed.family, maskTo(parsed.addr, prefixLen), prefixLen);
    return invalid(`host bits set; did you mean ${network.text}?`);
  }
  return { ok: true, cidr: makeCidr(parsed.family, parsed.addr, prefixLen) };
}

/** Parses a CIDR or bare address; throws an Error whose message says why it is invalid. */
export function parseCidr(text: string): Cidr {
  const result = tryParseCidr(text);
  if (!result.ok) throw new Error(result.reason);
  return result.cidr;
}

/** True when `inner` (a prefix or an address) lies entirely within `outer`. */
export function cidrContains(outer: Cidr, inner: Cidr | Address): boolean {
  if (outer.family !== inner.family) return false;
  const innerLen = 'prefixLen' in inner ? inner.prefixLen : inner.addr.length * 8;
  if (innerLen < outer.prefixLen) return false;
  const fullBytes = outer.prefixLen >> 3;
  if (outer.addr.compare(inner.addr, 0, fullBytes, 0, fullBytes) !== 0) return false;
  const rest = outer.prefixLen & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (outer.addr[fullBytes]! & mask) === (inner.addr[fullBytes]! & mask);
}
