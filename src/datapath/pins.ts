import { execFileSync } from 'node:child_process';
import { mkdirSync, statfsSync } from 'node:fs';
import { createError } from '../errors.js';
import type { Logger } from '../log.js';

/** statfs f_type of the BPF filesystem (linux/magic.h BPF_FS_MAGIC). */
const BPF_FS_MAGIC = 0xcafe4a11;
export const BPFFS_ROOT = '/sys/fs/bpf';

export function isBpfFs(path: string): boolean {
  try {
    return statfsSync(path).type === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

/**
 * Makes `pinPath` a directory on the BPF filesystem. A fresh machine (or a
 * container without the host's /sys/fs/bpf) may have no bpffs mounted at all:
 * for paths under /sys/fs/bpf it is mounted here, as systemd would at boot;
 * anywhere else the user is told what is wrong instead of getting pins that
 * libbpf cannot create.
 */
export function preparePinPath(pinPath: string, log?: Logger, mount = mountBpfFs): void {
  const underRoot = pinPath === BPFFS_ROOT || pinPath.startsWith(BPFFS_ROOT + '/');
  if (underRoot && !isBpfFs(BPFFS_ROOT)) {
    try {
      mount();
      log?.info(`mounted the BPF filesystem on ${BPFFS_ROOT}`);
    } catch (err) {
      throw createError('FLOWLENS_ERR_BPFFS_UNAVAILABLE', BPFFS_ROOT, `not mounted, and mounting it failed: ${(err as Error).message.trim()}`);
    }
  }
  try {
    mkdirSync(pinPath, { recursive: true });
  } catch (err) {
    throw createError('FLOWLENS_ERR_BPFFS_UNAVAILABLE', pinPath, (err as Error).message);
  }
  if (!isBpfFs(pinPath)) {
    throw createError('FLOWLENS_ERR_BPFFS_UNAVAILABLE', pinPath, 'the directory is not on a BPF filesystem (mount -t bpf)');
  }
}

function mountBpfFs(): void {
  mkdirSync(BPFFS_ROOT, { recursive: true });
  execFileSync('mount', ['-t', 'bpf', 'bpf', BPFFS_ROOT], { stdio: ['ignore', 'pipe', 'pipe'] });
}
