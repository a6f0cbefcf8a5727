import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExporterProcess } from '../common/exporter.js';
import { runTag, TestNetwork } from '../common/netns.js';

/**
 * One exporter per node: a second `flowlens run` refuses to start, naming the
 * first one's process id, before it loads or attaches anything; once the
 * first has stopped, or been killed outright, a new one starts.
 */

const tag = runTag();
const prefix = `fs${tag}`;
let net: TestNetwork;
const started: ExporterProcess[] = [];

function start(): ExporterProcess {
  const exp = new ExporterProcess(['--interface', `${prefix}*`]);
  started.push(exp);
  return exp;
}

function exitOf(exp: ExporterProcess): Promise<number | null> {
  if (exp.child.exitCode !== null) return Promise.resolve(exp.child.exitCode);
  return new Promise((resolve) => exp.child.once('exit', (code) => resolve(code)));
}

describe('one exporter per node (real exporter, real kernel)', () => {
  beforeAll(() => {
    net = new TestNetwork(prefix, '10.241.0');
    net.addHost('cli', 2);
  });

  afterAll(() => {
    for (const exp of started) exp.kill();
    net?.cleanup();
  });

  it('refuses a second exporter with the first one\'s process id, before it attaches anything', async () => {
    const first = start();
    await first.ready();

    const second = start();
    expect(await exitOf(second)).toBe(8);
    // the error is all it printed: nothing was loaded, attached or served
    expect(second.output).toBe(
      `flowlens: another flowlens exporter is already running on this node: process id ${first.pid}, serving 127.0.0.1:${first.port}. ` +
        'Two would both attach and count every packet twice: stop that one first (SIGTERM), or keep it and do not start this one. ' +
        '[FLOWLENS_ERR_ALREADY_RUNNING]\n',
    );
    // the first one runs on, untouched
    expect(first.child.exitCode).toBe(null);
    expect((await fetch(`${first.base}/readyz`)).status).toBe(200);

    expect(await first.terminate()).toBe(0);
  });

  it('starts once the first has stopped, and after one was killed outright', async () => {
    const next = start();
    await next.ready();

    // SIGKILL: no clean-up of its own, and still no stale lock
    next.child.kill('SIGKILL');
    expect(await new Promise((r) => next.child.once('exit', (_code, signal) => r(signal)))).toBe('SIGKILL');

    const last = start();
    await last.ready();
    expect(await last.terminate()).toBe(0);
  });
});
