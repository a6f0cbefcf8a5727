import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statfsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
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

/**
 * Pinned maps of earlier releases under their old names, with the names they
 * have now: counter maps are named after the metric family they feed
 * (flowlens_flows_total, flowlens_tcp_connection_attempts_total,
 * flowlens_http_unmatched_messages_total). Layouts did not change, so an old
 * pin holds exactly what the new map would.
 */
export const RENAMED_PINS: Readonly<Record<string, string>> = {
  flow_starts: 'flows',
  drop_flow_starts: 'dropped_flows',
  tcp_outcomes: 'tcp_attempts',
  http_messages: 'http_unmatched',
};

/**
 * Run before the objects load, so that an exporter upgraded in place keeps
 * the counts its predecessor pinned: each old-name pin in `pinPath` is renamed
 * (rename(2) within bpffs moves the pin, the map stays) to the name the
 * objects pin and reuse. When both names are pinned (a newer exporter ran,
 * then an older one), the new-name pin is the one the objects reuse, and the
 * old one is removed rather than left orphaned, holding kernel memory.
 */
export function migrateRenamedPins(pinPath: string, log?: Logger, renames: Readonly<Record<string, string>> = RENAMED_PINS): void {
  for (const [from, to] of Object.entries(renames)) {
    const oldPin = join(pinPath, from);
    const newPin = join(pinPath, to);
    if (!existsSync(oldPin)) continue;
    try {
      if (existsSync(newPin)) {
        unlinkSync(oldPin);
        log?.warn(`removed the pinned map ${oldPin}: its new name ${newPin} is pinned too and keeps counting`);
      } else {
        renameSync(oldPin, newPin);
        log?.info(`pinned map ${oldPin} renamed to ${newPin}, its name since maps are named after their metric`);
      }
    } catch (err) {
      throw createError('FLOWLENS_ERR_BPFFS_UNAVAILABLE', oldPin, `could not move it to its new name ${to}: ${(err as Error).message}`);
    }
  }
}
