// The ring reader thread (node:worker_threads): reads the programs' ring
// buffers on a timer into batches and moves them to the main thread
// (./ring-reader.ts). It first moves itself to SCHED_IDLE: it runs
// only on CPU time that no workload thread wants, so reading events never
// delays a request on a busy node, while the main thread keeps normal
// priority for /metrics and the API. Counters live in the kernel: what this
// thread does not read in time is counted there as lost, never miscounted.
//
// It allocates nothing per event: each read copies the waiting records into
// a reused ArrayBuffer (src/native/reader.c), which goes to the main thread
// and comes back once handled.

import { parentPort, workerData } from 'node:worker_threads';
import { addon } from './addon.js';
import { BATCH_BYTES, BATCH_RECORDS, BATCHES_IN_FLIGHT, type FromReaderThread, type ReaderThreadData, type ToReaderThread } from './ring-batch.js';

const port = parentPort;
if (!port) throw new Error('ring-reader-thread.js runs as a worker thread (./ring-reader.ts starts it)');
const native = addon();

function send(message: FromReaderThread, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

let started: FromReaderThread;
try {
  started = { op: 'started', tid: native.threadSetIdle(), idle: true };
} catch (err) {
  // without CAP_SYS_NICE a thread can still lower itself; a refusal is reported, not fatal
  started = { op: 'started', tid: native.threadId(), idle: false, error: (err as Error).message };
}
send(started);

/** Ring readers by the main thread's id for them. */
const readers = new Map<number, number>();
const spare: ArrayBuffer[] = [];
let batches = 0;

/** A batch to fill: a returned one, or a new one while fewer than BATCHES_IN_FLIGHT exist. */
function takeBatch(): ArrayBuffer | undefined {
  const batch = spare.pop();
  if (batch) return batch;
  if (batches >= BATCHES_IN_FLIGHT) return undefined;
  batches++;
  return new ArrayBuffer(BATCH_BYTES);
}

/** Reads each ring until it is empty or every batch is out (the main thread is behind: the rest waits in the ring). */
function readAll(): void {
  for (const [id, handle] of readers) {
    for (;;) {
      const batch = takeBatch();
      if (!batch) return;
      let bytes: number;
      try {
        bytes = native.ringReaderRead(handle, batch, BATCH_RECORDS);
      } catch (err) {
        spare.push(batch);
        readers.delete(id);
        native.close(handle);
        send({ op: 'failed', id, message: (err as Error).message });
        break;
      }
      if (bytes === 0) {
        spare.push(batch);
        break;
      }
      send({ op: 'batch', id, batch, bytes }, [batch]);
    }
  }
}

const timer = setInterval(readAll, (workerData as ReaderThreadData).readIntervalMs);

port.on('message', (message: ToReaderThread) => {
  switch (message.op) {
    case 'open':
      try {
        readers.set(message.id, native.ringReaderOpen(message.fd));
      } catch (err) {
        send({ op: 'failed', id: message.id, message: (err as Error).message });
      }
      break;
    case 'close': {
      const handle = readers.get(message.id);
      readers.delete(message.id);
      if (handle !== undefined) native.close(handle);
      break;
    }
    case 'read':
      readAll();
      send({ op: 'read', seq: message.seq });
      break;
    case 'return':
      spare.push(message.batch);
      break;
    case 'stop':
      clearInterval(timer);
      for (const handle of readers.values()) native.close(handle);
      readers.clear();
      // nothing left to keep the thread alive: it ends
      port.close();
      break;
  }
});
