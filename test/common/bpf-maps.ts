import { expect } from 'vitest';
import { BpfObject, RingBuffer, type BpfMap } from '../../src/bpf/index.js';
import { EventType, Identity, decodeFlowEvent, decodeU64, encodeIpcacheValue, encodeU32, ipcacheKey } from '../../src/bpf/codecs.js';
import { frame4, ip4, ip6, udp } from './packets.js';
import { insertOverflowKeys } from '../../src/datapath/counters.js';
import { COUNTER_MAPS } from '../../src/datapath/flow.js';

/**
 * flow.bpf.o under BPF_PROG_TEST_RUN, as the kernel tests of test/bpf drive
 * it: loaded with a known ipcache, frames run through its hooks, per-CPU
 * counters summed, and ring-buffer events drained up to a sentinel.
 */

export const FLOW_OBJECT = 'bpf/.output/flow.bpf.o';
export const TC_ACT_UNSPEC = -1;

// Identities the tests put into the ipcache.
export const CLIENT = { v4: ip4('10.0.1.5'), v6: ip6('fd00::5'), id: 1001, id6: 1003 };
export const SERVER = { v4: ip4('10.0.2.7'), v6: ip6('fd00::7'), id: 1002, id6: 1004 };
export const UNMANAGED_V4 = ip4('10.0.9.9'); // inside 10.0.0.0/16, no workload
export const WORLD_V4 = ip4('192.0.2.1'); // in no entry

export type IpcacheEntry = [family: 4 | 6, addr: Buffer, prefixLen: number, identity: number];

/** 10.0.0.0/16 unmanaged, and CLIENT and SERVER at both of their addresses. */
export const IPCACHE: readonly IpcacheEntry[] = [
  [4, ip4('10.0.0.0'), 16, Identity.UNMANAGED],
  [4, CLIENT.v4, 32, CLIENT.id],
  [4, SERVER.v4, 32, SERVER.id],
  [6, CLIENT.v6, 128, CLIENT.id6],
  [6, SERVER.v6, 128, SERVER.id6],
];

export interface LoadOptions {
  /** `const volatile` globals, set between open and load. */
  globals?: Record<string, number | bigint | boolean>;
  maxEntries?: Record<string, number>;
  /** Anything else to do between open and load. */
  setup?: (o: BpfObject) => void;
  /** The ipcache entries; IPCACHE unless given. */
  ipcache?: readonly IpcacheEntry[];
  /** Insert every counter map's overflow key, as FlowDatapath.load does (off: map listings stay as the packets left them). */
  overflowKeys?: boolean;
}

/** A fresh flow.bpf.o (so its maps start empty), loaded and with its ipcache filled; closed again if a step fails. */
export function loadFlowObject(opts: LoadOptions = {}): BpfObject {
  const o = BpfObject.open(FLOW_OBJECT);
  try {
    for (const [name, value] of Object.entries(opts.globals ?? {})) o.setGlobal(name, value);
    for (const [name, n] of Object.entries(opts.maxEntries ?? {})) o.setMapMaxEntries(name, n);
    opts.setup?.(o);
    o.load();
    if (opts.overflowKeys) insertOverflowKeys(o, COUNTER_MAPS);
    const ipcache = o.map('ipcache');
    for (const [family, addr, prefixLen, identity] of opts.ipcache ?? IPCACHE) {
      ipcache.update(ipcacheKey(family, addr, prefixLen), encodeIpcacheValue({ identity, flags: 0 }));
    }
    return o;
  } catch (err) {
    o.close();
    throw err;
  }
}

export type Hook = 'from' | 'to';

/** Runs one frame through flow_from_endpoint (egress) or flow_to_endpoint (ingress). */
export function runHook(obj: BpfObject, hook: Hook, frame: Buffer): void {
  const res = obj.program(hook === 'from' ? 'flow_from_endpoint' : 'flow_to_endpoint').testRun(frame);
  // never changes the packet's fate or content
  expect(res.retval | 0).toBe(TC_ACT_UNSPEC);
  expect(res.data.equals(frame)).toBe(true);
}

/** The entries of a map (not per-CPU), key and value decoded. */
export function decodedEntries<K, V>(map: BpfMap, decodeKey: (b: Buffer) => K, decodeValue: (b: Buffer) => V): Array<{ key: K; value: V }> {
  return map.entries().map(({ key, value }) => ({ key: decodeKey(key), value: decodeValue(value) }));
}

// ---------------------------------------------------------------------------
// per-CPU counters, summed over CPUs

/** The u64 words of one per-CPU value (all of them unless `words` says fewer), each summed over CPUs. */
export function sumU64(map: BpfMap, value: Buffer, words = map.valueSize / 8): bigint[] {
  const sums = new Array<bigint>(words).fill(0n);
  for (const cpu of map.perCpu(value)) for (let i = 0; i < words; i++) sums[i]! += decodeU64(cpu, i * 8);
  return sums;
}

/** Every entry of a per-CPU hash map of counters, as `label(key)` -> its first u64 summed over CPUs. */
export function countsByKey(map: BpfMap, label: (key: Buffer) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { key, value } of map.entries()) out[label(key)] = Number(sumU64(map, value, 1)[0]);
  return out;
}

/** Non-zero slots of a per-CPU counter array, by name. */
export function arrayCounts(map: BpfMap, names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  names.forEach((name, i) => {
    const value = map.lookup(encodeU32(i));
    const n = value ? Number(sumU64(map, value, 1)[0]) : 0;
    if (n !== 0) out[name] = n;
  });
  return out;
}

// ---------------------------------------------------------------------------
// events

/**
 * The events ring of a loaded object. drain() runs a sentinel flow (one more
 * new UDP flow, from the unmanaged address to world, on the next port from
 * `firstPort`) through flow_to_endpoint and waits for its event: the ring is
 * FIFO, so once the sentinel is in, every earlier event is too, and the count
 * is exact without sleeping. It returns the raw events before the sentinel.
 */
export class EventDrain {
  private readonly received: Buffer[] = [];
  private readonly ring: RingBuffer;
  private wake: (() => void) | undefined;
  private sentinelPort: number;

  constructor(
    private readonly obj: BpfObject,
    firstPort = 60000,
  ) {
    this.sentinelPort = firstPort;
    this.ring = new RingBuffer(obj.map('events'), (events) => {
      this.received.push(...events);
      this.wake?.();
    });
  }

  async drain(): Promise<Buffer[]> {
    const port = this.sentinelPort++;
    runHook(this.obj, 'to', frame4(udp(9, port), { src: UNMANAGED_V4, dst: WORLD_V4 }));
    const isSentinel = (b: Buffer): boolean => {
      if (b[0] !== EventType.FLOW) return false;
      const e = decodeFlowEvent(b);
      return e.dport === port && e.srcIdentity === Identity.UNMANAGED;
    };
    const deadline = Date.now() + 10_000;
    // events carry no wakeup: read the ring as the exporter does, on each turn
    this.ring.consume();
    while (!this.received.some(isSentinel)) {
      if (Date.now() > deadline) throw new Error('sentinel event never arrived');
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 50);
      });
      this.ring.consume();
    }
    const events = this.received.splice(0);
    expect(isSentinel(events.at(-1)!)).toBe(true);
    return events.slice(0, -1);
  }

  /** drain(), keeping the events of one type, decoded. */
  async drainOf<T>(type: number, decode: (b: Buffer) => T): Promise<T[]> {
    return (await this.drain()).filter((b) => b[0] === type).map((b) => decode(b));
  }

  close(): void {
    this.ring.close();
  }
}
