import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, readState, stateFile, type DemoState } from '../../demo/state.js';
import type { Page } from '../../demo/webhook.js';
import { REPO, waitFor } from '../common/exporter.js';
import { runTag } from '../common/netns.js';

/**
 * `make demo` end to end: the demo (dist/demo/demo/main.js, what `make demo`
 * runs) under a name and subnet of its own (10.231.0.0/16), so that it never
 * meets a demo someone is running. Within 150 s the webhook receiver must have
 * received the policy-drop and unknown-source pages; SIGINT must then leave
 * nothing behind: no namespace, no link, no BPF program (and so no tc filter
 * or tcx link) of its exporter, no pin, no process, no state file, no
 * temporary directory. A second run is killed outright, as a crash would, and
 * `make demo-stop` (stop.js) must remove what it left from its state file.
 */

const MAIN = join(REPO, 'dist', 'demo', 'demo', 'main.js');
const STOP = join(REPO, 'dist', 'demo', 'demo', 'stop.js');
const SUBNET = '10.231';
const ALERTS_WITHIN_MS = 150_000;

interface Run {
  name: string;
  child: ChildProcess;
  output: string;
  pagesFile: string;
  startedAt: number;
}

interface Footprint {
  state: DemoState;
  /** BPF programs the demo's exporter holds (its tc/tcx programs and the drop tracer). */
  progIds: number[];
}

const tmp = mkdtempSync(join(tmpdir(), 'flowlens-demo-e2e-'));
const runs: Run[] = [];

function start(): Run {
  const name = `fldt${runTag()}`;
  const pagesFile = join(tmp, `${name}.pages.jsonl`);
  const child = spawn(process.execPath, [MAIN, '--name', name, '--subnet', SUBNET, '--pages-file', pagesFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: Run = { name, child, output: '', pagesFile, startedAt: Date.now() };
  child.stdout!.on('data', (d) => (run.output += d));
  child.stderr!.on('data', (d) => (run.output += d));
  runs.push(run);
  return run;
}

async function running(run: Run): Promise<Footprint> {
  await waitFor('the demo to start', 90_000, () => run.output, async () => {
    if (run.child.exitCode !== null) throw new Error(`the demo exited with ${run.child.exitCode}:\n${run.output}`);
    return run.output.includes(`flowlens demo "${run.name}" is running`) ? true : undefined;
  });
  const state = readState(run.name);
  if (!state) throw new Error(`no state file ${stateFile(run.name)}`);
  const exporter = state.processes.find((p) => p.what === 'exporter')!;
  return { state, progIds: bpfProgramsHeldBy(exporter.pid) };
}

/** Ids of the BPF programs a process holds file descriptors to (programs and links), from /proc/PID/fdinfo. */
function bpfProgramsHeldBy(pid: number): number[] {
  const ids = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (!/^anon_inode:bpf[-_](prog|link)$/.test(readlinkSync(`/proc/${pid}/fd/${fd}`))) continue;
      const m = /^prog_id:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (m) ids.add(Number(m[1]));
    } catch {
      // closed meanwhile
    }
  }
  return [...ids].sort((a, b) => a - b);
}

function pages(run: Run): Page[] {
  if (!existsSync(run.pagesFile)) return [];
  return readFileSync(run.pagesFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Page);
}

function netnsNames(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter(Boolean);
}

/** Processes whose command line names the demo (its workloads, its exporter's interface pattern, its temp dir). */
function processesNaming(name: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(name)) found.push(`${pid}: ${cmdline}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

function bpfProgramExists(id: number): boolean {
  try {
    execFileSync('bpftool', ['prog', 'show', 'id', String(id)], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** Every BPF link on this host (tcx links are type 11 to this bpftool, "tcx" to newer ones) and every tc filter bpftool lists. */
function attachments(): { kind: string; prog_id: number; devname?: string }[] {
  const links = JSON.parse(execFileSync('bpftool', ['link', 'show', '--json'], { encoding: 'utf8' })) as { type: string | number; prog_id: number }[];
  const net = JSON.parse(execFileSync('bpftool', ['net', 'show', '--json'], { encoding: 'utf8' })) as { tc?: { devname: string; prog_id: number }[] }[];
  return [
    ...links.map((l) => ({ kind: String(l.type), prog_id: l.prog_id })),
    ...net.flatMap((n) => n.tc ?? []).map((t) => ({ kind: 'tc', prog_id: t.prog_id, devname: t.devname })),
  ];
}

function bpffsEntries(): string[] {
  return readdirSync('/sys/fs/bpf', { recursive: true }).map(String);
}

/** The footprint while running, so that "gone" afterwards means something. */
function expectPresent(run: Run, f: Footprint): void {
  expect(f.state.netns.length).toBe(7);
  expect(netnsNames().filter((n) => n.startsWith(`${run.name}-`)).sort()).toEqual([...f.state.netns].sort());
  for (const link of f.state.links) expect(existsSync(`/sys/class/net/${link}`), link).toBe(true);
  expect(f.state.links.length).toBe(8); // the bridge and 7 host-side veths
  // the exporter, the webhook receiver, Alertmanager, Prometheus, dnsmasq, 6 workloads
  expect(f.state.processes.map((p) => p.what).sort()).toEqual(
    [
      'alertmanager',
      'dnsmasq',
      'exporter',
      'prometheus',
      'webhook receiver',
      'workload backend/api',
      'workload backend/db',
      'workload client/shopper',
      'workload frontend/web',
      'workload management/console',
      'workload outsider',
    ].sort(),
  );
  for (const p of f.state.processes) expect(alive(p), p.what).toBe(true);
  // two tcx links (or tc filters) on each of the 7 interfaces, one per direction, the drop tracer and the two retransmit tracers
  const mine = attachments().filter((a) => f.progIds.includes(a.prog_id));
  expect(mine.filter((a) => a.kind === '11' || a.kind === 'tcx' || a.kind === 'tc').length).toBe(14);
  expect(mine.filter((a) => a.kind === 'raw_tracepoint' || a.kind === 'tracing').length).toBe(3);
  expect(existsSync(f.state.workdir)).toBe(true);
}

function expectNothingLeft(run: Run, f: Footprint): void {
  expect(netnsNames().filter((n) => n.startsWith(run.name))).toEqual([]);
  expect(readdirSync('/sys/class/net').filter((l) => l.includes(run.name))).toEqual([]);
  expect(f.state.processes.filter(alive).map((p) => `${p.what} (${p.pid})`)).toEqual([]);
  expect(alive(f.state.main)).toBe(false);
  expect(processesNaming(run.name)).toEqual([]);
  expect(f.progIds.filter(bpfProgramExists)).toEqual([]);
  expect(attachments().filter((a) => f.progIds.includes(a.prog_id) || a.devname?.includes(run.name))).toEqual([]);
  expect(bpffsEntries().filter((e) => e.includes(run.name))).toEqual([]);
  expect(existsSync(stateFile(run.name))).toBe(false);
  expect(existsSync(f.state.workdir)).toBe(false);
}

describe('make demo (network namespaces, the exporter, Prometheus, Alertmanager, webhook receiver)', () => {
  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run make demo-ts (make test does)`);
  });

  afterAll(() => {
    // whatever a failed test left: kill its demo, then remove what its state file lists
    for (const run of runs) {
      if (run.child.exitCode === null && run.child.signalCode === null) process.kill(run.child.pid!, 'SIGKILL');
      if (existsSync(stateFile(run.name))) execFileSync(process.execPath, [STOP, '--name', run.name], { stdio: 'pipe' });
    }
    rmSync(tmp, { recursive: true, force: true });
  });

  it('pages the policy drop and the unknown source within 150 s, and Ctrl-C leaves nothing behind', async () => {
    const run = start();
    const footprint = await running(run);
    expectPresent(run, footprint);

    const firing = (alertname: string, workload: string): Page | undefined =>
      pages(run).find((p) => p.status === 'firing' && p.labels.alertname === alertname && p.labels.destination_workload === workload);
    await waitFor('both pages at the webhook', ALERTS_WITHIN_MS - (Date.now() - run.startedAt), () => run.output, async () => {
      if (run.child.exitCode !== null) throw new Error(`the demo exited with ${run.child.exitCode}`);
      return firing('FlowlensPolicyDropBurst', 'api') && firing('FlowlensUnknownSourceToPrivateWorkload', 'api') ? true : undefined;
    });
    const drop = firing('FlowlensPolicyDropBurst', 'api')!;
    const unknown = firing('FlowlensUnknownSourceToPrivateWorkload', 'api')!;
    console.log(
      `demo ${run.name}: policy-drop page after ${drop.afterSeconds.toFixed(1)} s, unknown-source page after ${unknown.afterSeconds.toFixed(1)} s`,
    );
    // the client -> backend/api calls the nftables policy drops, paged through the example's pager route
    expect(drop).toMatchObject({
      path: '/pager',
      receiver: 'pager',
      labels: { alertname: 'FlowlensPolicyDropBurst', severity: 'critical', destination_namespace: 'backend', destination_workload: 'api' },
    });
    expect(drop.annotations.description).toMatch(/^\d+(\.\d+)?(e[+-]?\d+)? packets\/s towards backend\/api are being dropped by policy \(threshold 0\.5\/s\)\.$/);
    // the outsider, in no identity and outside the cluster range, is world
    expect(unknown).toMatchObject({
      path: '/pager',
      labels: { alertname: 'FlowlensUnknownSourceToPrivateWorkload', severity: 'critical', destination_namespace: 'backend', destination_workload: 'api', source_class: 'world' },
    });
    // it probes frontend/web too, which is public-facing: no page for it
    expect(pages(run).filter((p) => p.labels.alertname === 'FlowlensUnknownSourceToPrivateWorkload' && p.labels.destination_workload === 'web')).toEqual([]);
    // the banner told where to look, and those answer
    const urls = footprint.state.urls;
    expect(run.output).toContain(`${urls.exporter}/`);
    expect(run.output).toContain(`${urls.prometheusAlerts}`);
    expect((await fetch(urls.prometheusAlerts!)).status).toBe(200);
    expect((await fetch(`${urls.exporter}/`)).status).toBe(200);

    const exited = new Promise<number | null>((r) => run.child.once('exit', (code) => r(code)));
    process.kill(run.child.pid!, 'SIGINT');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000))]);
    expect(code, run.output).toBe(0);
    expect(run.output).toContain('demo stopped; nothing left behind.');
    expectNothingLeft(run, footprint);
  }, 300_000);

  it('after a crash, make demo-stop removes what the demo left, from its state file', async () => {
    const run = start();
    const footprint = await running(run);
    expectPresent(run, footprint);
    // as a crash would: the demo's own process dies without tearing down
    const exited = new Promise((r) => run.child.once('exit', r));
    process.kill(run.child.pid!, 'SIGKILL');
    await exited;
    expect(footprint.state.processes.filter(alive).length).toBe(11);

    const out = execFileSync(process.execPath, [STOP, '--name', run.name], { encoding: 'utf8' });
    expect(out).toContain(`removing what the demo "${run.name}" left behind`);
    expect(out).toContain('demo stopped; nothing left behind.');
    expectNothingLeft(run, footprint);
  }, 180_000);
});
