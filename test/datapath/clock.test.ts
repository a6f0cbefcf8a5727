import { describe, expect, it } from 'vitest';
import { KernelClock } from '../../src/datapath/clock.js';

describe('kernel clock', () => {
  it('maps CLOCK_MONOTONIC readings onto wall time by the offset read at calibration', () => {
    let mono = 5_000_000_000n;
    const c = new KernelClock(() => mono, () => 1_000_000);
    expect(c.toWallNs(5_000_000_000n)).toBe(1_000_000n * 1_000_000n);
    expect(c.toHrTime(5_000_000_001n)).toEqual([1000, 1]);
    mono += 1_000_000n;
    expect(c.toWallNs(4_000_000_000n)).toBe(1_000_000n * 1_000_000n - 1_000_000_000n);
  });
});
