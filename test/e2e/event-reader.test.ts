import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExporterProcess, waitFor, writeIdentities } from '../common/exporter.js';
import { inNs, TestNetwork, type TestHost } from '../common/netns.js';
import { udpListener } from '../common/traffic.js';
import type { FlowRecord } from '../../src/flows/record.js';
import { BATCH_RECORDS } from '../../src/bpf/ring-batch.js';

/**
 * The exporter reads the programs' events on a thread of its own at
 * SCHED_IDLE (README, Events off the workload's CPUs): the thread runs at
 * that policy while the serving thread keeps normal priority, events arrive
 * in the flow records through it, however many batches they take, and
 * SIGTERM ends it with the rest.
 */

const UDP = 9100;
/** New UDP flows from the client: each one a record at both ends, several batches in all. */
const FLOWS = 3 * BATCH_RECORDS + 17;
const SCHED_OTHER = 0;
const SCHED_IDLE = 5;

let net: TestNetwork;
let client: TestHost;
let server: TestHost;
let exporter: ExporterProcess;
let tmp: string;

function policyOf(pid: number, tid: number): number {
  const m = /^policy\s*:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/task/${tid}/sched`, 'utf8'));
  if (!m) throw new Error(`no policy in /proc/${pid}/task/${tid}/sched`);
  return Number(m[1]);
}

describe('event reader thread (network namespaces, real kernel)', () => {
  beforeAll(async () => {
    // this helper's namespaces (fl15u-*) and addresses (10.218.0.0/16)
    net = new TestNetwork('fl15u', '10.218.0');
    client = net.addHost('cli', 2);
    server = net.addHost('srv', 3);
    tmp = mkdtempSync(join(tmpdir(), 'flowlens-event-reader-'));
    const identities = join(tmp, 'identities.yaml');
    writeIdentities(identities, { client, server });
    // the events budget well above this test's burst, so that none is left out
    const config = join(tmp, 'flowlens.yaml');
    writeFileSync(config, 'datapath:\n  eventsPerSecond: 1000000\napi:\n  requestsPerSecond: 0\n');
    await udpListener(net, server, UDP);
    exporter = new ExporterProcess(['--config', config, '--interface', 'fl15u*', '--identities', identities]);
    await exporter.ready();
  });

  afterAll(() => {
    exporter?.kill();
    net?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('runs at SCHED_IDLE while the serving thread keeps normal priority, and says so', async () => {
    const m = / events are read by thread (\d+) at SCHED_IDLE/.exec(exporter.output);
    expect(m, exporter.output).not.toBeNull();
    const tid = Number(m![1]);
    expect(tid).not.toBe(exporter.pid);
    expect(policyOf(exporter.pid, tid)).toBe(SCHED_IDLE);
    expect(policyOf(exporter.pid, exporter.pid)).toBe(SCHED_OTHER);
    expect(execFileSync('chrt', ['-p', String(tid)], { encoding: 'utf8' })).toContain('SCHED_IDLE');
    const idle = (await exporter.samples()).filter((s) => s.name === 'flowlens_event_reader_idle');
    expect(idle.map((s) => s.value)).toEqual([1]);
  });

  it('brings every event into the flow records, across batches', async () => {
    // FLOWS sockets, one datagram each: FLOWS new 5-tuples, each seen at the client's and the server's interface
    inNs(client.ns, process.execPath, [
      '-e',
      `const dgram = require('dgram'); let left = ${FLOWS};
       for (let i = 0; i < ${FLOWS}; i++) {
         const s = dgram.createSocket('udp4');
         s.send('x', ${UDP}, '${server.address}', () => { s.close(); if (--left === 0) process.exitCode = 0; });
       }`,
    ]);
    const query = `from_ip=${client.address}&to_ip=${server.address}&to_port=${UDP}&protocol=udp&type=flow&limit=10000`;
    const records = await waitFor(`${2 * FLOWS} flow records`, 30_000, () => exporter.output, async () => {
      const res = await fetch(`${exporter.base}/api/flows?${query}`);
      const flows = ((await res.json()) as { flows: FlowRecord[] }).flows;
      return flows.length >= 2 * FLOWS ? flows : undefined;
    });
    expect(records.length).toBe(2 * FLOWS);
    const byDirection = (d: string) => records.filter((r) => r.direction === d);
    // each source port once at each end: no event lost, none handed over twice
    for (const direction of ['egress', 'ingress']) {
      const ports = byDirection(direction).map((r) => r.source.port);
      expect(new Set(ports).size, direction).toBe(FLOWS);
      expect(ports.length, direction).toBe(FLOWS);
    }
    expect(new Set(records.map((r) => `${r.source.workload}>${r.destination.workload} ${r.verdict}`))).toEqual(new Set(['client>server forwarded']));
    const lost = (await exporter.samples()).filter((s) => s.name === 'flowlens_events_lost_total' && s.labels.source === 'flow');
    expect(lost.reduce((n, s) => n + s.value, 0)).toBe(0);
  });

  it('ends with the exporter on SIGTERM', async () => {
    expect(await exporter.terminate()).toBe(0);
    expect(exporter.output).toMatch(/ info {2}stopped in \d+ ms\n$/);
    expect(exporter.output).not.toContain('FLOWLENS_ERR_SHUTDOWN_INCOMPLETE');
  });
});
