// Exemplars of the kernel's latency histograms: the trace id of a recent
// exchange per series and bucket, so a latency panel links to a trace. The
// kernel counts every exchange; the exchanges that became exported spans are
// offered here (run.ts), each under the key of the kernel record it is
// counted in, and the histogram picks, per bucket of each series, the newest
// exemplar of the records that render into that series. Shown in the
// OpenMetrics exposition only (the Prometheus text format has no exemplars).

/** One exemplar, as prom-client renders it: `# {trace_id="..."} value timestamp`. */
export interface Exemplar {
  labelSet: { trace_id: string };
  value: number;
  /** Seconds since the epoch. */
  timestamp: number;
}

/** Records keyed at most; the least recently observed key goes first beyond it. */
export const MAX_EXEMPLAR_KEYS = 10_000;

export class ExemplarStore {
  private readonly byKey = new Map<string, Array<Exemplar | undefined>>();

  constructor(
    /** Upper bounds of the histogram's buckets in seconds, +Inf implied (the kernel's, as the histogram's). */
    private readonly bounds: readonly number[],
    private readonly maxKeys: number = MAX_EXEMPLAR_KEYS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The bucket an observation falls in, as the kernel counts it: the first bound not below it, else +Inf. */
  bucketOf(valueSeconds: number): number {
    const i = this.bounds.findIndex((b) => valueSeconds <= b);
    return i === -1 ? this.bounds.length : i;
  }

  observe(key: string, valueSeconds: number, traceId: string): void {
    let buckets = this.byKey.get(key);
    if (buckets === undefined) {
      buckets = new Array<Exemplar | undefined>(this.bounds.length + 1).fill(undefined);
      if (this.byKey.size >= this.maxKeys) this.byKey.delete(this.byKey.keys().next().value!);
    } else {
      this.byKey.delete(key);
    }
    this.byKey.set(key, buckets);
    buckets[this.bucketOf(valueSeconds)] = { labelSet: { trace_id: traceId }, value: valueSeconds, timestamp: this.now() / 1000 };
  }

  /** The record's exemplars by bucket (bounds.length + 1 slots), or undefined when it has none. */
  get(key: string): ReadonlyArray<Exemplar | undefined> | undefined {
    return this.byKey.get(key);
  }
}

/** Per bucket, the newer of two exemplars. */
export function newest(into: Array<Exemplar | undefined>, from: ReadonlyArray<Exemplar | undefined>): void {
  for (let i = 0; i < from.length; i++) {
    const e = from[i];
    if (e !== undefined && (into[i] === undefined || into[i]!.timestamp <= e.timestamp)) into[i] = e;
  }
}
