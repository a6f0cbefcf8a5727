import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestHost } from '../test/common/netns.js';

/** One wrk run's own figures (latency from its --latency histogram, in microseconds). */
export interface WrkResult {
  requestsPerSecond: number;
  requests: number;
  p50Us: number;
  p99Us: number;
}

/** wrk's figures at the end of a run, as one JSON line. */
const WRK_FIGURES = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
`;

/** wrk's Lua scripts for a workload, written into `dir`. */
export interface WrkScripts {
  /** closed loop: each connection sends its next request as soon as the answer arrives */
  saturated: string;
  /** each connection waits `paceMs` after an answer before its next request */
  paced: string;
}

export function writeWrkScripts(dir: string, name: string, paceMs: number): WrkScripts {
  const saturated = join(dir, `${name}-saturated.lua`);
  writeFileSync(saturated, WRK_FIGURES);
  const paced = join(dir, `${name}-paced.lua`);
  writeFileSync(paced, `delay = function() return ${paceMs} end\n${WRK_FIGURES}`);
  return { saturated, paced };
}

export interface WrkOptions {
  connections: number;
  seconds: number;
  /** the CPU list wrk is pinned to (taskset -c) */
  cpu: string;
}

/**
 * Runs wrk (one thread) in the client's namespace against `url`. Asynchronous,
 * so that the bench process can scrape the exporter while it runs. Throws on
 * any error wrk counted (connect, read, write, non-2xx status, timeout): a
 * figure from a run that failed requests is not a figure.
 */
export function wrk(client: TestHost, url: string, script: string, opts: WrkOptions): Promise<WrkResult> {
  const args = [
    'netns', 'exec', client.ns, 'taskset', '-c', opts.cpu,
    'wrk', '-t', '1', '-c', String(opts.connections), '-d', `${opts.seconds}s`, '--timeout', '2s', '-s', script, url,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    // wrk stops itself after `seconds`; this only guards against a hung run
    const timer = setTimeout(() => child.kill('SIGKILL'), (opts.seconds + 15) * 1000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('WRK '));
      if (code !== 0 || !line) return reject(new Error(`wrk exited with ${code}, no figures:\n${out}`));
      const r = JSON.parse(line.slice(4));
      if (r.errors !== 0 || r.requests === 0) return reject(new Error(`wrk saw ${r.errors} errors in ${r.requests} requests:\n${out}`));
      resolve({ requestsPerSecond: r.requests / (r.durationUs / 1e6), requests: r.requests, p50Us: r.p50Us, p99Us: r.p99Us });
    });
  });
}
