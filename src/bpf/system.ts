/** Process-wide BPF facts and switches. */
import { statfsSync } from 'node:fs';

import { addon } from './addon.js';

const BPF_FS_MAGIC = 0xcafe4a11;

let cpus: number | undefined;

/** Number of possible CPUs: the number of slots in a per-CPU map value. */
export function possibleCpus(): number {
  cpus ??= addon().possibleCpus();
  return cpus;
}

/**
 * Turns on the kernel's per-program run count and run time (BPF_STATS_RUN_TIME)
 * until disable() is called or the process exits. Calls nest: the kernel keeps
 * statistics on while any caller has them enabled.
 */
export function enableBpfStats(): { disable(): void } {
  let handle: number | undefined = addon().enableStats();
  return {
    disable(): void {
      if (handle === undefined) return;
      const h = handle;
      handle = undefined;
      addon().close(h);
    },
  };
}

/** Whether path is a mounted BPF filesystem (where maps can be pinned). */
export function isBpfFsMounted(path = '/sys/fs/bpf'): boolean {
  try {
    return statfsSync(path).type === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}
