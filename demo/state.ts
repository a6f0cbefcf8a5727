// What a running demo created, written down as it is created, so that the
// demo itself (Ctrl-C), `make demo-stop` from another shell, or the next
// `make demo` after a crash can remove exactly that and nothing else.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const STATE_DIR = '/run/flowlens-demo';

export interface ProcessRecord {
  /** What it is: "exporter", "prometheus", "workload backend/api", ... */
  what: string;
  pid: number;
  /** Start time in clock ticks since boot (/proc/PID/stat field 22): a reused pid is never taken for this process. */
  startTicks: number;
}

export interface DemoState {
  name: string;
  subnet: string;
  /** The demo's own process. */
  main: ProcessRecord;
  startedAt: string;
  /** Temporary directory with configs, data and logs. */
  workdir: string;
  /** Where the webhook receiver appends the pages it receives. */
  pagesFile: string;
  urls: Record<string, string>;
  netns: string[];
  links: string[];
  processes: ProcessRecord[];
}

export function stateFile(name: string): string {
  return join(STATE_DIR, `${name}.json`);
}

export function readState(name: string): DemoState | undefined {
  const path = stateFile(name);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as DemoState;
}

export function writeState(state: DemoState): void {
  const path = stateFile(state.name);
  mkdirSync(dirname(path), { recursive: true });
  // written whole then renamed: a reader never sees half a file
  writeFileSync(`${path}.tmp`, JSON.stringify(state, null, 2) + '\n');
  renameSync(`${path}.tmp`, path);
}

/** Field 22 of /proc/PID/stat, or undefined when there is no such process. */
export function startTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may contain spaces and parentheses: count from the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

export function record(what: string, pid: number): ProcessRecord {
  const ticks = startTicks(pid);
  if (ticks === undefined) throw new Error(`${what} (pid ${pid}) exited at once`);
  return { what, pid, startTicks: ticks };
}

/** The recorded process is still running (a zombie is not: it has exited and waits for its parent). */
export function alive(p: ProcessRecord): boolean {
  const state = processState(p.pid);
  return state !== undefined && state !== 'Z' && state !== 'X' && startTicks(p.pid) === p.startTicks;
}

function signal(p: ProcessRecord, sig: NodeJS.Signals): void {
  if (!alive(p)) return;
  try {
    process.kill(p.pid, sig);
  } catch {
    // exited in between
  }
}

async function waitGone(processes: readonly ProcessRecord[], ms: number): Promise<ProcessRecord[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = processes.filter(alive);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function netnsExists(name: string): boolean {
  return existsSync(join('/run/netns', name));
}

export function linkExists(name: string): boolean {
  return existsSync(join('/sys/class/net', name));
}

/**
 * Removes everything the state names: processes (SIGTERM, then SIGKILL after
 * 10 s; the exporter removes its attachments on SIGTERM), namespaces (with the
 * veth ends, addresses, nftables tables and sockets inside), links, the work
 * directory and the state file. Returns what could not be removed.
 */
export async function teardown(state: DemoState, log: (line: string) => void): Promise<string[]> {
  const problems: string[] = [];
  // clients first, so that servers do not log the errors of their clients' last requests
  const processes = [...state.processes].reverse();
  for (const p of processes) signal(p, 'SIGTERM');
  let left = await waitGone(processes, 10_000);
  if (left.length > 0) {
    log(`still running after SIGTERM, killing: ${left.map((p) => `${p.what} (${p.pid})`).join(', ')}`);
    for (const p of left) signal(p, 'SIGKILL');
    left = await waitGone(left, 5_000);
    problems.push(...left.map((p) => `process ${p.what} (pid ${p.pid}) did not exit`));
  }
  for (const ns of state.netns) {
    if (!netnsExists(ns)) continue;
    try {
      run('ip', ['netns', 'del', ns]);
    } catch (err) {
      problems.push(`network namespace ${ns}: ${(err as Error).message}`);
    }
  }
  for (const link of state.links) {
    if (!linkExists(link)) continue; // a veth goes with its peer's namespace
    try {
      run('ip', ['link', 'del', link]);
    } catch (err) {
      if (linkExists(link)) problems.push(`link ${link}: ${(err as Error).message}`);
    }
  }
  rmSync(state.workdir, { recursive: true, force: true });
  if (problems.length === 0) rmSync(stateFile(state.name), { force: true });
  return problems;
}
