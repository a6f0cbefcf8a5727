import { registerIdentityPairCounter } from './core/identity-pair-counter.js';
import { CONTEXT_HELP, OVERFLOW_HELP, type FamilyContext } from './core/family-context.js';
import { DESTINATION_PORT_HELP, type PortFolder } from './core/labels.js';
import { verdictLabel } from '../datapath/code-names.js';
import type { SeriesTable } from './core/series.js';
import type { FlowStartRecord } from '../datapath/records.js';
import { UNKNOWN_SOURCE_FLOWS_TOTAL } from './names.js';

/** Reserved identities that mean "we do not know who this is". */
const SOURCE_CLASSES: Readonly<Record<number, string>> = { 2: 'world', 3: 'unmanaged' };
const INGRESS = 1;

/**
 * Flows into a local workload from world (outside every known range) or
 * unmanaged (inside a cluster range, but no known workload): the connections
 * users page on. Counted where they enter the destination (direction
 * ingress), so a flow seen at both ends of a node is counted once.
 */
export function registerUnknownSources(ctx: FamilyContext, ports: PortFolder): SeriesTable {
  return registerIdentityPairCounter<FlowStartRecord>(ctx, {
    name: UNKNOWN_SOURCE_FLOWS_TOTAL,
    help:
      'New flows from an unknown source (source_class world or unmanaged) into a workload, where they entered it; ' +
      `verdict dropped when the kernel dropped them. ${CONTEXT_HELP} ${DESTINATION_PORT_HELP} ${OVERFLOW_HELP}`,
    extraLabelNames: ['source_class', 'destination_port', 'verdict'],
    destinationOnly: true,
    records: (view) => view.snapshot.starts.filter((r) => SOURCE_CLASSES[r.srcIdentity] !== undefined && r.direction === INGRESS),
    render: (r) => [SOURCE_CLASSES[r.srcIdentity]!, ports.label(r.dstPort), verdictLabel(r.verdict)],
    value: (r) => r.flows,
  });
}
