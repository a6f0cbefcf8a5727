import { registerIdentityPairCounter } from './core/identity-pair-counter.js';
import { CONTEXT_HELP, OVERFLOW_HELP, type FamilyContext } from './core/family-context.js';
import { directionLabel, protocolLabel, verdictLabel } from '../datapath/code-names.js';
import type { SeriesTable } from './core/series.js';
import type { FlowTrafficRecord } from '../datapath/records.js';
import { PACKETS_TOTAL, BYTES_TOTAL } from './names.js';

const render = (r: FlowTrafficRecord): string[] => [protocolLabel(r.protocol), directionLabel(r.direction), verdictLabel(r.verdict)];

/** Packets and bytes come from the same records; each family keeps its own limit. */
export function registerTraffic(ctx: FamilyContext): { packets: SeriesTable; bytes: SeriesTable } {
  const extraLabelNames = ['protocol', 'direction', 'verdict'];
  const packets = registerIdentityPairCounter(ctx, {
    name: PACKETS_TOTAL,
    help: `Packets seen by the datapath, as the kernel counted them. ${CONTEXT_HELP} ${OVERFLOW_HELP}`,
    extraLabelNames,
    records: (view) => view.snapshot.traffic,
    render,
    value: (r) => r.packets,
  });
  const bytes = registerIdentityPairCounter(ctx, {
    name: BYTES_TOTAL,
    help: `Bytes of the frames seen by the datapath (skb length, link-layer header included), as the kernel counted them. ${CONTEXT_HELP} ${OVERFLOW_HELP}`,
    extraLabelNames,
    records: (view) => view.snapshot.traffic,
    render,
    value: (r) => r.bytes,
  });
  return { packets, bytes };
}
