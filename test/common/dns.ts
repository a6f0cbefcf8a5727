/**
 * DNS messages for tests, built byte by byte (RFC 1035 4.1), so tests can
 * also build what no DNS library would: pointers in a question, labels over
 * 63 bytes, names over 255.
 */

export const QTYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33 } as const;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export const OPCODE = { QUERY: 0, STATUS: 2, NOTIFY: 4, UPDATE: 5 } as const;

/** A name in wire format: length-prefixed labels and the root. */
export function dnsName(name: string): Buffer {
  const text = name.replace(/\.$/, '');
  const labels = text === '' ? [] : text.split('.');
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
}

export interface DnsMessageOptions {
  id: number;
  response?: boolean;
  opcode?: number;
  rcode?: number;
  /** The TC (truncated) bit. */
  tc?: boolean;
  /** Defaults to 1 (0 with question: null). */
  qdcount?: number;
  /** Answer records appended: A records pointing back at the question name. */
  answers?: number;
  /** Text, or raw wire bytes for names no encoder would produce; null: no question at all. */
  name: string | Buffer | null;
  qtype?: number;
  qclass?: number;
}

export function dnsMessage(opts: DnsMessageOptions): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(opts.id, 0);
  const flags =
    (opts.response ? 0x8000 : 0) |
    ((opts.opcode ?? OPCODE.QUERY) << 11) |
    (opts.tc ? 0x0200 : 0) |
    0x0100 /* RD */ |
    (opts.response ? 0x0080 /* RA */ : 0) |
    (opts.rcode ?? RCODE.NOERROR);
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(opts.qdcount ?? (opts.name === null ? 0 : 1), 4);
  const answers = opts.answers ?? 0;
  header.writeUInt16BE(answers, 6);
  if (opts.name === null) return header;
  const name = typeof opts.name === 'string' ? dnsName(opts.name) : opts.name;
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(opts.qtype ?? QTYPE.A, 0);
  tail.writeUInt16BE(opts.qclass ?? 1, 2);
  const records: Buffer[] = [];
  for (let i = 0; i < answers; i++) {
    // pointer to the question name at offset 12, A IN, TTL 60, 192.0.2.<i>
    records.push(Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, i & 0xff]));
  }
  return Buffer.concat([header, name, tail, ...records]);
}

/** A message as sent over TCP: prefixed by its length (RFC 1035 4.2.2). */
export function tcpFramed(message: Buffer, length = message.length): Buffer {
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(length, 0);
  return Buffer.concat([prefix, message]);
}
