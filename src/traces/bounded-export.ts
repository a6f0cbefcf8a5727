// A bounded export queue, for spans and log records alike: at most
// maxQueueSize items waiting, one export in flight, batches of
// maxExportBatchSize every exportIntervalMilliseconds (or as soon as a batch
// is full). An item that finds the queue full, or whose export fails, is
// dropped and counted, so a receiver that is down costs a bounded amount of
// memory and shows in a self-metric. Part of the lazily loaded OTLP side
// (src/traces/sink.ts).

import { ExportResultCode, type ExportResult } from '@opentelemetry/core';

export interface BoundedExportConfig {
  maxQueueSize: number;
  maxExportBatchSize: number;
  exportIntervalMilliseconds: number;
  exportTimeoutMilliseconds: number;
}

export interface ExportCounts {
  exported: number;
  dropped: { queue_full: number; export_failed: number };
}

/** What the queue needs of an exporter: SpanExporter and LogRecordExporter both fit. */
export interface BatchExporter<T> {
  export(items: T[], done: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
}

const SHUTDOWN_FLUSH_MS = 3000;

/** What the queue reads of an item's resource (spans and log records have one). */
interface PendingResource {
  asyncAttributesPending?: boolean;
  waitForAsyncAttributes?(): Promise<void>;
}

export class BoundedExportQueue<T> {
  private queue: T[] = [];
  private inFlight: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly exporter: BatchExporter<T>,
    private readonly config: BoundedExportConfig,
    private readonly counts: ExportCounts,
    private readonly onError: (err: Error) => void,
  ) {
    this.timer = setInterval(() => void this.exportNext(), config.exportIntervalMilliseconds);
    this.timer.unref();
  }

  push(item: T): void {
    if (this.closed) return;
    if (this.queue.length >= this.config.maxQueueSize) {
      this.counts.dropped.queue_full += 1;
      return;
    }
    this.queue.push(item);
    if (this.queue.length >= this.config.maxExportBatchSize) void this.exportNext();
  }

  /** Items waiting (not in flight). */
  get queued(): number {
    return this.queue.length;
  }

  /** One batch, unless an export is already in flight (it will be followed by the timer). */
  private exportNext(): Promise<void> {
    if (this.inFlight || this.queue.length === 0) return this.inFlight ?? Promise.resolve();
    const batch = this.queue.splice(0, this.config.maxExportBatchSize);
    this.inFlight = new Promise<void>((resolve) => {
      let settled = false;
      const settle = (result: ExportResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timeout);
        if (result.code === ExportResultCode.SUCCESS) this.counts.exported += batch.length;
        else {
          this.counts.dropped.export_failed += batch.length;
          if (result.error) this.onError(result.error);
        }
        this.inFlight = undefined;
        resolve();
      };
      // an exporter that never calls back must not hold the queue forever
      const timeout = setTimeout(
        () => settle({ code: ExportResultCode.FAILED, error: new Error('export timed out') }),
        this.config.exportTimeoutMilliseconds + 1000,
      );
      timeout.unref();
      // a resource whose detectors are still running (host.id) is encoded without their attributes:
      // wait for them first, as the SDK's own processors do
      const pending = batch.flatMap((item) => {
        const resource = (item as { resource?: PendingResource }).resource;
        return resource?.asyncAttributesPending && resource.waitForAsyncAttributes ? [resource.waitForAsyncAttributes()] : [];
      });
      const send = (): void => {
        try {
          this.exporter.export(batch, settle);
        } catch (err) {
          settle({ code: ExportResultCode.FAILED, error: err as Error });
        }
      };
      if (pending.length === 0) send();
      else void Promise.all(pending).then(send, (err: Error) => settle({ code: ExportResultCode.FAILED, error: err }));
    });
    return this.inFlight;
  }

  /** Exports what is queued now: as many batches as it takes, each waited for. */
  async flush(): Promise<void> {
    const rounds = 1 + Math.ceil(this.queue.length / this.config.maxExportBatchSize);
    for (let round = 0; round <= rounds; round++) {
      if (!this.inFlight && this.queue.length === 0) return;
      await this.exportNext();
    }
  }

  /**
   * One last flush, bounded by SHUTDOWN_FLUSH_MS: a receiver that is down must
   * not hold the process's exit for the export timeout of every batch. What
   * is left is counted as dropped.
   */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flush(), new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_FLUSH_MS)))]);
    clearTimeout(timer);
    this.closed = true;
    clearInterval(this.timer);
    this.counts.dropped.export_failed += this.queue.length;
    this.queue = [];
    await this.exporter.shutdown();
  }
}
