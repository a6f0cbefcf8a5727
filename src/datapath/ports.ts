// The one port policy: which destination ports keep a series of their own and
// how the rest fold into ranges. Metrics label destination_port with it, and
// the kernel keys its counters with the table it builds (bpf/include/ports.bpf.h),
// so that the kernel's key space is the metrics' series space: a port scan
// makes at most one key per range, never one per port.

import { endianness } from 'node:os';
import { FLOWLENS_PORTS } from '../bpf/layouts.generated.js';

/** IANA's port ranges: well-known, registered, dynamic. */
export const PORT_RANGES = ['1-1023', '1024-49151', '49152-65535'] as const;
const RANGE_BOUNDS: ReadonlyArray<readonly [number, number]> = [
  [1, 1023],
  [1024, 49151],
  [49152, 65535],
];

/** Entries of the kernel's port_classes table: one per port. */
export const PORT_COUNT = FLOWLENS_PORTS;

export const DESTINATION_PORT_HELP =
  'destination_port is the port number for the configured destination ports; ' +
  'other ports are folded into the ranges 1-1023, 1024-49151 and 49152-65535, ' +
  'and 0 means the protocol has no ports.';

function rangeOf(port: number): number {
  return port <= 1023 ? 0 : port <= 49151 ? 1 : 2;
}

/**
 * Folds destination ports so the label stays bounded: only the ports an
 * operator listed are worth a series of their own; the rest (mostly ephemeral
 * ports of return traffic) would otherwise grow without limit.
 */
export class PortFolder {
  /** Each named port with its label, built once: a scrape renders ports without allocating. */
  private readonly named: ReadonlyMap<number, string>;

  constructor(ports: readonly number[]) {
    const named = new Map<number, string>();
    for (const port of ports) {
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new RangeError(`destination port ${port} is not an integer in 0-65535`);
      }
      named.set(port, String(port));
    }
    this.named = named;
  }

  label(port: number): string {
    const named = this.named.get(port);
    if (named !== undefined) return named;
    if (port <= 0) return '0';
    return PORT_RANGES[rangeOf(port)]!;
  }

  /**
   * The kernel's port_classes table (u16 per port, host byte order). Each
   * range is stood for by its lowest port without a series of its own, which
   * label() folds into that range like any other; zero keeps a port as it is
   * (a named port, port 0). A range whose every port is named needs no stand-in.
   */
  kernelTable(): Buffer {
    const table = Buffer.alloc(PORT_COUNT * 2);
    const write = endianness() === 'LE' ? table.writeUInt16LE.bind(table) : table.writeUInt16BE.bind(table);
    RANGE_BOUNDS.forEach(([low, high]) => {
      let standIn = low;
      while (standIn <= high && this.named.has(standIn)) standIn++;
      if (standIn > high) return;
      for (let port = low; port <= high; port++) if (!this.named.has(port)) write(standIn, port * 2);
    });
    return table;
  }
}
