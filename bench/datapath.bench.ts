import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfObject, enableBpfStats, type TcAttachment } from '../src/bpf/index.js';
import { ExporterProcess, REPO } from '../test/common/exporter.js';
import { runTag, TestNetwork, type TestHost } from '../test/common/netns.js';
import { parsePrometheusText, sumOf } from '../test/common/prom.js';
import { report } from './report.js';

/**
 * Cost of flowlens in the data path, as ratios measured in one run:
 * - iperf3 TCP throughput between two namespaces with and without the exporter
 *   attached (alternating rounds, medians);
 * - ns per packet of flow.bpf.c against an empty TC program on the same
 *   interface and the same packets, from bpf_stats.
 */

const ROUNDS = 3;
const SECONDS = 3;

let net: TestNetwork | undefined;
let exporter: ExporterProcess | undefined;

function iperf(client: TestHost, server: TestHost, extra: string[] = []): number {
  const out = execFileSync(
    'ip',
    ['netns', 'exec', client.ns, 'iperf3', '-c', server.address, '-t', String(SECONDS), '-J', ...extra],
    { encoding: 'utf8' },
  );
  const result = JSON.parse(out);
  return result.end.sum_received?.bits_per_second ?? result.end.sum.bits_per_second;
}

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
    let flowNs = NaN;
    let emptyNs = NaN;
    iperf(client, server, ['-t', '1']); // warm-up: ARP, caches
    for (let round = 0; round < ROUNDS; round++) {
      without.push(iperf(client, server));

      exporter = new ExporterProcess(['--interface', `${prefix}*`]);
      await exporter.ready();
      // the empty baseline program on the same hook as flow_from_endpoint, seen by the same packets
      const empty = BpfObject.open(`${REPO}/bpf/.output/empty.bpf.o`);
      empty.load();
      const stats = enableBpfStats();
      let link: TcAttachment | undefined;
      try {
        const ifindex = Number(execFileSync('cat', [`/sys/class/net/${client.hostIf}/ifindex`], { encoding: 'utf8' }));
        link = empty.program('empty').attachTc(ifindex, 'ingress', { mode: 'tcx' });
        const before = parsePrometheusText(await exporter.metricsText());
        const emptyBefore = empty.program('empty').info();
        withExporter.push(iperf(client, server));
        const after = parsePrometheusText(await exporter.metricsText());
        const emptyAfter = empty.program('empty').info();
        if (round === ROUNDS - 1) {
          const sel = { program: 'flow_from_endpoint' };
          const runs = sumOf(after, 'flowlens_bpf_program_runs_total', sel) - sumOf(before, 'flowlens_bpf_program_runs_total', sel);
          const secs =
            sumOf(after, 'flowlens_bpf_program_run_seconds_total', sel) - sumOf(before, 'flowlens_bpf_program_run_seconds_total', sel);
          flowNs = (secs * 1e9) / runs;
          emptyNs = Number(emptyAfter.runTimeNs - emptyBefore.runTimeNs) / Number(emptyAfter.runCount - emptyBefore.runCount);
        }
      } finally {
        link?.detach();
        stats.disable();
        empty.close();
      }
      expect(await exporter.terminate()).toBe(0);
      exporter = undefined;
    }

    const ratio = median(withExporter) / median(without);
    report('iperf3 TCP throughput without exporter (Gbit/s, median)', (median(without) / 1e9).toFixed(2));
    report('iperf3 TCP throughput with exporter (Gbit/s, median)', (median(withExporter) / 1e9).toFixed(2));
    report('throughput ratio with/without (target >= 0.97)', ratio.toFixed(3));
    report('flow.bpf.c ns per packet (bpf_stats)', flowNs.toFixed(1));
    report('empty TC program ns per packet (bpf_stats)', emptyNs.toFixed(1));
    report('flow.bpf.c / empty (target <= 3)', (flowNs / emptyNs).toFixed(2));
    expect(Number.isFinite(ratio) && Number.isFinite(flowNs / emptyNs)).toBe(true);
  });
});
