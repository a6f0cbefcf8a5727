import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * An exporter's first seconds are not its steady state: besides loading, V8's
 * memory reducer runs a full garbage collection about 10 s after start, once
 * allocation calms down: an idle exporter spends 1.4 s of CPU in its first
 * 2 s and 130 ms more at 10 s (RSS 164 -> 123 MiB), then about 10 ms a
 * second. A benchmark arm measured before that GC pays for a one-off burst
 * (it took the paced p99 of an exporter without HTTP parsing to 4.5x bare).
 */
const STARTUP_MS = 12_000;
/** Quiet: under this share of one CPU over QUIET_WINDOW_MS. */
const QUIET_CPU = 0.02;
const QUIET_WINDOW_MS = 1000;
const QUIET_LIMIT_MS = 30_000;

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** user + system CPU seconds of a process so far, from /proc/PID/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat, 12 and 13 after the comm
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * Waits, with no load running, until a just-started exporter is past its
 * start-up work: STARTUP_MS, then until one QUIET_WINDOW_MS in which it used
 * under QUIET_CPU of a CPU. Throws when it never quiets down: the arm would
 * measure something other than the steady state.
 */
export async function settled(pid: number): Promise<void> {
  await sleep(STARTUP_MS);
  const deadline = performance.now() + QUIET_LIMIT_MS;
  for (;;) {
    const before = cpuSeconds(pid);
    await sleep(QUIET_WINDOW_MS);
    const share = (cpuSeconds(pid) - before) / (QUIET_WINDOW_MS / 1000);
    if (share < QUIET_CPU) return;
    if (performance.now() > deadline) throw new Error(`exporter ${pid} still used ${(100 * share).toFixed(1)}% of a CPU ${(STARTUP_MS + QUIET_LIMIT_MS) / 1000} s after start`);
  }
}
