// One exporter per node. A second exporter would attach to the same
// interfaces as well, silently, and every packet would be counted twice in
// the sums dashboards show; so `flowlens run` holds a lock while it runs and a
// second one refuses to start, naming the first one's process id.
//
// The lock is an abstract Unix socket, "@flowlens-exporter" (a name that
// starts with a NUL byte: no file behind it), bound for as long as the
// exporter runs. Why not a lock file holding a pid:
// - The kernel releases an abstract socket when its process ends, however it
//   ends (SIGKILL, the OOM killer, a crash): there is never a stale lock to
//   detect, and never a recycled pid mistaken for the holder.
// - Abstract names belong to a network namespace, which is exactly the scope
//   of what an exporter attaches to: the interfaces it sees. The chart runs the
//   exporter with hostNetwork, so every exporter on a node (in a pod, or
//   directly on the host) shares the host's namespace and sees the lock,
//   whatever its mount and PID namespaces. A lock file would not be shared:
//   the pod's root filesystem is read-only and its /tmp is its own. And with
//   hostPID: false, a pid in a file cannot be checked at all: a second pod
//   would not see the first pod's process and would take the lock as stale.
// - Binding is atomic: of two exporters started at once, exactly one wins.
// The holder answers every connection to the socket with one line of JSON
// saying who it is, which the refused exporter puts in its error.
//
// Any local process could bind the name first and so keep flowlens from
// starting; the error then says that the holder did not identify itself, and
// `ss -xlp` shows who it is.

import { readlinkSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { createError } from './errors.js';

export const LOCK_NAME = 'flowlens-exporter';

/** How long a refused exporter waits for the holder to say who it is. */
const HELLO_TIMEOUT_MS = 2000;

/** What the holder says about itself. */
export interface LockHolder {
  pid: number;
  /** The holder's PID namespace (/proc/self/ns/pid), to tell whether its pid means anything here. */
  pidNamespace: string | null;
  /** The address it serves on, as configured. */
  listen: string;
}

export interface InstanceLock {
  /** Gives the lock up at once; the process ending does the same. */
  release(): void;
}

function pidNamespace(): string | null {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return null;
  }
}

function bind(server: Server, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path: `\0${name}` }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

type Answer = { holder: LockHolder } | { gone: true } | { silent: string };

/** Connects to the lock's socket and reads who holds it. */
function askHolder(name: string): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = createConnection({ path: `\0${name}` });
    let text = '';
    const done = (answer: Answer) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done({ silent: `it did not answer within ${HELLO_TIMEOUT_MS} ms` }), HELLO_TIMEOUT_MS);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > 4096) done({ silent: 'it answered something else than flowlens does' });
    });
    socket.on('end', () => {
      // closed without a word: the holder was ending (its connections are closed with it)
      if (text === '') return done({ gone: true });
      try {
        const hello = JSON.parse(text) as LockHolder;
        if (Number.isInteger(hello.pid)) return done({ holder: hello });
      } catch {
        // not flowlens's answer: said below
      }
      done({ silent: 'it answered something else than flowlens does' });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // the holder ended between our bind and this connect, or while we waited
      // for its answer: the name is free again
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT' || err.code === 'ECONNRESET') done({ gone: true });
      else done({ silent: err.message });
    });
  });
}

/** The holder in the words of the error message. */
export function describeHolder(answer: { holder: LockHolder } | { silent: string }, name = LOCK_NAME, ownPidNamespace = pidNamespace()): string {
  if ('silent' in answer) {
    return `a process holds its lock (the abstract socket @${name}) but did not say who it is (${answer.silent}); ` +
      `"ss -xlp | grep ${name}" shows its process`;
  }
  const { pid, listen } = answer.holder;
  const samePidNamespace = answer.holder.pidNamespace === null || answer.holder.pidNamespace === ownPidNamespace;
  return samePidNamespace
    ? `process id ${pid}, serving ${listen}`
    : `process id ${pid} in another PID namespace (another container or pod), serving ${listen}`;
}

/**
 * Takes the node's exporter lock, or throws FLOWLENS_ERR_ALREADY_RUNNING
 * naming the exporter that holds it. `name` is for tests only.
 */
export async function acquireInstanceLock(opts: { listen: string; name?: string }): Promise<InstanceLock> {
  const name = opts.name ?? LOCK_NAME;
  const hello = JSON.stringify({ pid: process.pid, pidNamespace: pidNamespace(), listen: opts.listen } satisfies LockHolder) + '\n';
  // A few rounds only for the race of a holder that ends while we ask it.
  for (let attempt = 1; ; attempt++) {
    const server = createServer((socket) => {
      socket.on('error', () => {}); // a client that goes away early is no concern of ours
      // answered and closed: a client that keeps its end open holds nothing up
      socket.unref();
      socket.end(hello, () => socket.destroy());
    });
    try {
      await bind(server, name);
      // the lock must never be what keeps a process running
      server.unref();
      // close() frees the name at once; its callback would wait for clients still connected
      return { release: () => void server.close() };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
    const answer = await askHolder(name);
    if ('gone' in answer) {
      if (attempt < 3) continue;
      throw createError('FLOWLENS_ERR_ALREADY_RUNNING', describeHolder({ silent: 'it keeps ending and starting again' }, name));
    }
    throw createError('FLOWLENS_ERR_ALREADY_RUNNING', describeHolder(answer, name));
  }
}
