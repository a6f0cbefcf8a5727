import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfObject, enableBpfStats, type TcAttachment } from '../src/bpf/index.js';
import { ExporterProcess, REPO } from '../test/common/exporter.js';
import { runTag, TestNetwork, type TestHost } from '../test/common/netns.js';
import { parsePrometheusText, sumOf } from '../test/common/prom.js';
import { report, reportTargets } from './report.js';
import { settled } from './settle.js';

/**
 * Cost of flowlens in the data path, as ratios measured in one run:
 * - iperf3 TCP throughput between two namespaces with and without the exporter
 *   running and attached (alternating rounds, medians);
 * - ns per packet of flow.bpf.c against an empty TC program on the same
 *   interface and the same packets, from bpf_stats.
 */

// iperf3 on a 2-vCPU VM varies by several percent from run to run: many short
// alternating rounds and medians, client and server pinned to their own CPUs.
const ROUNDS = 16;
const SECONDS = 3;
// after the exporter exits the kernel still frees its maps and programs (RCU,
// workqueues): the arm without it waits for that, or it would pay for it
const TEARDOWN_SETTLE_MS = 2000;

let net: TestNetwork | undefined;
let exporter: ExporterProcess | undefined;

function iperf(client: TestHost, server: TestHost, extra: string[] = []): number {
  const out = execFileSync(
    'ip',
    ['netns', 'exec', client.ns, 'iperf3', '-c', server.address, '-t', String(SECONDS), '-J', '-A', '0,1', ...extra],
    { encoding: 'utf8' },
  );
  const result = JSON.parse(out);
  return result.end.sum_received?.bits_per_second ?? result.end.sum.bits_per_second;
}

const cpus = () => availableParallelism();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('datapath cost', () => {
  afterAll(() => {
    exporter?.kill();
    net?.cleanup();
  });

  it('throughput with the exporter attached, and flow.bpf.c ns per packet against an empty program', async () => {
    const prefix = `fb${runTag()}`;
    net = new TestNetwork(prefix, '10.214.0');
    const client = net.addHost('cli', 2);
    const server = net.addHost('srv', 3);
    const iperfServer = net.spawnIn(server.ns, 'iperf3', ['-s', '-B', server.address, '--forceflush']);
    await new Promise((r) => iperfServer.stdout!.once('data', r));

    const without: number[] = [];
    const withExporter: number[] = [];
    iperf(client, server, ['-t', '1']); // warm-up: ARP, caches

    // Throughput arms alternate which goes first, so drift in the VM's speed
    // does not favour one; nothing else (no baseline program) is attached.
    const startExporter = async () => {
      exporter = new ExporterProcess(['--interface', `${prefix}*`]);
      await exporter.ready();
      // start-up work (loading, the memory reducer's full GC) is not steady-state cost
      // (with 1.5 s of settling the ratio read 0.96 instead of 0.98-0.99 here)
      await settled(exporter.pid);
      return exporter;
    };
    const stopExporter = async () => {
      expect(await exporter!.terminate()).toBe(0);
      exporter = undefined;
      await new Promise((r) => setTimeout(r, TEARDOWN_SETTLE_MS));
    };
    // every measured run follows a 1 s warm-up run, so that none of them
    // starts after a long idle (the exporter's settling): on this VM a run
    // after idle seconds reads lower, which would count against one arm only
    const measured = () => {
      iperf(client, server, ['-t', '1']);
      return iperf(client, server);
    };
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2 === 0) {
        without.push(measured());
        await startExporter();
        withExporter.push(measured());
        await stopExporter();
      } else {
        await startExporter();
        withExporter.push(measured());
        await stopExporter();
        without.push(measured());
      }
    }

    // ns per packet: the empty baseline program on the same hook as
    // flow_from_endpoint, run by the same packets, both timed by bpf_stats.
    const exp = await startExporter();
    const empty = BpfObject.open(`${REPO}/bpf/.output/empty.bpf.o`);
    empty.load();
    const stats = enableBpfStats();
    let link: TcAttachment | undefined;
    let flowNs = NaN;
    let emptyNs = NaN;
    let wallSeconds = NaN;
    let flowSeconds = NaN;
    try {
      const ifindex = Number(readFileSync(`/sys/class/net/${client.hostIf}/ifindex`, 'utf8'));
      link = empty.program('empty').attachTc(ifindex, 'ingress', { mode: 'tcx' });
      const before = parsePrometheusText(await exp.metricsText());
      const emptyBefore = empty.program('empty').info();
      const t0 = performance.now();
      iperf(client, server);
      wallSeconds = (performance.now() - t0) / 1000;
      const after = parsePrometheusText(await exp.metricsText());
      const emptyAfter = empty.program('empty').info();
      const sel = { program: 'flow_from_endpoint' };
      const runs = sumOf(after, 'flowlens_bpf_program_runs_total', sel) - sumOf(before, 'flowlens_bpf_program_runs_total', sel);
      const secs =
        sumOf(after, 'flowlens_bpf_program_run_seconds_total', sel) - sumOf(before, 'flowlens_bpf_program_run_seconds_total', sel);
      flowNs = (secs * 1e9) / runs;
      // both programs, on all four hooks: the whole kernel-side cost
      flowSeconds =
        sumOf(after, 'flowlens_bpf_program_run_seconds_total') - sumOf(before, 'flowlens_bpf_program_run_seconds_total');
      emptyNs = Number(emptyAfter.runTimeNs - emptyBefore.runTimeNs) / Number(emptyAfter.runCount - emptyBefore.runCount);
    } finally {
      link?.detach();
      stats.disable();
      empty.close();
    }
    await stopExporter();

    // each round's two arms ran back to back: their ratio cancels the VM's slow drift
    const ratio = median(withExporter.map((w, i) => w / without[i]!));
    report('iperf3 TCP throughput without exporter (Gbit/s, median)', (median(without) / 1e9).toFixed(2));
    report('iperf3 TCP throughput with exporter (Gbit/s, median)', (median(withExporter) / 1e9).toFixed(2));
    const spread = (xs: number[]) => `${(Math.min(...xs) / 1e9).toFixed(1)}-${(Math.max(...xs) / 1e9).toFixed(1)}`;
    report(`throughput range without / with over ${ROUNDS} rounds (Gbit/s)`, `${spread(without)} / ${spread(withExporter)}`);
    report('throughput ratio with/without, median of paired rounds (target >= 0.97)', ratio.toFixed(3));
    report('flow.bpf.c ns per packet (bpf_stats)', flowNs.toFixed(1));
    report('empty TC program ns per packet (bpf_stats)', emptyNs.toFixed(1));
    report('flow.bpf.c / empty (target <= 3)', (flowNs / emptyNs).toFixed(2));
    report(`flow.bpf.c CPU time during iperf3, share of ${cpus()} CPUs (%)`, ((100 * flowSeconds) / (wallSeconds * cpus())).toFixed(2));
    reportTargets('issue 15 targets of this file', [
      { id: '4', what: 'flow.bpf.c ns per packet / empty program', figure: (flowNs / emptyNs).toFixed(2), target: '<= 3', met: flowNs / emptyNs <= 3 },
      { id: '5', what: 'iperf3 throughput, exporter settled / bare', figure: ratio.toFixed(3), target: '>= 0.97', met: ratio >= 0.97 },
    ]);
    expect(Number.isFinite(ratio) && Number.isFinite(flowNs / emptyNs)).toBe(true);
  });
});
