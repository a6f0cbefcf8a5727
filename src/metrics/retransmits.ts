import { registerIdentityPairCounter } from './core/identity-pair-counter.js';
import { CONTEXT_HELP, OVERFLOW_HELP, type FamilyContext } from './core/family-context.js';
import type { SeriesTable } from './core/series.js';
import { TCP_RETRANSMITS_TOTAL } from './names.js';

export function registerTcpRetransmits(ctx: FamilyContext): SeriesTable {
  return registerIdentityPairCounter(ctx, {
    name: TCP_RETRANSMITS_TOTAL,
    help:
      'TCP segments sent again by a socket of this node, as the kernel counts RetransSegs (tracepoints ' +
      'tcp_retransmit_skb and tcp_retransmit_synack). The source is the retransmitting end, the destination its peer. ' +
      `${CONTEXT_HELP} ${OVERFLOW_HELP}`,
    extraLabelNames: [],
    records: (view) => view.snapshot.retransmits ?? [],
    render: () => [],
    value: (r) => r.segments,
  });
}
