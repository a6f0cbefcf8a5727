import { possibleCpus, type BpfMap } from '../bpf/index.js';

/**
 * Per-CPU counters as the kernel keeps them (one copy per possible CPU, each
 * rounded up to 8 bytes), summed into the totals that metrics export.
 */

const CPUS = possibleCpus();

/** Sums `fields` consecutive u64 counters over the per-CPU copies of one value. */
export function sumPerCpu(value: Buffer, fields: number): number[] {
  const stride = value.length / CPUS;
  const sums = new Array<number>(fields).fill(0);
  for (let cpu = 0; cpu < CPUS; cpu++) {
    for (let f = 0; f < fields; f++) sums[f]! += Number(value.readBigUInt64LE(cpu * stride + f * 8));
  }
  return sums;
}

/** One u64 counter summed over CPUs. */
export function sumPerCpuCounter(value: Buffer): number {
  return sumPerCpu(value, 1)[0]!;
}

/** Every slot of a per-CPU array of u64 counters, summed over CPUs, by index; one batch read. */
export function perCpuArrayTotals(map: BpfMap): number[] {
  const totals = new Array<number>(map.maxEntries).fill(0);
  for (const { key, value } of map.entries()) totals[key.readUInt32LE(0)] = sumPerCpuCounter(value);
  return totals;
}
