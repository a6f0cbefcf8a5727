import { registerIdentityPairCounter } from './core/identity-pair-counter.js';
import { CONTEXT_HELP, OVERFLOW_HELP, type FamilyContext } from './core/family-context.js';
import { directionLabel, protocolLabel, UNKNOWN } from '../datapath/code-names.js';
import type { SeriesTable } from './core/series.js';
import type { DropRecord } from '../datapath/records.js';
import { DROPS_TOTAL } from './names.js';

const render = (r: DropRecord): string[] => [
  r.reason,
  r.reasonClass,
  // protocol 0 is what the kernel side records when it could not read the headers
  r.protocol === 0 ? UNKNOWN : protocolLabel(r.protocol),
  directionLabel(r.direction),
];

export function registerDrops(ctx: FamilyContext): SeriesTable {
  return registerIdentityPairCounter(ctx, {
    name: DROPS_TOTAL,
    help:
      'Packets the kernel dropped (kfree_skb), by the kernel\'s drop reason and its class (policy, no_socket, ' +
      'congestion, routing, malformed, socket, other); identities are unknown where the headers could not be read. ' +
      `${CONTEXT_HELP} ${OVERFLOW_HELP}`,
    extraLabelNames: ['reason', 'reason_class', 'protocol', 'direction'],
    records: (view) => view.snapshot.drops,
    render,
    value: (r) => r.packets,
  });
}
