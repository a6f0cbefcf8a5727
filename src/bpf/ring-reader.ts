/**
 * Ring buffers read off the main thread. One reader thread
 * (./ring-reader-thread.ts, at SCHED_IDLE) serves every open RingReader: it
 * reads each ring on a timer into batches of frames (./ring-batch.ts) and
 * moves them here, where each batch is handed to its ring's consumer in a
 * turn of the event loop of its own, so that an HTTP request never waits
 * behind more than one batch.
 *
 * The thread starts with the first RingReader and ends when the last one
 * closes. It runs the compiled module (dist/bpf/ring-reader-thread.js), as
 * the programs run compiled objects: `make build` builds both.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { addon } from './addon.js';
import { bpfError } from './errors.js';
import { MAP_TYPE, mapOwner, type BpfMap } from './map.js';
import type { Releasable, ResourceOwner } from './owner.js';
import type { FromReaderThread, ReaderThreadData, ToReaderThread } from './ring-batch.js';

/** dist/bpf/ring-reader-thread.js, from src/bpf (vitest) and dist/bpf (built) alike. */
export const READER_THREAD_PATH = fileURLToPath(new URL('../../dist/bpf/ring-reader-thread.js', import.meta.url));

/** How the reader thread runs: its kernel thread id, and whether SCHED_IDLE took effect (error says why not). */
export interface ReaderThreadStatus {
  tid: number;
  idle: boolean;
  error?: string;
}

/** A batch's records, handed to a consumer: valid only during the call (the batch is reused after). */
export type OnBatch = (batch: Buffer, bytes: number) => void;

type Queued = { kind: 'batch'; ring: RingReader; batch: ArrayBuffer; bytes: number } | { kind: 'read'; seq: number };

class ReaderThread {
  private readonly worker: Worker;
  private readonly rings = new Map<number, RingReader>();
  private nextId = 1;
  private nextSeq = 1;
  private readonly reads = new Map<number, () => void>();
  /** Batches and read answers in arrival order, handled one per event-loop turn. */
  private readonly queue: Queued[] = [];
  private scheduled = false;
  stopping = false;
  status: ReaderThreadStatus | undefined;
  readonly started: Promise<ReaderThreadStatus>;
  readonly exited: Promise<void>;

  /** Hold the process open until the thread has exited (see RingReader.threadStopped). */
  keepAliveUntilExit(): void {
    this.worker.ref();
  }

  constructor(readIntervalMs: number) {
    const workerData: ReaderThreadData = { readIntervalMs };
    this.worker = new Worker(READER_THREAD_PATH, { workerData, name: 'flowlens-ring-reader' });
    // the thread never keeps the process alive by itself, as a timer-read ring never did
    this.worker.unref();
    let onStarted!: (status: ReaderThreadStatus) => void;
    let onFailed!: (err: Error) => void;
    this.started = new Promise((resolve, reject) => {
      onStarted = resolve;
      onFailed = reject;
    });
    // awaited or not, a failed start must not be an unhandled rejection: the rings hear of it too
    this.started.catch(() => {});
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', () => {
        // an exit not asked for leaves the rings unread: their consumers hear of it
        if (!this.stopping) for (const ring of this.rings.values()) ring.failed('the ring reader thread ended');
        this.rings.clear();
        this.stopping = true;
        onFailed(new Error('the ring reader thread ended before it started'));
        for (const done of this.reads.values()) done();
        this.reads.clear();
        resolve();
      }),
    );
    this.worker.on('message', (message: FromReaderThread) => {
      switch (message.op) {
        case 'started':
          this.status = { tid: message.tid, idle: message.idle, ...(message.error !== undefined ? { error: message.error } : {}) };
          onStarted(this.status);
          break;
        case 'batch': {
          const ring = this.rings.get(message.id);
          if (ring) this.enqueue({ kind: 'batch', ring, batch: message.batch, bytes: message.bytes });
          else this.post({ op: 'return', batch: message.batch }, [message.batch]);
          break;
        }
        case 'read':
          this.enqueue({ kind: 'read', seq: message.seq });
          break;
        case 'failed':
          this.rings.get(message.id)?.failed(message.message);
          break;
      }
    });
    // a thread that cannot run (no dist/, a crash): its start fails and every ring hears why
    this.worker.on('error', (err) => {
      onFailed(err);
      for (const ring of this.rings.values()) ring.failed(`the ring reader thread failed: ${err.message}`);
      this.rings.clear();
    });
  }

  open(ring: RingReader, fd: number): number {
    const id = this.nextId++;
    this.rings.set(id, ring);
    this.post({ op: 'open', id, fd });
    return id;
  }

  close(id: number): void {
    this.rings.delete(id);
    this.post({ op: 'close', id });
    if (this.rings.size === 0) {
      this.stopping = true;
      this.post({ op: 'stop' });
      // what was queued for closed rings goes nowhere; pending reads end now
      this.queue.length = 0;
      for (const done of this.reads.values()) done();
      this.reads.clear();
    }
  }

  /** Resolves once every record waiting now in every ring has been handed to its consumer. */
  read(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    const seq = this.nextSeq++;
    return new Promise((resolve) => {
      this.reads.set(seq, resolve);
      this.post({ op: 'read', seq });
    });
  }

  private post(message: ToReaderThread, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(message, transfer);
  }

  private enqueue(item: Queued): void {
    this.queue.push(item);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.handleOne());
    }
  }

  private handleOne(): void {
    this.scheduled = false;
    const item = this.queue.shift();
    if (this.queue.length > 0) {
      this.scheduled = true;
      setImmediate(() => this.handleOne());
    }
    if (!item) return;
    if (item.kind === 'read') {
      this.reads.get(item.seq)?.();
      this.reads.delete(item.seq);
      return;
    }
    try {
      item.ring.deliver(Buffer.from(item.batch, 0, item.bytes), item.bytes);
    } finally {
      if (!this.stopping) this.post({ op: 'return', batch: item.batch }, [item.batch]);
    }
  }
}

let current: ReaderThread | undefined;
/** The last thread's exit, for stopped(). */
let lastExit: Promise<void> = Promise.resolve();

function thread(readIntervalMs: number): ReaderThread {
  if (!current || current.stopping) {
    current = new ReaderThread(readIntervalMs);
    lastExit = current.exited;
  }
  return current;
}

/**
 * Consumer of a BPF_MAP_TYPE_RINGBUF map whose records are read by the
 * reader thread every readIntervalMs (for producers that submit without
 * wakeups). onBatch gets each batch's records (./ring-batch.ts forEachRecord)
 * on the main thread. Closing the map's object closes it.
 */
export class RingReader implements Releasable {
  #id: number | undefined;
  readonly #thread: ReaderThread;
  readonly #owner: ResourceOwner | undefined;
  readonly #onBatch: OnBatch;
  readonly #onError: ((message: string) => void) | undefined;

  constructor(map: BpfMap, opts: { readIntervalMs: number; onBatch: OnBatch; onError?: (message: string) => void }) {
    if (map.type !== MAP_TYPE.RINGBUF) {
      throw bpfError('EINVAL', `map '${map.name}' is not a ring buffer (type ${map.type})`);
    }
    this.#owner = mapOwner(map);
    this.#owner?.assertOpen(`ring reader on map '${map.name}'`);
    this.#onBatch = opts.onBatch;
    this.#onError = opts.onError;
    // the thread gets its own fd: the object may close the map's before the thread has opened the ring
    const fd = addon().fdDup(map.fd);
    this.#thread = thread(opts.readIntervalMs);
    this.#id = this.#thread.open(this, fd);
    this.#owner?.adopt(this);
  }

  /** Resolves once the records waiting now (in every open ring) have been handed to their consumers. */
  read(): Promise<void> {
    if (this.#id === undefined) return Promise.reject(bpfError('EBADF', 'ring reader is closed'));
    return this.#thread.read();
  }

  /** Stops reading this ring (the thread ends with the last one); idempotent. Records not yet handed over are dropped. */
  close(): void {
    const id = this.#id;
    if (id === undefined) return;
    this.#id = undefined;
    this.#owner?.disown(this);
    this.#thread.close(id);
  }

  release(): void {
    this.close();
  }

  /** @internal from the thread */
  deliver(batch: Buffer, bytes: number): void {
    if (this.#id !== undefined) this.#onBatch(batch, bytes);
  }

  /** @internal from the thread: this ring can no longer be read. */
  failed(message: string): void {
    this.#onError?.(message);
  }

  /** The reader thread's scheduling, once it has started (undefined before, and with no ring open). */
  static threadStatus(): ReaderThreadStatus | undefined {
    return current && !current.stopping ? current.status : undefined;
  }

  /** Resolves with the reader thread's scheduling once it has started; undefined when no ring is open. */
  static threadStarted(): Promise<ReaderThreadStatus> | undefined {
    return current && !current.stopping ? current.started : undefined;
  }

  /**
   * Resolves once the reader thread has ended (at once when none runs or ran).
   * The thread is unref'd so that it never keeps the process alive; a caller
   * waiting for its end must, or a process with nothing else left to do (a
   * start that failed and is being undone) exits before the wait is over.
   */
  static threadStopped(): Promise<void> {
    current?.keepAliveUntilExit();
    return lastExit;
  }
}
