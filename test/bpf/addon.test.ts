/**
 * The native addon and its TypeScript wrapper against the real kernel: needs
 * root, BPF and bpffs. Programs come from test/bpf/fixtures (built into
 * bpf/.output here if the Makefile has not built them).
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  BpfError,
  BpfObject,
  RingBuffer,
  enableBpfStats,
  isBpfFsMounted,
  possibleCpus,
  type BpfProgram,
} from '../../src/bpf/index.js';
import { ADDON_PATH } from '../../src/bpf/addon.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TAG = `${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;
const NETNS = `fladdon-${TAG}`;
const PIN_DIR = `/sys/fs/bpf/flowlens-addon-test-${TAG}`;

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The fixture's object file, compiled with the Makefile's flags when missing or stale. */
function fixture(stem: string): string {
  const src = path.join(ROOT, 'test/bpf/fixtures', `${stem}.bpf.c`);
  const obj = path.join(ROOT, 'bpf/.output', `${stem}.bpf.o`);
  if (!existsSync(obj) || statSync(obj).mtimeMs < statSync(src).mtimeMs) {
    const arch = process.arch === 'arm64' ? 'arm64' : 'x86';
    run('mkdir', ['-p', path.dirname(obj)]);
    run('clang', ['-g', '-O2', '-Wall', '-Werror', '-target', 'bpf', `-D__TARGET_ARCH_${arch}`, '-Ibpf', '-Ibpf/include', '-c', src, '-o', obj]);
  }
  return obj;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}

/** Ethernet + IPv4 header (no options) to dst, padded to 64 bytes with a recognisable pattern. */
function ipv4Frame(dst: [number, number, number, number]): Buffer {
  const frame = Buffer.alloc(64);
  for (let i = 0; i < frame.length; i++) frame[i] = (i * 7 + 3) & 0xff;
  frame.writeUInt16BE(0x0800, 12);
  frame[14] = 0x45;
  frame.writeUInt16BE(64 - 14, 16);
  frame[23] = 17;
  Buffer.from(dst).copy(frame, 30);
  return frame;
}

/** LPM key of the fixture's prefixes map: { u32 prefixlen; u8 addr[4] }. */
function prefixKey(len: number, addr: [number, number, number, number]): Buffer {
  return Buffer.concat([u32(len), Buffer.from(addr)]);
}

function expectBpfError(fn: () => unknown, code: string): BpfError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(BpfError);
  const err = caught as BpfError;
  expect(err.code).toBe(code);
  expect(typeof err.errno).toBe('number');
  return err;
}

function ifindexOf(dev: string): number {
  return Number(readFileSync(`/sys/class/net/${dev}/ifindex`, 'utf8').trim());
}

interface BpftoolLink {
  id: number;
  type: number | string;
  prog_id: number;
}

function tcxLinksOf(prog: BpfProgram): BpftoolLink[] {
  const links = JSON.parse(run('bpftool', ['link', 'show', '-j'])) as BpftoolLink[];
  // bpftool 7.1 predates tcx and prints the link type as its number (BPF_LINK_TYPE_TCX = 11)
  return links.filter((l) => l.prog_id === prog.info().id && (l.type === 11 || l.type === 'tcx'));
}

function tcFilters(dev: string, hook: 'ingress' | 'egress'): string {
  return run('tc', ['filter', 'show', 'dev', dev, hook]).trim();
}

const opened: BpfObject[] = [];

function load(setup?: (obj: BpfObject) => void): BpfObject {
  const obj = BpfObject.open(fixture('addon_test'));
  opened.push(obj);
  setup?.(obj);
  obj.load();
  return obj;
}

const vethCounter = { n: 0 };

/** A veth whose peer lives in this file's network namespace; the host end stays here. */
function makeVeth(): string {
  const host = `fla${TAG}${vethCounter.n}`.slice(0, 15);
  const peer = `flp${TAG}${vethCounter.n++}`.slice(0, 15);
  run('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', peer, 'netns', NETNS]);
  run('ip', ['link', 'set', host, 'up']);
  return host;
}

beforeAll(() => {
  fixture('addon_test');
  fixture('addon_reject');
  run('ip', ['netns', 'add', NETNS]);
  // left mounted afterwards: it is the system's usual state, and others may pin there meanwhile
  if (!isBpfFsMounted()) run('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf']);
});

afterEach(() => {
  for (const obj of opened.splice(0)) obj.close();
});

afterAll(() => {
  // deleting the namespace deletes the veth peers, and with them the host ends
  try {
    run('ip', ['netns', 'del', NETNS]);
  } catch {
    /* already gone */
  }
  rmSync(PIN_DIR, { recursive: true, force: true });
});

describe('BpfObject', () => {
  it('sets const volatile globals of every size before load', () => {
    const obj = load((o) => {
      o.setGlobal('verdict', 42);
      o.setGlobal('setting_u8', 200);
      o.setGlobal('setting_s16', -1234);
      o.setGlobal('setting_u64', (1n << 63n) + 5n);
      o.setGlobal('setting_bool', true);
    });
    expect(obj.program('tc_verdict').testRun(ipv4Frame([10, 0, 0, 1])).retval).toBe(42);

    obj.program('tc_echo_globals').testRun(ipv4Frame([10, 0, 0, 1]));
    const seen = obj.map('globals_seen').lookup(u32(0));
    expect(seen).not.toBeNull();
    expect(seen!.readBigUInt64LE(0)).toBe((1n << 63n) + 5n);
    expect(seen!.readInt16LE(8)).toBe(-1234);
    expect(seen![10]).toBe(200);
    expect(seen![11]).toBe(1);
    expect(seen!.readUInt32LE(12)).toBe(42);
  });

  it('rejects unknown globals, values that do not fit, and settings after load', () => {
    const obj = BpfObject.open(fixture('addon_test'));
    opened.push(obj);
    expect(expectBpfError(() => obj.setGlobal('no_such_global', 1), 'ENOENT').message).toContain('no_such_global');
    expectBpfError(() => obj.setGlobal('setting_u8', 256), 'ERANGE');
    expectBpfError(() => obj.setGlobal('setting_u8', -1), 'ERANGE');
    expectBpfError(() => obj.setGlobal('setting_s16', -32769), 'ERANGE');
    expectBpfError(() => obj.setGlobal('setting_bool', 2), 'ERANGE');
    expectBpfError(() => obj.setGlobal('verdict', 1.5), 'EINVAL');
    obj.setGlobal('setting_s16', -32768);
    obj.load();
    expectBpfError(() => obj.setGlobal('verdict', 1), 'EBUSY');
    expectBpfError(() => obj.setMapMaxEntries('counts', 10), 'EBUSY');
  });

  it('sets a map size before load', () => {
    const obj = load((o) => o.setMapMaxEntries('counts', 128));
    expect(obj.map('counts').maxEntries).toBe(128);
    expect(obj.map('getppid_calls').maxEntries).toBe(1);
  });

  it('throws ENOENT for absent programs and maps, EBADF once closed', () => {
    const obj = load();
    expectBpfError(() => obj.program('absent'), 'ENOENT');
    expectBpfError(() => obj.map('absent'), 'ENOENT');
    const prog = obj.program('tc_verdict');
    const map = obj.map('counts');
    obj.close();
    obj.close();
    expectBpfError(() => obj.program('tc_verdict'), 'EBADF');
    expectBpfError(() => prog.testRun(ipv4Frame([1, 2, 3, 4])), 'EBADF');
    expectBpfError(() => map.lookup(u32(1)), 'EBADF');
  });

  it('reports a verifier rejection with the verifier log', () => {
    const obj = BpfObject.open(fixture('addon_reject'));
    opened.push(obj);
    const err = expectBpfError(() => obj.load(), 'EACCES');
    expect(err.errno).toBe(13);
    expect(err.message).toContain("prog 'tc_unchecked'");
    expect(err.verifierLog).toMatch(/invalid mem access 'map_value_or_null'/);
    expect(err.verifierLog).not.toContain('BEGIN PROG LOAD LOG');
  });

  it('keeps pinned maps across close and reopen', () => {
    const pinned = () => BpfObject.open(fixture('addon_test'), { pinMaps: { dir: PIN_DIR, names: ['counts'] } });
    const first = pinned();
    opened.push(first);
    first.load();
    first.map('counts').update(u32(1), u64(99n));
    first.close();
    expect(existsSync(path.join(PIN_DIR, 'counts'))).toBe(true);
    expect(existsSync(path.join(PIN_DIR, 'prefixes'))).toBe(false);

    const second = pinned();
    opened.push(second);
    second.load();
    expect(second.map('counts').lookup(u32(1))).toEqual(u64(99n));
  });
  it('shares a map with another object through reuseMap', () => {
    const first = load();
    const second = load((o) => {
      o.reuseMap('prefixes', first.map('prefixes'));
      o.reuseMap('runs_percpu', first.map('runs_percpu'));
    });
    // a write through one object is what a program of the other reads, and the other way round
    first.map('prefixes').update(prefixKey(16, [10, 1, 0, 0]), u32(7));
    expect(second.program('tc_prefix').testRun(ipv4Frame([10, 1, 2, 3])).retval).toBe(7);
    second.map('prefixes').update(prefixKey(8, [10, 0, 0, 0]), u32(9));
    expect(first.map('prefixes').lookup(prefixKey(32, [10, 9, 9, 9]))).toEqual(u32(9));
    second.program('tc_verdict').testRun(ipv4Frame([10, 0, 0, 1]), { repeat: 3 });
    const runs = first.map('runs_percpu');
    expect(runs.perCpu(runs.lookup(u32(0))!).reduce((s, v) => s + v.readBigUInt64LE(0), 0n)).toBe(3n);
    // maps not named stay the object's own
    second.map('counts').update(u32(1), u64(5n));
    expect(first.map('counts').lookup(u32(1))).toBeNull();

    // the reusing object holds its own reference: the map outlives the object that created it
    first.close();
    expect(second.program('tc_prefix').testRun(ipv4Frame([10, 1, 2, 3])).retval).toBe(7);
  });

  it('refuses to reuse a map of another layout, after load, or from a closed object', () => {
    const first = load();
    const other = BpfObject.open(fixture('addon_test'));
    opened.push(other);
    const err = expectBpfError(() => other.reuseMap('counts', first.map('prefixes')), 'EINVAL');
    expect(err.message).toContain("map 'counts'");
    expectBpfError(() => other.reuseMap('absent', first.map('counts')), 'ENOENT');
    const prefixes = first.map('prefixes');
    first.close();
    expectBpfError(() => other.reuseMap('prefixes', prefixes), 'EBADF');
    other.load();
    const third = load();
    expectBpfError(() => other.reuseMap('counts', third.map('counts')), 'EBUSY');
  });
});

describe('BpfMap', () => {
  it('updates, looks up, deletes and dumps a hash map', () => {
    const counts = load().map('counts');
    expect(counts).toMatchObject({ name: 'counts', type: 1, keySize: 4, valueSize: 8, maxEntries: 64, isPerCpu: false });
    for (const k of [3, 1, 2]) counts.update(u32(k), u64(BigInt(k * 100)));
    expect(counts.lookup(u32(2))).toEqual(u64(200n));
    expect(counts.lookup(u32(9))).toBeNull();

    expectBpfError(() => counts.update(u32(1), u64(5n), 'noexist'), 'EEXIST');
    expectBpfError(() => counts.update(u32(9), u64(5n), 'exist'), 'ENOENT');
    counts.update(u32(1), u64(111n), 'exist');
    expectBpfError(() => counts.lookup(Buffer.alloc(3)), 'EINVAL');

    expect(counts.count()).toBe(3);
    const entries = counts
      .entries()
      .map((e) => [e.key.readUInt32LE(0), e.value.readBigUInt64LE(0)])
      .sort((a, b) => Number(a[0]) - Number(b[0]));
    expect(entries).toEqual([
      [1, 111n],
      [2, 200n],
      [3, 300n],
    ]);

    expect(counts.delete(u32(2))).toBe(true);
    expect(counts.delete(u32(2))).toBe(false);
    expect(counts.count()).toBe(2);
  });

  it('dumps more entries than one batch holds', () => {
    const counts = load((o) => o.setMapMaxEntries('counts', 1000)).map('counts');
    for (let k = 0; k < 1000; k++) counts.update(u32(k), u64(BigInt(k) * 3n));
    const entries = counts.entries();
    expect(entries).toHaveLength(1000);
    const byKey = new Map(entries.map((e) => [e.key.readUInt32LE(0), e.value.readBigUInt64LE(0)]));
    expect(byKey.size).toBe(1000);
    for (let k = 0; k < 1000; k++) expect(byKey.get(k)).toBe(BigInt(k) * 3n);
  });

  it('sums per-CPU counters written by a program', () => {
    const obj = load();
    obj.program('tc_verdict').testRun(ipv4Frame([10, 0, 0, 1]), { repeat: 7 });
    const runs = obj.map('runs_percpu');
    expect(runs.isPerCpu).toBe(true);
    expect(runs.count()).toBe(2);
    const raw = runs.lookup(u32(0))!;
    expect(raw).toHaveLength(possibleCpus() * 8);
    const perCpu = runs.perCpu(raw);
    expect(perCpu).toHaveLength(possibleCpus());
    expect(perCpu.reduce((sum, v) => sum + v.readBigUInt64LE(0), 0n)).toBe(7n);
    const untouched = runs.perCpu(runs.lookup(u32(1))!);
    expect(untouched.every((v) => v.readBigUInt64LE(0) === 0n)).toBe(true);
    // arrays dump through the batch path too, every index present
    const sums = runs.entries().map((e) => [e.key.readUInt32LE(0), runs.perCpu(e.value).reduce((s, v) => s + v.readBigUInt64LE(0), 0n)]);
    expect(sums).toEqual([
      [0, 7n],
      [1, 0n],
    ]);
  });

  it('replicates one per-CPU value to every CPU, or takes the full buffer', () => {
    const bytes = load().map('bytes_percpu');
    const cpus = possibleCpus();
    // value_size 4 is padded to 8 bytes per CPU
    bytes.update(u32(1), u32(25));
    const raw = bytes.lookup(u32(1))!;
    expect(raw).toHaveLength(cpus * 8);
    expect(bytes.perCpu(raw).map((v) => v.readUInt32LE(0))).toEqual(new Array(cpus).fill(25));
    expect(bytes.perCpu(raw).every((v) => v.length === 4)).toBe(true);

    const full = Buffer.alloc(cpus * 8);
    for (let cpu = 0; cpu < cpus; cpu++) full.writeUInt32LE(cpu + 1, cpu * 8);
    bytes.update(u32(2), full);
    const [entry] = bytes.entries().filter((e) => e.key.readUInt32LE(0) === 2);
    expect(bytes.perCpu(entry!.value).reduce((s, v) => s + v.readUInt32LE(0), 0)).toBe((cpus * (cpus + 1)) / 2);
    expectBpfError(() => bytes.update(u32(3), Buffer.alloc(3)), 'EINVAL');
  });

  it('looks up the longest prefix in an LPM trie, from user space and from a program', () => {
    const obj = load();
    const prefixes = obj.map('prefixes');
    prefixes.update(prefixKey(8, [10, 0, 0, 0]), u32(1));
    prefixes.update(prefixKey(16, [10, 1, 0, 0]), u32(2));
    expect(prefixes.lookup(prefixKey(32, [10, 1, 2, 3]))).toEqual(u32(2));
    expect(prefixes.lookup(prefixKey(32, [10, 9, 9, 9]))).toEqual(u32(1));
    expect(prefixes.lookup(prefixKey(32, [11, 0, 0, 1]))).toBeNull();

    const tcPrefix = obj.program('tc_prefix');
    expect(tcPrefix.testRun(ipv4Frame([10, 1, 2, 3])).retval).toBe(2);
    expect(tcPrefix.testRun(ipv4Frame([10, 200, 0, 1])).retval).toBe(1);
    expect(tcPrefix.testRun(ipv4Frame([192, 0, 2, 1])).retval).toBe(0);

    // LPM tries have no batch lookup: this is the key-by-key path
    const keys = prefixes.entries().map((e) => e.key.toString('hex')).sort();
    expect(keys).toEqual([prefixKey(16, [10, 1, 0, 0]).toString('hex'), prefixKey(8, [10, 0, 0, 0]).toString('hex')].sort());
    expect(prefixes.count()).toBe(2);
    expect(prefixes.delete(prefixKey(8, [10, 0, 0, 0]))).toBe(true);
    expect(prefixes.lookup(prefixKey(32, [10, 9, 9, 9]))).toBeNull();
  });
});

describe('RingBuffer', () => {
  it('delivers the records a program writes, byte for byte', async () => {
    const obj = load();
    const received: Buffer[] = [];
    let wakeups = 0;
    const frame = ipv4Frame([10, 0, 0, 7]);
    const all = new Promise<void>((resolve) => {
      const rb = new RingBuffer(obj.map('events'), (events) => {
        wakeups++;
        received.push(...events);
        if (received.length >= 3) {
          rb.close();
          resolve();
        }
      });
    });
    expect(obj.program('tc_emit').testRun(frame, { repeat: 3 }).retval).toBe(0);
    await all;

    const expected = Buffer.alloc(24);
    expected.writeUInt32LE(0xf10e1e75, 0);
    expected.writeUInt32LE(frame.length, 4);
    frame.copy(expected, 8, 0, 16);
    expect(received).toEqual([expected, expected, expected]);
    // all three were in the ring before the loop polled it
    expect(wakeups).toBe(1);
  });

  it('accepts only ring buffer maps', () => {
    const obj = load();
    expectBpfError(() => new RingBuffer(obj.map('counts'), () => {}), 'EINVAL');
  });

  it('is closed with its object', async () => {
    const obj = load();
    let calls = 0;
    const rb = new RingBuffer(obj.map('events'), () => calls++);
    obj.close();
    rb.close();
    // nothing fires after close: the poll handle is gone
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBe(0);
  });
});

describe('TC attach', () => {
  it('attaches and detaches with tcx', () => {
    const dev = makeVeth();
    const prog = load().program('tc_verdict');
    const ingress = prog.attachTc(ifindexOf(dev), 'ingress', { mode: 'tcx' });
    expect(ingress).toMatchObject({ mode: 'tcx', ifindex: ifindexOf(dev), hook: 'ingress' });
    const egress = prog.attachTc(ifindexOf(dev), 'egress');
    expect(egress.mode).toBe('tcx'); // 'auto' picks tcx on this kernel
    expect(tcxLinksOf(prog)).toHaveLength(2);

    ingress.detach();
    expect(tcxLinksOf(prog)).toHaveLength(1);
    egress.detach();
    egress.detach();
    expect(tcxLinksOf(prog)).toHaveLength(0);
  });

  it('attaches and detaches a clsact filter', () => {
    const dev = makeVeth();
    const prog = load().program('tc_verdict');
    const att = prog.attachTc(ifindexOf(dev), 'ingress', { mode: 'clsact', priority: 7 });
    expect(att).toMatchObject({ mode: 'clsact', hook: 'ingress' });
    const shown = tcFilters(dev, 'ingress');
    expect(shown).toContain('pref 7 bpf');
    expect(shown).toContain(`tc_verdict:[${prog.info().id}] direct-action`);
    expect(tcFilters(dev, 'egress')).toBe('');
    att.detach();
    expect(tcFilters(dev, 'ingress')).toBe('');
    att.detach();
  });

  it('detaches quietly when the interface is gone', () => {
    const dev = makeVeth();
    const prog = load().program('tc_verdict');
    const clsact = prog.attachTc(ifindexOf(dev), 'egress', { mode: 'clsact' });
    const tcx = prog.attachTc(ifindexOf(dev), 'ingress', { mode: 'tcx' });
    run('ip', ['link', 'del', dev]);
    expect(() => clsact.detach()).not.toThrow();
    expect(() => tcx.detach()).not.toThrow();
  });

  it('fails with ENODEV for an interface that does not exist', () => {
    const prog = load().program('tc_verdict');
    expectBpfError(() => prog.attachTc(0x7ffffff0, 'ingress', { mode: 'tcx' }), 'ENODEV');
  });

  it('detaches everything when the object is closed', () => {
    const dev = makeVeth();
    const obj = load();
    const prog = obj.program('tc_verdict');
    prog.attachTc(ifindexOf(dev), 'ingress', { mode: 'tcx' });
    prog.attachTc(ifindexOf(dev), 'egress', { mode: 'clsact' });
    expect(tcxLinksOf(prog)).toHaveLength(1);
    expect(tcFilters(dev, 'egress')).toContain('tc_verdict');
    const id = prog.info().id;
    obj.close();
    const links = JSON.parse(run('bpftool', ['link', 'show', '-j'])) as BpftoolLink[];
    expect(links.filter((l) => l.prog_id === id)).toEqual([]);
    expect(tcFilters(dev, 'egress')).toBe('');
  });
});

describe('teardown', () => {
  // Plain CommonJS on the raw addon: what is left open here is exactly what a crashed caller leaves.
  const leaveOpen = (ifindex: number): string => `
    const n = require(${JSON.stringify(ADDON_PATH)});
    const h = n.objectOpen(${JSON.stringify(fixture('addon_test'))});
    n.objectLoad(h);
    n.ringBufferOpen(n.objectMapInfo(h, 'events').fd, () => {});
    n.tcAttach(n.objectProgramFd(h, 'tc_verdict'), ${ifindex}, false, 'clsact', 0);
    n.tcAttach(n.objectProgramFd(h, 'tc_verdict'), ${ifindex}, true, 'tcx', 0);
    n.enableStats();
  `;

  it('releases what a worker thread left open when the worker ends', async () => {
    const dev = makeVeth();
    const worker = new Worker(`${leaveOpen(ifindexOf(dev))}; require('node:worker_threads').parentPort.postMessage('open');`, {
      eval: true,
    });
    await once(worker, 'message');
    expect(tcFilters(dev, 'ingress')).toContain('tc_verdict');
    await worker.terminate();
    expect(tcFilters(dev, 'ingress')).toBe('');
  });

  it('removes clsact filters when the process calls process.exit()', () => {
    const dev = makeVeth();
    run(process.execPath, ['-e', `${leaveOpen(ifindexOf(dev))}; process.exit(0);`]);
    expect(tcFilters(dev, 'ingress')).toBe('');
  });
});

describe('BpfProgram', () => {
  it('attaches per its SEC() and stops counting once the link is destroyed', () => {
    const obj = load((o) => o.setGlobal('target_tgid', process.pid));
    const calls = obj.map('getppid_calls');
    const link = obj.program('on_sys_enter').attach();
    const before = calls.lookup(u32(0))!.readBigUInt64LE(0);
    // process.ppid calls getppid(2) each time it is read
    for (let i = 0; i < 5; i++) expect(process.ppid).toBeGreaterThan(0);
    const during = calls.lookup(u32(0))!.readBigUInt64LE(0);
    expect(during - before).toBe(5n);
    link.destroy();
    link.destroy();
    for (let i = 0; i < 5; i++) expect(process.ppid).toBeGreaterThan(0);
    expect(calls.lookup(u32(0))!.readBigUInt64LE(0)).toBe(during);
  });

  it('counts runs while statistics are enabled', () => {
    const prog = load().program('tc_verdict');
    const stats = enableBpfStats();
    const before = prog.info();
    expect(before.name).toBe('tc_verdict');
    expect(before.id).toBeGreaterThan(0);
    prog.testRun(ipv4Frame([10, 0, 0, 1]), { repeat: 10 });
    const after = prog.info();
    expect(after.runCount - before.runCount).toBe(10n);
    expect(after.runTimeNs).toBeGreaterThan(before.runTimeNs);
    stats.disable();
    stats.disable();
    prog.testRun(ipv4Frame([10, 0, 0, 1]), { repeat: 10 });
    expect(prog.info().runCount).toBe(after.runCount);
  });

  it('returns the output packet of a test run', () => {
    const prog = load((o) => o.setGlobal('verdict', 2)).program('tc_verdict');
    const frame = ipv4Frame([10, 0, 0, 1]);
    const result = prog.testRun(frame);
    expect(result.retval).toBe(2);
    expect(result.data).toEqual(frame);
    expect(result.durationNs).toBeGreaterThanOrEqual(0);
    expectBpfError(() => prog.testRun(frame, { dataOutSize: 8 }), 'ENOSPC');
  });
});

describe('system', () => {
  it('counts possible CPUs as the kernel does', () => {
    const range = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
    const count = range
      .split(',')
      .map((part) => part.split('-').map(Number))
      .reduce((n, [lo, hi]) => n + (hi === undefined ? 1 : hi - lo! + 1), 0);
    expect(possibleCpus()).toBe(count);
  });

  it('recognises a BPF filesystem', () => {
    expect(isBpfFsMounted()).toBe(true);
    expect(isBpfFsMounted('/tmp')).toBe(false);
    expect(isBpfFsMounted('/no/such/dir')).toBe(false);
  });
});
