// Self-metrics of span export. Present with value 0 when no OTLP endpoint is
// configured, so alerts on them need no absent() guard.

import type { Registry } from 'prom-client';
import { KernelCounter } from './core/kernel-counter.js';
import { sumByLabels, unlabelled } from './core/series.js';
import type { SpanStatus } from './types.js';
import { FLOW_LOGS_DROPPED_TOTAL, FLOW_LOGS_EXPORTED_TOTAL, SPANS_DROPPED_TOTAL, SPANS_EXPORTED_TOTAL } from './names.js';

/** Reasons a built span is dropped (SpanDropReason in src/traces). */
const DROP_REASONS = ['queue_full', 'export_failed'] as const;

export function registerSpans(registers: Registry[], status: SpanStatus | undefined, flowLogs?: SpanStatus): void {
  new KernelCounter({
    name: SPANS_DROPPED_TOTAL,
    help:
      'Spans built but not delivered to the OTLP receiver: queue_full (the export queue was at its limit, as when ' +
      'the receiver is slow or down) or export_failed (the receiver refused or could not be reached). Exchanges ' +
      'never sent by the kernel are in flowlens_events_lost_total; unsampled ones are not dropped.',
    labelNames: ['reason'],
    registers,
    read: () => sumByLabels(DROP_REASONS.map((reason) => [{ reason }, status?.dropped[reason] ?? 0])),
  });
  new KernelCounter({
    name: SPANS_EXPORTED_TOTAL,
    help: 'Spans the OTLP receiver accepted.',
    labelNames: [],
    registers,
    read: () => unlabelled(status?.exported ?? 0),
  });
  new KernelCounter({
    name: FLOW_LOGS_DROPPED_TOTAL,
    help:
      'Flow records (flowLogs.enabled) not delivered to the OTLP receiver as log records: queue_full (the export ' +
      'queue was at its limit, as when the receiver is slow or down) or export_failed (refused or unreachable).',
    labelNames: ['reason'],
    registers,
    read: () => sumByLabels(DROP_REASONS.map((reason) => [{ reason }, flowLogs?.dropped[reason] ?? 0])),
  });
  new KernelCounter({
    name: FLOW_LOGS_EXPORTED_TOTAL,
    help: 'Flow records the OTLP receiver accepted as log records (flowLogs.enabled).',
    labelNames: [],
    registers,
    read: () => unlabelled(flowLogs?.exported ?? 0),
  });
}
