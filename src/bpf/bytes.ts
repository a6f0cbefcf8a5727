// Reads of the kernel's structs in host byte order, for src/bpf/codecs.ts and
// the struct readers generated into layouts.generated.ts. BPF programs write
// their keys, values and events in the byte order of the machine they run on.

import { endianness } from 'node:os';

const LE = endianness() === 'LE';

export function readU8(buf: Buffer, at: number): number {
  return buf[at]!;
}
export function readU16(buf: Buffer, at: number): number {
  return LE ? buf.readUInt16LE(at) : buf.readUInt16BE(at);
}
export function readU32(buf: Buffer, at: number): number {
  return LE ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
}
export function readU64(buf: Buffer, at: number): bigint {
  return LE ? buf.readBigUInt64LE(at) : buf.readBigUInt64BE(at);
}
export function writeU16(buf: Buffer, at: number, v: number): void {
  if (LE) buf.writeUInt16LE(v, at);
  else buf.writeUInt16BE(v, at);
}
export function writeU32(buf: Buffer, at: number, v: number): void {
  if (LE) buf.writeUInt32LE(v, at);
  else buf.writeUInt32BE(v, at);
}
export function writeU64(buf: Buffer, at: number, v: bigint): void {
  if (LE) buf.writeBigUInt64LE(v, at);
  else buf.writeBigUInt64BE(v, at);
}

/** A copy of len bytes: a decoded struct must not alias the ring or map buffer it came from, which is reused. */
export function copyBytes(buf: Buffer, at: number, len: number): Buffer {
  return Buffer.from(buf.subarray(at, at + len));
}

/** count u64s from at, as an array. */
export function readU64s(buf: Buffer, at: number, count: number): bigint[] {
  const out = new Array<bigint>(count);
  for (let i = 0; i < count; i++) out[i] = readU64(buf, at + i * 8);
  return out;
}
