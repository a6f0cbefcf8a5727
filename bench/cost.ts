import { execFileSync } from 'node:child_process';
import { ownedProgramIds } from '../test/common/exporter.js';

/**
 * What a process costs besides its own CPU: the run time of the BPF programs
 * it holds. Programs run in the context of whichever task sent or received
 * the packet (softirq), so that time is in no process's utime or stime; it is
 * only known while kernel-wide bpf_stats are on (enableBpfStats), which
 * themselves cost every program two clock reads per run: the benchmarks turn
 * them on only for runs that measure cost, never for runs whose requests/s or
 * latency they compare.
 */

export interface ProgramTime {
  runTimeNs: number;
  runCount: number;
}

/** Total run time and run count so far of the BPF programs `pid` holds (through program or link fds). */
export function programTime(pid: number): ProgramTime {
  const ids = new Set(ownedProgramIds(pid));
  if (ids.size === 0) throw new Error(`process ${pid} holds no BPF programs`);
  const programs: { id: number; run_time_ns?: number; run_cnt?: number }[] = JSON.parse(
    execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8', maxBuffer: 64 << 20 }),
  );
  let runTimeNs = 0;
  let runCount = 0;
  let found = 0;
  for (const p of programs) {
    if (!ids.has(p.id)) continue;
    found++;
    // bpftool leaves the fields out while they are 0
    runTimeNs += p.run_time_ns ?? 0;
    runCount += p.run_cnt ?? 0;
  }
  if (found !== ids.size) throw new Error(`bpftool listed ${found} of the ${ids.size} programs of process ${pid}`);
  return { runTimeNs, runCount };
}

/**
 * Latencies (ms) of GET `url` (the whole body read) once every `everyMs`
 * until `until` settles: what a Prometheus server polling the exporter would
 * see. A scrape that takes longer than `everyMs` delays the next one, as a
 * Prometheus server never overlaps scrapes of one target. Throws on a
 * non-200 answer.
 */
export async function scrapeWhile(url: string, everyMs: number, until: Promise<unknown>): Promise<number[]> {
  let done = false;
  const finished = until.finally(() => (done = true));
  // a failed run is reported by the `await finished` below, not as an unhandled rejection
  finished.catch(() => {});
  const latencies: number[] = [];
  while (!done) {
    const t0 = performance.now();
    const res = await fetch(url);
    await res.text();
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
    const ms = performance.now() - t0;
    latencies.push(ms);
    const wait = everyMs - ms;
    if (wait > 0) await Promise.race([new Promise((r) => setTimeout(r, wait)), finished]);
  }
  await finished;
  return latencies;
}
