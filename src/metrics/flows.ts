import { registerIdentityPairCounter } from './core/identity-pair-counter.js';
import { CONTEXT_HELP, OVERFLOW_HELP, type FamilyContext } from './core/family-context.js';
import { DESTINATION_PORT_HELP, type PortFolder } from './core/labels.js';
import { directionLabel, protocolLabel, verdictLabel } from '../datapath/code-names.js';
import type { SeriesTable } from './core/series.js';
import { FLOWS_TOTAL } from './names.js';

export function registerFlows(ctx: FamilyContext, ports: PortFolder): SeriesTable {
  return registerIdentityPairCounter(ctx, {
    name: FLOWS_TOTAL,
    help:
      'New flows (TCP connections, UDP/ICMP/SCTP exchanges) seen by the datapath, as the kernel counted them. ' +
      `${CONTEXT_HELP} ${DESTINATION_PORT_HELP} ${OVERFLOW_HELP}`,
    extraLabelNames: ['protocol', 'destination_port', 'direction', 'verdict'],
    records: (view) => view.snapshot.starts,
    render: (r) => [protocolLabel(r.protocol), ports.label(r.dstPort), directionLabel(r.direction), verdictLabel(r.verdict)],
    value: (r) => r.flows,
  });
}
