// Kernel timestamps (bpf_ktime_get_ns: CLOCK_MONOTONIC) to wall time, for
// flow records and spans alike. process.hrtime.bigint() reads the same clock,
// so the difference between it and Date.now() maps one onto the other. The
// offset is re-read once a minute so that a stepped or slewed wall clock is
// followed.

const RECALIBRATE_NS = 60_000_000_000n;

export class KernelClock {
  private offsetNs = 0n;
  private calibratedAt = -RECALIBRATE_NS;

  constructor(
    private readonly monotonicNow: () => bigint = () => process.hrtime.bigint(),
    private readonly wallNowMs: () => number = () => Date.now(),
  ) {}

  /** Wall time (ns since the epoch) of a CLOCK_MONOTONIC reading. */
  toWallNs(monotonicNs: bigint): bigint {
    const now = this.monotonicNow();
    if (now - this.calibratedAt >= RECALIBRATE_NS) {
      this.offsetNs = BigInt(this.wallNowMs()) * 1_000_000n - now;
      this.calibratedAt = now;
    }
    return monotonicNs + this.offsetNs;
  }

  /** The same as [seconds, nanoseconds] since the epoch (OpenTelemetry's HrTime). */
  toHrTime(monotonicNs: bigint): [number, number] {
    const wall = this.toWallNs(monotonicNs);
    return [Number(wall / 1_000_000_000n), Number(wall % 1_000_000_000n)];
  }

  now(): bigint {
    return this.monotonicNow();
  }
}
