/**
 * Batches of ring-buffer records as the reader thread (./ring-reader-thread.ts)
 * hands them to the main thread (./ring-reader.ts): an ArrayBuffer of frames
 * (src/native/reader.c), moved between the threads and back without a copy.
 *
 * A batch holds at most BATCH_RECORDS records, so the main thread handles
 * events in slices short enough that a scrape or an API request waits for one
 * slice at most; at most BATCHES_IN_FLIGHT batches are out at once, so a main
 * thread that falls behind leaves the rest in the ring, where the kernel
 * counts what it cannot keep as lost, instead of piling them up in memory.
 */
export const BATCH_RECORDS = 128;
/** Room for BATCH_RECORDS of the largest event (DNS, 208 bytes) plus reader.c's 4 KiB margin. */
export const BATCH_BYTES = 32 * 1024;
export const BATCHES_IN_FLIGHT = 32;

/** A frame: u32 record length, u32 zero, the record padded to 8 bytes (src/native/reader.c). */
const FRAME_HEADER = 8;

/**
 * Calls visit(offset, length) for each record of a batch, in ring order. A
 * record the reader could not copy (larger than it takes) has length 0.
 */
export function forEachRecord(batch: Buffer, bytes: number, visit: (offset: number, length: number) => void): void {
  let at = 0;
  while (at + FRAME_HEADER <= bytes) {
    const length = batch.readUInt32LE(at);
    visit(at + FRAME_HEADER, length);
    at += FRAME_HEADER + ((length + 7) & ~7);
  }
}

/** Given to the reader thread at its start. */
export interface ReaderThreadData {
  readIntervalMs: number;
}

/** Messages to the reader thread. */
export type ToReaderThread =
  | { op: 'open'; id: number; fd: number }
  | { op: 'close'; id: number }
  /** Read every ring now, then answer 'read' with the same seq. */
  | { op: 'read'; seq: number }
  /** A batch the main thread is done with, for reuse. */
  | { op: 'return'; batch: ArrayBuffer }
  | { op: 'stop' };

/** Messages from the reader thread. */
export type FromReaderThread =
  | { op: 'started'; tid: number; idle: boolean; error?: string }
  | { op: 'batch'; id: number; batch: ArrayBuffer; bytes: number }
  | { op: 'read'; seq: number }
  | { op: 'failed'; id: number; message: string };
