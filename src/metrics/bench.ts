// /metrics render time at a given number of series, for bench/. The datapath
// is a fake returning a prebuilt snapshot, so this measures the metrics layer
// only (label rendering, summation, limits, text), not reading kernel maps.

import { performance } from 'node:perf_hooks';
import { createMetrics } from './core/registry.js';
import type { IdentityContext } from '../identity/contexts.js';
import type { DatapathSnapshot } from '../datapath/records.js';

export interface RenderBenchmarkOptions {
  /** Measured renders; the median is reported. */
  runs?: number;
  /** Unmeasured renders first, so admission and JIT warm-up are not counted. */
  warmup?: number;
}

export interface RenderBenchmarkResult {
  /** Median wall time of one registry.metrics() call. */
  ms: number;
  /** Series in flowlens_packets_total (flowlens_bytes_total has as many). */
  series: number;
  runs: number;
  /** Size of one rendered exposition. */
  bytes: number;
}

/** Snapshot whose traffic records give `series` distinct flowlens_packets_total series. */
export function benchmarkSnapshot(series: number): DatapathSnapshot {
  const traffic = [];
  for (let i = 0; i < series; i++) {
    // A few hundred workloads talking to each other, like a busy node.
    traffic.push({
      srcIdentity: 70000 + (i % 500),
      dstIdentity: 80000 + Math.floor(i / 500),
      protocol: i % 3 === 0 ? 17 : 6,
      direction: 2,
      verdict: 1,
      packets: 1000 + i,
      bytes: 150000 + i,
    });
  }
  return {
    traffic,
    starts: [],
    tcpFlags: [],
    drops: [],
    connectionAttempts: [],
    httpRequests: [],
    httpResponses: [],
    httpMessages: [],
    parsePackets: [{ reason: 'not_ip', count: 12 }],
    eventsLost: [],
    maps: [{ map: 'flow_traffic', entries: series, capacity: 65536 }],
    programs: [],
    mapUpdateErrors: [],
    attachedInterfaces: 10,
  };
}

function benchmarkIdentity(id: number): IdentityContext {
  const workload = `workload-${id}`;
  return { identity: String(id), namespace: `namespace-${id % 20}`, workload, workload_kind: 'Deployment', app: workload, pod: `${workload}-7d9f8c6b5-x2x4z` };
}

export async function renderBenchmark(series: number, options: RenderBenchmarkOptions = {}): Promise<RenderBenchmarkResult> {
  const runs = options.runs ?? 9;
  const warmup = options.warmup ?? 3;
  const snapshot = benchmarkSnapshot(series);
  const registry = createMetrics({
    config: { contexts: ['namespace', 'workload', 'identity'], seriesLimit: series, destinationPorts: [53, 80, 443] },
    identities: { context: benchmarkIdentity },
    datapath: { snapshot: () => snapshot },
    identityStatus: { sources: () => [{ source: 'static', up: true, identities: 1000, reloadFailures: 0 }] },
    build: { version: 'bench', node: process.version },
    processMetrics: false,
  });

  let bytes = 0;
  for (let i = 0; i < warmup; i++) bytes = (await registry.metrics()).length;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await registry.metrics();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const mid = Math.floor(times.length / 2);
  const ms = times.length % 2 === 1 ? times[mid]! : (times[mid - 1]! + times[mid]!) / 2;
  return { ms, series, runs, bytes };
}
