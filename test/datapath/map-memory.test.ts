import { describe, expect, it } from 'vitest';
import { COUNTER_MAP_LAYOUTS, counterMapBytes, mapMemoryProblem, memTotalBytes } from '../../src/datapath/map-memory.js';
import { COUNTER_MAPS } from '../../src/datapath/flow.js';

const GiB = 2 ** 30;

describe('kernel memory of datapath.mapEntries', () => {
  it('covers every counter map the objects size with mapEntries', () => {
    expect(COUNTER_MAP_LAYOUTS.map((m) => m.map)).toEqual([...COUNTER_MAPS, 'drops', 'dropped_flows', 'tcp_retransmits']);
  });

  it('counts each entry once for the element and key, and once per possible CPU for the value', () => {
    // per entry: 10 x 48-byte elements + keys rounded to 8 (16 x 9 + 8) + CPUs x (80 + 8 x 7 + 128 x 2) value bytes
    expect(counterMapBytes(1, 1)).toBe(632 + 392);
    expect(counterMapBytes(16384, 2)).toBe(16384 * (632 + 2 * 392));
    expect(counterMapBytes(16384, 64)).toBe(16384 * (632 + 64 * 392));
  });

  it('allows the default on a small node and refuses what would take more than an eighth of its memory, naming the cost', () => {
    expect(mapMemoryProblem(16384, 2, 4 * GiB)).toBeUndefined();
    expect(mapMemoryProblem(100_000_000, 2, 24 * GiB)).toBe(
      '100000000 entries in each of the 10 counter maps would take 131.9 GiB of kernel memory on this node (2 possible CPUs), ' +
        'more than the 3.0 GiB allowed (an eighth of its 24.0 GiB)',
    );
    // the same setting fits a node with more memory and refuses one with more CPUs
    expect(mapMemoryProblem(262144, 2, 24 * GiB)).toBeUndefined();
    expect(mapMemoryProblem(262144, 128, 24 * GiB)).toMatch(/^262144 entries .* \(128 possible CPUs\)/);
  });

  it('reads MemTotal from /proc/meminfo', () => {
    expect(memTotalBytes('MemFree:  100 kB\nMemTotal:       24576000 kB\n')).toBe(24576000 * 1024);
    expect(memTotalBytes()).toBeGreaterThan(0);
  });
});
