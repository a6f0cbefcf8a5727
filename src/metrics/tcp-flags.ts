import { registerIdentityPairCounter } from './core/identity-pair-counter.js';
import { CONTEXT_HELP, OVERFLOW_HELP, type FamilyContext } from './core/family-context.js';
import { directionLabel, tcpFlagLabel, TCP_FLAGS } from '../datapath/code-names.js';
import type { SeriesTable } from './core/series.js';
import { TCP_FLAGS_TOTAL } from './names.js';

export function registerTcpFlags(ctx: FamilyContext): SeriesTable {
  return registerIdentityPairCounter(ctx, {
    name: TCP_FLAGS_TOTAL,
    help:
      `TCP segments with a flag set, per flag (${TCP_FLAGS.join(', ')}); a segment counts once for each of its flags. ` +
      `${CONTEXT_HELP} ${OVERFLOW_HELP}`,
    extraLabelNames: ['flag', 'direction'],
    records: (view) => view.snapshot.tcpFlags,
    render: (r) => [tcpFlagLabel(r.flag), directionLabel(r.direction)],
    value: (r) => r.count,
  });
}
