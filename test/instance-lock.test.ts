import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { readlinkSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireInstanceLock, describeHolder, type InstanceLock } from '../src/instance-lock.js';
import { FlowlensError } from '../src/errors.js';

/**
 * The lock on its own, under a name of this test's (the real exporter's
 * lock is test/e2e/single-instance.test.ts): who holds it is named, it is
 * free again once its holder ends, however it ends.
 */

const name = `flowlens-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const held: InstanceLock[] = [];

afterEach(() => {
  for (const lock of held.splice(0)) lock.release();
});

async function refusal(listen = '127.0.0.1:2'): Promise<FlowlensError> {
  try {
    held.push(await acquireInstanceLock({ listen, name }));
  } catch (err) {
    expect(err).toBeInstanceOf(FlowlensError);
    return err as FlowlensError;
  }
  throw new Error('expected the lock to be refused');
}

describe('instance lock', () => {
  it('refuses a second holder, naming the first one by process id and address', async () => {
    held.push(await acquireInstanceLock({ listen: '127.0.0.1:19965', name }));
    const err = await refusal();
    expect(err.code).toBe('FLOWLENS_ERR_ALREADY_RUNNING');
    expect(err.exitStatus).toBe(8);
    expect(err.message).toBe(
      `another flowlens exporter is already running on this node: process id ${process.pid}, serving 127.0.0.1:19965. ` +
        'Two would both attach and count every packet twice: stop that one first (SIGTERM), or keep it and do not start this one.',
    );
  });

  it('is free again once released', async () => {
    const first = await acquireInstanceLock({ listen: 'a', name });
    first.release();
    held.push(await acquireInstanceLock({ listen: 'b', name }));
  });

  it('is free again when its holder is killed, with no clean-up of its own', async () => {
    // a process that binds the name as the exporter does, says so, and waits to be killed
    const child = spawn(process.execPath, [
      '-e',
      `require('net').createServer().listen({ path: '\\0${name}' }, () => console.log('bound'))`,
    ], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
      const err = await refusal();
      // it accepts the connection but says nothing of itself
      expect(err.message).toContain(`a process holds its lock (the abstract socket @${name}) but did not say who it is (it did not answer within 2000 ms)`);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    held.push(await acquireInstanceLock({ listen: 'c', name }));
  });

  it('names a holder that answers something else', async () => {
    const squatter = createServer((s) => s.end('hello\n'));
    await new Promise<void>((r) => squatter.listen({ path: `\0${name}` }, () => r()));
    try {
      const err = await refusal();
      expect(err.message).toContain(`did not say who it is (it answered something else than flowlens does); "ss -xlp | grep ${name}" shows its process`);
    } finally {
      squatter.close();
    }
  });

  it('says when the holder\'s process id belongs to another PID namespace', () => {
    const own = readlinkSync('/proc/self/ns/pid');
    expect(describeHolder({ holder: { pid: 7, pidNamespace: own, listen: '0.0.0.0:19965' } })).toBe('process id 7, serving 0.0.0.0:19965');
    expect(describeHolder({ holder: { pid: 7, pidNamespace: 'pid:[1]', listen: '0.0.0.0:19965' } })).toBe(
      'process id 7 in another PID namespace (another container or pod), serving 0.0.0.0:19965',
    );
  });
});
