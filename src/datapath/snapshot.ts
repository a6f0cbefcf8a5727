import type { DatapathSnapshot } from './records.js';
import type { DropReasons } from './drop-reasons.js';
import type { DropSnapshot } from './drop.js';
import type { RetransmitSnapshot } from './retransmit.js';

/**
 * One scrape's view of both programs: the drop tracer's counts join the flow
 * program's, with reasons named from the running kernel, and its dropped
 * connection attempts become flows with verdict "dropped".
 */
export function withDrops(flow: DatapathSnapshot, drop: DropSnapshot, reasons: DropReasons): DatapathSnapshot {
  return {
    ...flow,
    starts: flow.starts.concat(drop.droppedFlows),
    drops: drop.drops.map((d) => {
      const reason = reasons.get(d.reason);
      return { ...d, reason: reason.name, reasonClass: reason.reasonClass };
    }),
    eventsLost: flow.eventsLost.concat(drop.eventsLost),
    mapUpdateErrors: flow.mapUpdateErrors.concat(drop.mapUpdateErrors),
    maps: flow.maps.concat(drop.maps),
    programs: flow.programs.concat(drop.programs),
  };
}

/** The retransmit tracer's counts join the snapshot, with its map and program health. */
export function withRetransmits(snapshot: DatapathSnapshot, retransmit: RetransmitSnapshot): DatapathSnapshot {
  return {
    ...snapshot,
    retransmits: retransmit.retransmits,
    mapUpdateErrors: snapshot.mapUpdateErrors.concat(retransmit.mapUpdateErrors),
    maps: snapshot.maps.concat(retransmit.maps),
    programs: snapshot.programs.concat(retransmit.programs),
  };
}
