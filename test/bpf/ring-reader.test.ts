// RingReader: ring buffers read by a thread of their own at SCHED_IDLE, the
// records handed to the main thread in batches. Against the real kernel: the
// fixture's tc_emit writes one record per BPF_PROG_TEST_RUN, no network needed.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BpfObject, RingReader, forEachRecord } from '../../src/bpf/index.js';
import { addon } from '../../src/bpf/addon.js';
import { BATCH_RECORDS } from '../../src/bpf/ring-batch.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The records tc_emit writes: magic, the frame's length, its first 16 bytes (test/bpf/fixtures/addon_test.bpf.c). */
const MAGIC = 0xf10e1e75;
const SCHED_OTHER = 0;
const SCHED_IDLE = 5;

/** The fixture's object file, compiled with the Makefile's flags when missing or stale. */
function fixture(stem: string): string {
  const src = path.join(ROOT, 'test/bpf/fixtures', `${stem}.bpf.c`);
  const obj = path.join(ROOT, 'bpf/.output', `${stem}.bpf.o`);
  if (!existsSync(obj) || statSync(obj).mtimeMs < statSync(src).mtimeMs) {
    const arch = process.arch === 'arm64' ? 'arm64' : 'x86';
    execFileSync('clang', ['-g', '-O2', '-Wall', '-Werror', '-target', 'bpf', `-D__TARGET_ARCH_${arch}`, '-Ibpf', '-Ibpf/include', '-c', src, '-o', obj], { cwd: ROOT });
  }
  return obj;
}

const opened: BpfObject[] = [];
afterEach(async () => {
  for (const obj of opened.splice(0)) obj.close();
  await RingReader.threadStopped();
});

/** The fixture with a ring of ringBytes. */
function load(ringBytes = 64 * 1024): BpfObject {
  const obj = BpfObject.open(fixture('addon_test'));
  opened.push(obj);
  obj.setMapMaxEntries('events', ringBytes);
  obj.load();
  return obj;
}

/** A frame of `length` bytes whose first 16 bytes say `n`. */
function frame(length: number, n: number): Buffer {
  const f = Buffer.alloc(length, 0xab);
  f.writeUInt32LE(n, 0);
  return f;
}

function expectedRecord(f: Buffer): Buffer {
  const r = Buffer.alloc(24);
  r.writeUInt32LE(MAGIC, 0);
  r.writeUInt32LE(f.length, 4);
  f.copy(r, 8, 0, 16);
  return r;
}

/** The scheduling policy of a thread of this process, from the kernel's own account of it. */
function policyOf(tid: number): number {
  const sched = readFileSync(`/proc/self/task/${tid}/sched`, 'utf8');
  const m = /^policy\s*:\s*(\d+)$/m.exec(sched);
  if (!m) throw new Error(`no policy line in /proc/self/task/${tid}/sched`);
  return Number(m[1]);
}

describe('RingReader', () => {
  it('hands over every record a program writes, byte for byte and in order, in batches of at most BATCH_RECORDS', async () => {
    const obj = load();
    const received: Buffer[] = [];
    const batchSizes: number[] = [];
    // a timer that never fires during the test: read() alone reads
    const reader = new RingReader(obj.map('events'), {
      readIntervalMs: 3_600_000,
      onBatch: (batch, bytes) => {
        let n = 0;
        forEachRecord(batch, bytes, (at, length) => {
          // copied: the batch is reused once this call returns
          received.push(Buffer.from(batch.subarray(at, at + length)));
          n++;
        });
        batchSizes.push(n);
      },
    });
    const RECORDS = 2 * BATCH_RECORDS + 44;
    const frames = Array.from({ length: RECORDS }, (_, i) => frame(64 + (i % 200), i));
    for (const f of frames) expect(obj.program('tc_emit').testRun(f).retval).toBe(0);

    await reader.read();
    expect(received).toEqual(frames.map(expectedRecord));
    expect(batchSizes).toEqual([BATCH_RECORDS, BATCH_RECORDS, 44]);

    // read again: nothing new, nothing handed over twice
    await reader.read();
    expect(received.length).toBe(RECORDS);
    reader.close();
  });

  it('reads on its timer without being asked', async () => {
    const obj = load();
    let got = 0;
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    const reader = new RingReader(obj.map('events'), {
      readIntervalMs: 20,
      onBatch: (batch, bytes) => {
        forEachRecord(batch, bytes, () => got++);
        if (got === 5) done();
      },
    });
    expect(obj.program('tc_emit').testRun(frame(64, 1), { repeat: 5 }).retval).toBe(0);
    await all;
    expect(got).toBe(5);
    reader.close();
  });

  it('runs its thread at SCHED_IDLE, and leaves the calling thread at normal priority', async () => {
    const obj = load();
    const reader = new RingReader(obj.map('events'), { readIntervalMs: 3_600_000, onBatch: () => {} });
    const status = await RingReader.threadStarted()!;
    expect(status).toEqual({ tid: status.tid, idle: true });
    expect(RingReader.threadStatus()).toEqual(status);
    const self = addon().threadId();
    expect(status.tid).not.toBe(self);
    expect(policyOf(status.tid)).toBe(SCHED_IDLE);
    expect(policyOf(self)).toBe(SCHED_OTHER);
    // as an operator checks it
    expect(execFileSync('chrt', ['-p', String(status.tid)], { encoding: 'utf8' })).toContain('SCHED_IDLE');
    reader.close();
  });

  it('ends its thread when the last reader closes, and starts a new one for the next', async () => {
    const a = new RingReader(load().map('events'), { readIntervalMs: 3_600_000, onBatch: () => {} });
    const b = new RingReader(load().map('events'), { readIntervalMs: 3_600_000, onBatch: () => {} });
    const first = await RingReader.threadStarted()!;
    a.close();
    // b still reads through the same thread
    await b.read();
    expect(existsSync(`/proc/self/task/${first.tid}`)).toBe(true);
    b.close();
    expect(RingReader.threadStatus()).toBeUndefined();
    await RingReader.threadStopped();
    expect(existsSync(`/proc/self/task/${first.tid}`)).toBe(false);

    const obj = load();
    let got = 0;
    const c = new RingReader(obj.map('events'), { readIntervalMs: 3_600_000, onBatch: (batch, bytes) => forEachRecord(batch, bytes, () => got++) });
    const second = await RingReader.threadStarted()!;
    expect(second.tid).not.toBe(first.tid);
    expect(policyOf(second.tid)).toBe(SCHED_IDLE);
    expect(obj.program('tc_emit').testRun(frame(64, 1), { repeat: 3 }).retval).toBe(0);
    await c.read();
    expect(got).toBe(3);
    c.close();
  });

  it('is closed with its object: nothing is handed over after, and the thread ends', async () => {
    const obj = load();
    let calls = 0;
    const reader = new RingReader(obj.map('events'), { readIntervalMs: 3_600_000, onBatch: () => calls++ });
    const { tid } = await RingReader.threadStarted()!;
    // records waiting in the ring when the object closes are never handed over
    expect(obj.program('tc_emit').testRun(frame(64, 1), { repeat: 3 }).retval).toBe(0);
    obj.close();
    await RingReader.threadStopped();
    expect(existsSync(`/proc/self/task/${tid}`)).toBe(false);
    expect(calls).toBe(0);
    await expect(reader.read()).rejects.toMatchObject({ code: 'EBADF' });
  });

  it('accepts only ring buffer maps', () => {
    const obj = load();
    expect(() => new RingReader(obj.map('counts'), { readIntervalMs: 100, onBatch: () => {} })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});
