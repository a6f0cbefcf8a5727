import { readFileSync } from 'node:fs';

/**
 * A minimal reader of the BTF format (Documentation/bpf/btf.rst): enough to
 * walk every type of /sys/kernel/btf/vmlinux and read enums by name, so that
 * values such as `enum skb_drop_reason` are taken from the running kernel
 * instead of a table copied from one kernel version.
 */

/** The running kernel's BTF: CO-RE relocations and every read of the kernel's own types start here. */
export const KERNEL_BTF_PATH = '/sys/kernel/btf/vmlinux';

const BTF_MAGIC = 0xeb9f;

const KIND = {
  INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10,
  RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19,
} as const;

export interface BtfEnumMember {
  name: string;
  value: bigint;
}

export class BtfError extends Error {}

/** Bytes that follow the 12-byte common header of a type of this kind. */
function extraBytes(kind: number, vlen: number): number {
  switch (kind) {
    case KIND.INT:
    case KIND.VAR:
    case KIND.DECL_TAG:
      return 4;
    case KIND.ARRAY:
      return 12;
    case KIND.STRUCT:
    case KIND.UNION:
    case KIND.DATASEC:
    case KIND.ENUM64:
      return vlen * 12;
    case KIND.ENUM:
    case KIND.FUNC_PROTO:
      return vlen * 8;
    case KIND.PTR:
    case KIND.FWD:
    case KIND.TYPEDEF:
    case KIND.VOLATILE:
    case KIND.CONST:
    case KIND.RESTRICT:
    case KIND.FUNC:
    case KIND.FLOAT:
    case KIND.TYPE_TAG:
      return 0;
    default:
      // a kind newer than this reader: its size is unknown, so nothing after it can be read
      throw new BtfError(`unknown BTF kind ${kind}`);
  }
}

export class Btf {
  private readonly types: DataView;
  private readonly strings: Buffer;

  constructor(private readonly data: Buffer) {
    if (data.length < 24 || data.readUInt16LE(0) !== BTF_MAGIC) throw new BtfError('not a little-endian BTF blob');
    const hdrLen = data.readUInt32LE(4);
    const typeOff = data.readUInt32LE(8);
    const typeLen = data.readUInt32LE(12);
    const strOff = data.readUInt32LE(16);
    const strLen = data.readUInt32LE(20);
    if (hdrLen + strOff + strLen > data.length || hdrLen + typeOff + typeLen > data.length) {
      throw new BtfError('BTF sections extend past the end of the data');
    }
    this.types = new DataView(data.buffer, data.byteOffset + hdrLen + typeOff, typeLen);
    this.strings = data.subarray(hdrLen + strOff, hdrLen + strOff + strLen);
  }

  static fromFile(path: string): Btf {
    return new Btf(readFileSync(path));
  }

  private str(offset: number): string {
    const end = this.strings.indexOf(0, offset);
    return this.strings.toString('latin1', offset, end < 0 ? undefined : end);
  }

  /**
   * Parameters of the function type a typedef names through a pointer, as
   * tracepoints' `btf_trace_<name>` are (the first is the tracepoint's
   * context); undefined when the kernel has no such typedef.
   */
  funcPointerParams(typedef: string): number | undefined {
    const v = this.types;
    // type ids count from 1 in the order types are laid out
    const offsets: number[] = [0];
    let found: number | undefined;
    for (let off = 0; off + 12 <= v.byteLength; ) {
      const info = v.getUint32(off + 4, true);
      const kind = (info >>> 24) & 0x1f;
      offsets.push(off);
      if (found === undefined && kind === KIND.TYPEDEF && this.str(v.getUint32(off, true)) === typedef) found = offsets.length - 1;
      off += 12 + extraBytes(kind, info & 0xffff);
    }
    if (found === undefined) return undefined;
    const kindAt = (id: number) => (v.getUint32(offsets[id]! + 4, true) >>> 24) & 0x1f;
    const pointee = v.getUint32(offsets[found]! + 8, true);
    if (!offsets[pointee] || kindAt(pointee) !== KIND.PTR) return undefined;
    const proto = v.getUint32(offsets[pointee]! + 8, true);
    if (!offsets[proto] || kindAt(proto) !== KIND.FUNC_PROTO) return undefined;
    return v.getUint32(offsets[proto]! + 4, true) & 0xffff;
  }

  /** Members of the enum (ENUM or ENUM64) called `name`, or undefined when the kernel has none. */
  enumMembers(name: string): BtfEnumMember[] | undefined {
    const v = this.types;
    for (let off = 0; off + 12 <= v.byteLength; ) {
      const nameOff = v.getUint32(off, true);
      const info = v.getUint32(off + 4, true);
      const kind = (info >>> 24) & 0x1f;
      const vlen = info & 0xffff;
      const signed = (info >>> 31) === 1;
      const body = off + 12;
      if ((kind === KIND.ENUM || kind === KIND.ENUM64) && this.str(nameOff) === name) {
        const members: BtfEnumMember[] = [];
        for (let i = 0; i < vlen; i++) {
          if (kind === KIND.ENUM) {
            const at = body + i * 8;
            const raw = signed ? v.getInt32(at + 4, true) : v.getUint32(at + 4, true);
            members.push({ name: this.str(v.getUint32(at, true)), value: BigInt(raw) });
          } else {
            const at = body + i * 12;
            const value = (BigInt(v.getUint32(at + 8, true)) << 32n) | BigInt(v.getUint32(at + 4, true));
            members.push({ name: this.str(v.getUint32(at, true)), value: signed ? BigInt.asIntN(64, value) : value });
          }
        }
        return members;
      }
      off = body + extraBytes(kind, vlen);
    }
    return undefined;
  }
}
