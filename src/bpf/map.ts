/** A loaded BPF map: element operations and whole-map dumps on its fd. */
import { addon, type NativeMapInfo } from './addon.js';
import { bpfError } from './errors.js';
import type { ResourceOwner } from './owner.js';

export type UpdateFlag = 'any' | 'noexist' | 'exist';

/* BPF_ANY, BPF_NOEXIST, BPF_EXIST */
const UPDATE_FLAGS: Record<UpdateFlag, number> = { any: 0, noexist: 1, exist: 2 };

/* enum bpf_map_type values (include/uapi/linux/bpf.h) that matter here */
export const MAP_TYPE = {
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  PERCPU_CGROUP_STORAGE: 21,
  RINGBUF: 27,
} as const;

const PER_CPU_TYPES = new Set<number>([
  MAP_TYPE.PERCPU_HASH,
  MAP_TYPE.PERCPU_ARRAY,
  MAP_TYPE.LRU_PERCPU_HASH,
  MAP_TYPE.PERCPU_CGROUP_STORAGE,
]);

/* Array-like maps always hold max_entries elements. */
const ARRAY_TYPES = new Set<number>([MAP_TYPE.ARRAY, MAP_TYPE.PERCPU_ARRAY, MAP_TYPE.PROG_ARRAY, MAP_TYPE.PERF_EVENT_ARRAY]);

const owners = new WeakMap<BpfMap, ResourceOwner>();

/** The object a map belongs to (for consumers that must close with it, like RingBuffer). */
export function mapOwner(map: BpfMap): ResourceOwner | undefined {
  return owners.get(map);
}

export class BpfMap {
  readonly fd: number;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly isPerCpu: boolean;
  /** Bytes per CPU in a per-CPU value: the kernel pads each CPU's copy to 8 bytes. */
  readonly #stride: number;
  /** Bytes of one raw value as the kernel exchanges it (all CPUs for per-CPU maps). */
  readonly #rawValueSize: number;
  readonly #cpus: number;
  readonly #owner: ResourceOwner;

  /** Obtained from BpfObject.map(); not constructed directly. */
  constructor(
    owner: ResourceOwner,
    readonly name: string,
    info: NativeMapInfo,
    possibleCpus: number,
  ) {
    this.#owner = owner;
    owners.set(this, owner);
    this.fd = info.fd;
    this.type = info.type;
    this.keySize = info.keySize;
    this.valueSize = info.valueSize;
    this.maxEntries = info.maxEntries;
    this.isPerCpu = PER_CPU_TYPES.has(info.type);
    this.#cpus = this.isPerCpu ? possibleCpus : 1;
    this.#stride = this.isPerCpu ? Math.ceil(info.valueSize / 8) * 8 : info.valueSize;
    this.#rawValueSize = this.#stride * this.#cpus;
  }

  /** Per-CPU maps: the raw concatenated per-CPU values (see perCpu()). */
  lookup(key: Buffer): Buffer | null {
    this.#owner.assertOpen(`lookup in map '${this.name}'`);
    return addon().mapLookup(this.fd, key);
  }

  /** Per-CPU maps take one value (copied to every CPU) or the full per-CPU buffer. */
  update(key: Buffer, value: Buffer, flags: UpdateFlag = 'any'): void {
    this.#owner.assertOpen(`update of map '${this.name}'`);
    const flag = UPDATE_FLAGS[flags];
    if (flag === undefined) throw bpfError('EINVAL', `update of map '${this.name}': unknown flags '${String(flags)}'`);
    addon().mapUpdate(this.fd, key, this.#rawValue(value), flag);
  }

  delete(key: Buffer): boolean {
    this.#owner.assertOpen(`delete in map '${this.name}'`);
    return addon().mapDelete(this.fd, key);
  }

  entries(): Array<{ key: Buffer; value: Buffer }> {
    this.#owner.assertOpen(`dump of map '${this.name}'`);
    const { count, keys, values } = addon().mapDump(this.fd);
    const out: Array<{ key: Buffer; value: Buffer }> = [];
    for (let i = 0; i < count; i++) {
      out.push({
        key: keys.subarray(i * this.keySize, (i + 1) * this.keySize),
        value: values.subarray(i * this.#rawValueSize, (i + 1) * this.#rawValueSize),
      });
    }
    return out;
  }

  /** Entries present; arrays always hold maxEntries. */
  count(): number {
    this.#owner.assertOpen(`count of map '${this.name}'`);
    if (ARRAY_TYPES.has(this.type)) return this.maxEntries;
    // a batched dump takes a few syscalls where walking keys takes one per entry
    return addon().mapDump(this.fd).count;
  }

  /** Splits a raw per-CPU value into one valueSize-byte Buffer per possible CPU. */
  perCpu(value: Buffer): Buffer[] {
    if (!this.isPerCpu) return [value];
    if (value.length !== this.#rawValueSize) {
      throw bpfError(
        'EINVAL',
        `map '${this.name}': a per-CPU value is ${this.#rawValueSize} bytes (${this.#cpus} CPUs x ${this.#stride}), got ${value.length}`,
      );
    }
    const out: Buffer[] = [];
    for (let cpu = 0; cpu < this.#cpus; cpu++) {
      out.push(value.subarray(cpu * this.#stride, cpu * this.#stride + this.valueSize));
    }
    return out;
  }

  #rawValue(value: Buffer): Buffer {
    if (!this.isPerCpu || value.length === this.#rawValueSize || value.length !== this.valueSize) return value;
    const raw = Buffer.alloc(this.#rawValueSize);
    for (let cpu = 0; cpu < this.#cpus; cpu++) value.copy(raw, cpu * this.#stride);
    return raw;
  }
}
