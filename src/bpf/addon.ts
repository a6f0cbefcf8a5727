/**
 * Loads the native addon (build/Release/flowlens_native.node) and turns its
 * errors into BpfError. This module is the only importer of the addon in the
 * whole code base; everything else goes through the classes of src/bpf.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { BpfError, fromNative } from './errors.js';

export interface NativeMapInfo {
  fd: number;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

export interface NativeGlobalInfo {
  size: number;
  kind: 'int' | 'bool' | 'enum' | 'other';
  signed: boolean;
}

export interface NativeTestRun {
  retval: number;
  data: Buffer;
  durationNs: number;
}

export interface NativeProgInfo {
  id: number;
  name: string;
  runCount: bigint;
  runTimeNs: bigint;
}

/** The addon's functions (src/native). Handles are opaque numbers released by close(). */
export interface NativeAddon {
  close(handle: number): void;
  possibleCpus(): number;
  enableStats(): number;

  objectOpen(path: string): number;
  objectSetPinPath(object: number, mapName: string, pinPath: string): void;
  objectGlobalInfo(object: number, name: string): NativeGlobalInfo;
  objectSetGlobal(object: number, name: string, bytes: Buffer): void;
  objectSetMapMaxEntries(object: number, mapName: string, maxEntries: number): void;
  objectReuseMap(object: number, mapName: string, fd: number): void;
  objectLoad(object: number): void;
  objectProgramFd(object: number, name: string): number;
  objectMapInfo(object: number, name: string): NativeMapInfo;
  objectProgramNames(object: number): string[];
  objectMapNames(object: number): string[];
  programAttach(object: number, name: string): number;

  tcAttach(progFd: number, ifindex: number, egress: boolean, mode: 'tcx' | 'clsact', priority: number): number;

  mapLookup(fd: number, key: Buffer): Buffer | null;
  mapUpdate(fd: number, key: Buffer, value: Buffer, flags: number): void;
  mapDelete(fd: number, key: Buffer): boolean;
  mapDump(fd: number): { count: number; keys: Buffer; values: Buffer };

  ringBufferOpen(mapFd: number, onRecords: (records: Buffer[]) => void): number;
  ringBufferConsume(handle: number): void;
  /** Takes ownership of fd (pass a duplicate: fdDup). */
  ringReaderOpen(fd: number): number;
  /** Copies up to maxRecords waiting records into batch as frames (src/native/reader.c); returns the bytes written. */
  ringReaderRead(handle: number, batch: ArrayBuffer, maxRecords: number): number;
  fdDup(fd: number): number;
  /** The calling thread's kernel id (gettid). */
  threadId(): number;
  /** Moves the calling thread to SCHED_IDLE; returns its kernel id. */
  threadSetIdle(): number;

  progTestRun(fd: number, data: Buffer, repeat: number, dataOutSize: number): NativeTestRun;
  progInfo(fd: number): NativeProgInfo;
}

/*
 * This file is src/bpf/addon.ts under vitest and dist/bpf/addon.js when
 * compiled: either way the repository root is two directories up.
 */
export const ADDON_PATH = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'build',
  'Release',
  'flowlens_native.node',
);

let loaded: NativeAddon | undefined;

function wrap(raw: Record<string, unknown>): NativeAddon {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(raw)) {
    if (typeof fn !== 'function') continue;
    out[name] = (...args: unknown[]): unknown => {
      try {
        return (fn as (...a: unknown[]) => unknown)(...args);
      } catch (e) {
        throw fromNative(e);
      }
    };
  }
  return out as unknown as NativeAddon;
}

/** The addon, loaded on first use. */
export function addon(): NativeAddon {
  if (loaded) return loaded;
  if (!existsSync(ADDON_PATH)) {
    throw new BpfError(
      `the flowlens native addon is not built (${ADDON_PATH} is missing): run \`make build\``,
      2,
      'ENOENT',
    );
  }
  const require = createRequire(import.meta.url);
  loaded = wrap(require(ADDON_PATH) as Record<string, unknown>);
  return loaded;
}
