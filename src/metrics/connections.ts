import { registerIdentityPairCounter } from './core/identity-pair-counter.js';
import { CONTEXT_HELP, OVERFLOW_HELP, type FamilyContext } from './core/family-context.js';
import { DESTINATION_PORT_HELP, type PortFolder } from './core/labels.js';
import { directionLabel } from '../datapath/code-names.js';
import type { SeriesTable } from './core/series.js';
import { TCP_CONNECTION_ATTEMPTS_TOTAL } from './names.js';

export function registerConnectionAttempts(ctx: FamilyContext, ports: PortFolder): SeriesTable {
  return registerIdentityPairCounter(ctx, {
    name: TCP_CONNECTION_ATTEMPTS_TOTAL,
    help:
      'TCP connection attempts (SYN without ACK) by outcome: established (a SYN-ACK came back), refused ' +
      '(an RST came back) or unanswered (no reply within the timeout, as when a policy drops the SYN silently); ' +
      'counted once the outcome is known, retransmitted SYNs of one attempt once. Labels are those of the SYN. ' +
      `${CONTEXT_HELP} ${DESTINATION_PORT_HELP} ${OVERFLOW_HELP}`,
    extraLabelNames: ['outcome', 'destination_port', 'direction'],
    records: (view) => view.snapshot.connectionAttempts,
    render: (r) => [r.outcome, ports.label(r.dstPort), directionLabel(r.direction)],
    value: (r) => r.count,
  });
}
