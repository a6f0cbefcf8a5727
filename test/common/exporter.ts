import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestHost } from './netns.js';
import { parsePrometheusText, type Sample } from './prom.js';

export const REPO = join(import.meta.dirname, '..', '..');

/** The built exporter (dist/cli.js), started as a user starts it, on a random loopback port. */
export class ExporterProcess {
  readonly child: ChildProcess;
  readonly port = 20000 + Math.floor(Math.random() * 20000);
  readonly base = `http://127.0.0.1:${this.port}`;
  output = '';

  /**
   * nodeArgs: options for node itself, before the script (V8 heap settings in benchmarks' A/B arms).
   * env: variables added to this process's environment (e.g. OTEL_*).
   */
  constructor(args: string[], nodeArgs: string[] = [], env: Record<string, string> = {}) {
    this.child = spawn(
      process.execPath,
      [...nodeArgs, join(REPO, 'dist', 'cli.js'), 'run', '--listen', `127.0.0.1:${this.port}`, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
    );
    this.child.stdout!.on('data', (d) => (this.output += d));
    this.child.stderr!.on('data', (d) => (this.output += d));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves once /readyz answers 200; rejects with the exporter's output if it exits or takes too long. */
  async ready(timeoutMs = 60_000): Promise<void> {
    await waitFor('exporter /readyz', timeoutMs, () => this.output, async () => {
      if (this.child.exitCode !== null) throw new Error(`exporter exited with ${this.child.exitCode}:\n${this.output}`);
      const res = await fetch(`${this.base}/readyz`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    });
  }

  async metricsText(): Promise<string> {
    const res = await fetch(`${this.base}/metrics`);
    if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
    return res.text();
  }

  async samples(): Promise<Sample[]> {
    return parsePrometheusText(await this.metricsText());
  }

  /** SIGTERM, then the exit code. */
  async terminate(): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    const exited = new Promise<number | null>((r) => this.child.once('exit', (code) => r(code)));
    process.kill(this.pid, 'SIGTERM');
    return exited;
  }

  /** For afterAll: make sure the process is gone whatever the test did. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) process.kill(this.pid, 'SIGKILL');
  }
}

/**
 * Polls `probe` every 50 ms until it returns a value. A probe that throws
 * ends the wait with that error; `context` adds what to show on a timeout.
 */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  context: () => string,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${context()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A static identity file naming each test host as a workload of namespace e2e. */
export function writeIdentities(path: string, workloads: Record<string, TestHost>): void {
  const entries = Object.entries(workloads).map(
    ([workload, host]) => `  - namespace: e2e\n    workload: ${workload}\n    addresses: ["${host.address}/${host.address.includes(':') ? 128 : 32}"]\n`,
  );
  writeFileSync(path, 'identities:\n' + entries.join(''));
}

/** Ids of the BPF programs that process `pid` holds, through program or link fds (from /proc fdinfo). */
export function ownedProgramIds(pid: number): number[] {
  const ids = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let info: string;
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue; // closed meanwhile
    }
    const m = /^prog_id:\s+(\d+)$/m.exec(info);
    if (m) ids.add(Number(m[1]));
  }
  return [...ids];
}
