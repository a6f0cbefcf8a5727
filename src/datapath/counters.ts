// The overflow path of the kernel's per-CPU counter maps
// (bpf/include/counter.bpf.h): a key that a full map cannot take is counted
// under the map's overflow key, so the sum over a map's keys is always what
// the programs saw. The key is inserted here, right after load, so it exists
// before the map can fill.

import { BpfError, type BpfObject } from '../bpf/index.js';

/** Every byte of an overflow key (FLOWLENS_COUNTER_OVERFLOW_BYTE). */
const OVERFLOW_BYTE = 0xff;

/** Inserts each map's overflow key with zero counts; one that is already there (a pinned map) keeps its counts. */
export function insertOverflowKeys(object: BpfObject, maps: readonly string[]): void {
  for (const name of maps) {
    const map = object.map(name);
    try {
      map.update(Buffer.alloc(map.keySize, OVERFLOW_BYTE), Buffer.alloc(map.valueSize), 'noexist');
    } catch (err) {
      if (!(err instanceof BpfError && err.code === 'EEXIST')) throw err;
    }
  }
}
