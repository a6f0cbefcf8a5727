import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ExporterProcess } from '../test/common/exporter.js';
import { runTag, TestNetwork, type TestHost } from '../test/common/netns.js';
import { sumOf } from '../test/common/prom.js';
import { report } from './report.js';
import { settled } from './settle.js';

/**
 * The exporter's resident memory (RSS) with its defaults, at rest and under a
 * new-flow storm: about a million UDP datagrams in a minute from one namespace
 * to another where nothing listens, each with its own (source port,
 * destination port), so each is a new 5-tuple and, in the receiver's stack, a
 * no_socket drop: the shape of a scan. The store of recent flows fills many
 * times over (the kernel's event budget lets a few thousand events a second
 * through). RSS is read from /proc/PID/status every 100 ms (VmRSS), and the
 * kernel's own peak (VmHWM, reset before the storm) catches a peak between
 * two samples.
 *
 * Targets (issue 15): RSS at rest <= 100 MiB, peak under the storm <= 150 MiB.
 * FLOWLENS_BENCH_NODE_ARGS (node options for the exporter, space-separated)
 * runs an A/B of V8 heap settings by hand.
 */

const DATAGRAMS = 1_000_000;
const SECONDS = 60;
const SAMPLE_MS = 100;
const REST_TARGET_MIB = 100;
const PEAK_TARGET_MIB = 150;
const MIB = 2 ** 20;

/**
 * Raw IPv4/UDP datagrams (IP_HDRINCL: the kernel fills in the checksum, id and
 * length) with a 1-byte payload, paced in 10 ms slices; datagram i goes from
 * source port 10000 + i / 65535 to destination port 1 + i % 65535, so no two
 * share a 5-tuple. No UDP checksum (0: none, allowed over IPv4).
 */
const STORM_SCRIPT = `
import socket, struct, sys, time
src, dst, total, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
head = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 29, 0, 0x4000, 64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))
slices = int(seconds * 100)
per_slice = -(-total // slices)
start = time.monotonic()
sent = 0
for n in range(slices):
    end = min(total, sent + per_slice)
    for i in range(sent, end):
        s.sendto(head + struct.pack('!HHHHB', 10000 + i // 65535, 1 + i % 65535, 9, 0, 120), (dst, 0))
    sent = end
    wait = start + (n + 1) / 100 - time.monotonic()
    if wait > 0:
        time.sleep(wait)
print('sent', sent, 'in', round(time.monotonic() - start, 1))
`;

let net: TestNetwork | undefined;
let exporter: ExporterProcess | undefined;

interface Memory {
  rss: number;
  hwm: number;
}

/** VmRSS and VmHWM of a process in bytes. */
function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(m[1]) * 1024;
  };
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/** Samples VmRSS every SAMPLE_MS until `until` settles; the samples in bytes. */
async function sampleWhile(pid: number, until: Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  let done = false;
  const finished = until.finally(() => (done = true));
  while (!done) {
    samples.push(memoryOf(pid).rss);
    await new Promise((r) => setTimeout(r, SAMPLE_MS));
  }
  await finished;
  return samples;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mib = (bytes: number) => (bytes / MIB).toFixed(1);

function storm(from: TestHost, to: TestHost): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = net!.spawnIn(from.ns, 'python3', ['-c', STORM_SCRIPT, from.address, to.address, String(DATAGRAMS), String(SECONDS)]);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    child.on('close', (code) => (code === 0 && out.startsWith('sent') ? resolve(out.trim()) : reject(new Error(`storm sender exited ${code}: ${out}`))));
  });
}

describe('exporter memory under a new-flow storm', () => {
  afterAll(() => {
    exporter?.kill();
    net?.cleanup();
  });

  it(`RSS at rest, at the peak of ${DATAGRAMS} new 5-tuples in ${SECONDS} s, and after`, async () => {
    const prefix = process.env.FLOWLENS_BENCH_PREFIX ?? `fm${runTag()}`;
    net = new TestNetwork(prefix, '10.220.0');
    const sender = net.addHost('snd', 2);
    const receiver = net.addHost('rcv', 3);
    const nodeArgs = (process.env.FLOWLENS_BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
    exporter = new ExporterProcess(['--interface', `${prefix}*`], nodeArgs);
    await exporter.ready();
    const pid = exporter.pid;
    await settled(pid);

    const rest = median(await sampleWhile(pid, sleep(3000)));
    // VmHWM from here on is the storm's peak ("5" resets it to the current RSS)
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    const t0 = performance.now();
    let sent = '';
    const during = await sampleWhile(pid, storm(sender, receiver).then((s) => (sent = s)));
    const stormSeconds = (performance.now() - t0) / 1000;
    const peak = Math.max(memoryOf(pid).hwm, ...during);
    // after: the exporter settled again (its memory reducer runs once allocation calms down)
    await settled(pid);
    const after = median(await sampleWhile(pid, sleep(3000)));

    const m = await exporter.samples();
    const stored = sumOf(m, 'flowlens_flow_store_records');
    const capacity = sumOf(m, 'flowlens_flow_store_capacity');
    const received = sumOf(m, 'flowlens_flow_store_records_total');
    const storeBytes = sumOf(m, 'flowlens_flow_store_memory_bytes');
    const lost = sumOf(m, 'flowlens_events_lost_total');
    const label = nodeArgs.length > 0 ? ` (node ${nodeArgs.join(' ')})` : '';
    report(`memory${label}: storm sender`, `${sent}; ${stormSeconds.toFixed(1)} s sampled, ${during.length} samples`);
    report(`memory${label}: records stored / capacity, received, events lost`, `${stored} / ${capacity}, ${received}, ${lost}`);
    report(`memory${label}: store estimate (flowlens_flow_store_memory_bytes)`, `${mib(storeBytes)} MiB`);
    report(`memory${label}: RSS at rest (target <= ${REST_TARGET_MIB} MiB)`, `${mib(rest)} MiB`);
    report(`memory${label}: RSS peak under the storm (target <= ${PEAK_TARGET_MIB} MiB)`, `${mib(peak)} MiB (sampled max ${mib(Math.max(...during))}, median ${mib(median(during))})`);
    report(`memory${label}: RSS after the storm, settled`, `${mib(after)} MiB`);

    // the measurement worked: the storm reached the exporter and filled its store
    expect(sent).toContain(`sent ${DATAGRAMS}`);
    expect(stored).toBe(capacity);
    expect(received).toBeGreaterThan(capacity);
  });
});
