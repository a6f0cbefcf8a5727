/**
 * A BPF object file: open, settings that must precede load (globals, map
 * sizes, pins), load, then its programs and maps by name. Closing it releases
 * everything it handed out that holds kernel state (TC attachments, links,
 * ring buffers).
 */
import { mkdirSync } from 'node:fs';
import { endianness } from 'node:os';
import path from 'node:path';

import { addon, type NativeGlobalInfo } from './addon.js';
import { bpfError } from './errors.js';
import { BpfMap, mapOwner } from './map.js';
import type { Releasable, ResourceOwner } from './owner.js';
import { BpfProgram } from './program.js';
import { possibleCpus } from './system.js';

export interface OpenOptions {
  /**
   * Maps to pin as dir/<map name>: an existing pin is reused (its contents
   * survive restarts), otherwise the map is created and pinned at load.
   */
  pinMaps?: { dir: string; names: string[] };
}

type State = 'opened' | 'loaded' | 'closed';

export class BpfObject {
  readonly path: string;
  #handle: number;
  #state: State = 'opened';
  readonly #resources = new Set<Releasable>();
  readonly #programs = new Map<string, BpfProgram>();
  readonly #maps = new Map<string, BpfMap>();
  readonly #owner: ResourceOwner;

  private constructor(file: string, handle: number) {
    this.path = file;
    this.#handle = handle;
    // programs and maps see the object only through this narrow interface
    this.#owner = {
      handle,
      assertOpen: (op) => this.#assertState('loaded', op),
      adopt: (r) => this.#resources.add(r),
      disown: (r) => this.#resources.delete(r),
    };
  }

  static open(file: string, opts: OpenOptions = {}): BpfObject {
    const handle = addon().objectOpen(file);
    const obj = new BpfObject(file, handle);
    try {
      if (opts.pinMaps) obj.#setPins(opts.pinMaps.dir, opts.pinMaps.names);
    } catch (e) {
      obj.close();
      throw e;
    }
    return obj;
  }

  /** Sets a `const volatile` global (1/2/4/8-byte scalar in .rodata) before load. */
  setGlobal(name: string, value: number | bigint | boolean): void {
    this.#assertState('opened', `setGlobal('${name}')`);
    const info = addon().objectGlobalInfo(this.#handle, name);
    addon().objectSetGlobal(this.#handle, name, encodeGlobal(name, value, info));
  }

  /** Sets a 'const volatile' global that is not a scalar (an array, a struct) to exactly its size in bytes. */
  setGlobalBytes(name: string, bytes: Buffer): void {
    this.#assertState('opened', `setGlobalBytes('${name}')`);
    const info = addon().objectGlobalInfo(this.#handle, name);
    if (bytes.length !== info.size) {
      throw bpfError('EINVAL', `setGlobalBytes('${name}'): the global is ${info.size} bytes, got ${bytes.length}`);
    }
    addon().objectSetGlobal(this.#handle, name, bytes);
  }

  setMapMaxEntries(name: string, maxEntries: number): void {
    this.#assertState('opened', `setMapMaxEntries('${name}')`);
    if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > 0xffffffff) {
      throw bpfError('EINVAL', `setMapMaxEntries('${name}'): max entries must be an integer in 1..2^32-1, got ${maxEntries}`);
    }
    addon().objectSetMapMaxEntries(this.#handle, name, maxEntries);
  }

  /**
   * Makes the object use `map` (of another, loaded object) for its map `name`
   * instead of creating one, so programs of both objects share its contents.
   * The object takes its own reference: closing the other object later does
   * not take the map away. Type, key and value sizes must match.
   */
  reuseMap(name: string, map: BpfMap): void {
    this.#assertState('opened', `reuseMap('${name}')`);
    const owner = mapOwner(map);
    if (!owner) throw bpfError('EINVAL', `reuseMap('${name}'): the map must come from BpfObject.map()`);
    owner.assertOpen(`reuseMap('${name}') of map '${map.name}'`);
    addon().objectReuseMap(this.#handle, name, map.fd);
  }

  /** Throws BpfError with verifierLog when the kernel rejects a program. */
  load(): void {
    this.#assertState('opened', 'load()');
    try {
      addon().objectLoad(this.#handle);
    } finally {
      // libbpf refuses a second attempt either way
      this.#state = 'loaded';
    }
  }

  program(name: string): BpfProgram {
    this.#assertState('loaded', `program('${name}')`);
    let prog = this.#programs.get(name);
    if (!prog) {
      prog = new BpfProgram(this.#owner, name, addon().objectProgramFd(this.#handle, name));
      this.#programs.set(name, prog);
    }
    return prog;
  }

  map(name: string): BpfMap {
    this.#assertState('loaded', `map('${name}')`);
    let map = this.#maps.get(name);
    if (!map) {
      map = new BpfMap(this.#owner, name, addon().objectMapInfo(this.#handle, name), possibleCpus());
      this.#maps.set(name, map);
    }
    return map;
  }

  programNames(): string[] {
    this.#assertNotClosed('programNames()');
    return addon().objectProgramNames(this.#handle);
  }

  mapNames(): string[] {
    this.#assertNotClosed('mapNames()');
    return addon().objectMapNames(this.#handle);
  }

  /** Idempotent. Detaches what the object's programs attached; pinned maps stay pinned. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    let first: unknown;
    for (const r of [...this.#resources]) {
      try {
        r.release();
      } catch (e) {
        first ??= e;
      }
    }
    this.#resources.clear();
    addon().close(this.#handle);
    if (first !== undefined) throw first;
  }

  #setPins(dir: string, names: string[]): void {
    // libbpf creates only the last directory level
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const name of names) addon().objectSetPinPath(this.#handle, name, path.join(dir, name));
  }

  #assertNotClosed(op: string): void {
    if (this.#state === 'closed') throw bpfError('EBADF', `${op}: BPF object ${this.path} is closed`);
  }

  #assertState(want: 'opened' | 'loaded', op: string): void {
    this.#assertNotClosed(op);
    if (this.#state === want) return;
    if (want === 'opened') throw bpfError('EBUSY', `${op}: must be called before load() of ${this.path}`);
    throw bpfError('EBADF', `${op}: BPF object ${this.path} is not loaded`);
  }
}

function encodeGlobal(name: string, value: number | bigint | boolean, info: NativeGlobalInfo): Buffer {
  const { size } = info;
  if (size !== 1 && size !== 2 && size !== 4 && size !== 8) {
    throw bpfError('EINVAL', `setGlobal('${name}'): only 1, 2, 4 or 8-byte scalars can be set, this one is ${size} bytes`);
  }
  let v: bigint;
  if (typeof value === 'boolean') v = value ? 1n : 0n;
  else if (typeof value === 'bigint') v = value;
  else if (Number.isSafeInteger(value)) v = BigInt(value);
  else throw bpfError('EINVAL', `setGlobal('${name}'): ${value} is not a safe integer (use a bigint)`);

  const bits = BigInt(size * 8);
  const signed = info.signed;
  const min = signed ? -(1n << (bits - 1n)) : 0n;
  const max = info.kind === 'bool' ? 1n : signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  if (v < min || v > max) {
    const what = info.kind === 'bool' ? 'bool' : `${signed ? 'signed' : 'unsigned'} ${size * 8}-bit`;
    throw bpfError('ERANGE', `setGlobal('${name}'): ${v} does not fit the ${what} global (${min}..${max})`);
  }
  // globals are read by the program in host byte order
  return writeHost(BigInt.asUintN(size * 8, v), size);
}

function writeHost(raw: bigint, size: number): Buffer {
  const buf = Buffer.alloc(size);
  const le = endianness() === 'LE';
  if (size === 8) {
    if (le) buf.writeBigUInt64LE(raw);
    else buf.writeBigUInt64BE(raw);
  } else if (le) {
    buf.writeUIntLE(Number(raw), 0, size);
  } else {
    buf.writeUIntBE(Number(raw), 0, size);
  }
  return buf;
}
