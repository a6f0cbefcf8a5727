// How the thread that reads the programs' events runs (src/bpf/ring-reader.ts):
// at SCHED_IDLE it only takes CPU time the node's workloads leave over.

import type { Registry } from 'prom-client';
import { KernelGauge } from './core/kernel-gauge.js';
import { unlabelled } from './core/series.js';
import type { EventReaderStatus } from './types.js';
import { EVENT_READER_IDLE } from './names.js';

export function registerEventReader(registers: Registry[], status: EventReaderStatus): void {
  new KernelGauge({
    name: EVENT_READER_IDLE,
    help: 'Whether the thread that reads the programs\' events runs at SCHED_IDLE (1) or at normal priority because the kernel refused (0); absent until it has started.',
    labelNames: [],
    registers,
    read: () => {
      const s = status();
      return s === undefined ? [] : unlabelled(s.idle ? 1 : 0);
    },
  });
}
