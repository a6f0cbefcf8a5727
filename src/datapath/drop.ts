import { fileURLToPath } from 'node:url';
import { BpfObject, RingReader, forEachRecord, type BpfLink } from '../bpf/index.js';
import { EVENTS_READ_MS } from './events.js';
import {
  DROP_EVENT,
  DROP_MAP_ERROR_MAPS,
  LOST_REASON_NAMES,
  EventType,
  decodeDropEvent,
  decodeDropKey,
  decodeFlowKey,
  nameAt,
  type DropEvent,
  type DropKey,
} from '../bpf/codecs.js';
import type { FlowStartRecord } from './records.js';
import { openSharingIdentities, type IdentityMaps } from './flow.js';
import { perCpuArrayTotals, sumPerCpuCounter } from './per-cpu.js';
import { insertOverflowKeys } from './counters.js';
import { PortFolder } from './ports.js';

/** bpf/.output/drop.bpf.o, from src/datapath (vitest) and dist/datapath (built) alike. */
export const DROP_OBJECT_PATH = fileURLToPath(new URL('../../bpf/.output/drop.bpf.o', import.meta.url));

const PROGRAM = 'drop_skb';


/** Hash maps whose fill level is exported (flowlens_bpf_map_entries / _capacity). */
const REPORTED_MAPS = ['drops', 'dropped_flows'];

/** Kept pinned with --pin-path beside the flow maps, so a restart continues the drop counts. */
export const PINNED_DROP_MAPS = ['drops', 'dropped_flows', 'drop_events_lost', 'drop_map_errors'];

export interface DropDatapathOptions {
  objectPath?: string;
  /** The flow object's identity maps (FlowDatapath.identityMaps()): drops resolve identities alike. */
  identityMaps: IdentityMaps;
  /** bpffs directory for PINNED_DROP_MAPS; null keeps nothing pinned. */
  pinPath?: string | null;
  eventsPerSecond: number;
  ringBufferBytes: number;
  /** Capacity of drops and dropped_flows. */
  mapEntries: number;
  /** Ports that key counters by themselves; the rest by range (./ports.ts). As the flow object's. */
  destinationPorts: readonly number[];
  onDropEvent?: (event: DropEvent) => void;
}

/** A drops map entry with its count summed over CPUs; the reason is still the kernel's number (withDrops names it). */
export type DropCount = DropKey & { packets: number };

export interface DropSnapshot {
  drops: DropCount[];
  /** Dropped TCP connection attempts (SYN without ACK), verdict dropped. */
  droppedFlows: FlowStartRecord[];
  eventsLost: Array<{ source: 'drop'; reason: string; count: number }>;
  /** New keys the full drops map refused: drops the kernel could not count. */
  mapErrors: number;
  /** The same by map, dropped_flows included. */
  mapUpdateErrors: Array<{ map: string; count: number }>;
  maps: Array<{ map: string; entries: number; capacity: number }>;
  programs: Array<{ program: string; runs: number; runSeconds: number }>;
}

/**
 * drop.bpf.c from user space: loads it sharing the flow object's ipcache,
 * attaches it to tp_btf/kfree_skb and reads its counters back as absolute
 * kernel totals (per-CPU values summed).
 */
export class DropDatapath {
  private readonly link: BpfLink;
  private readonly events: RingReader;
  private closed = false;
  /** Records on the ring buffer that are not drop events (a newer object than this code). */
  unknownEvents = 0;
  dropEvents = 0;

  private constructor(
    private readonly object: BpfObject,
    private readonly opts: DropDatapathOptions,
  ) {
    // drop.bpf.c submits without wakeups (see emit_drop_event): read off the main thread on a timer
    this.events = new RingReader(object.map('drop_events'), {
      readIntervalMs: EVENTS_READ_MS,
      onBatch: (batch, bytes) => forEachRecord(batch, bytes, (at, length) => this.onRecord(batch, at, length)),
    });
    try {
      this.link = object.program(PROGRAM).attach();
    } catch (err) {
      this.events.close();
      throw err;
    }
  }

  static load(opts: DropDatapathOptions): DropDatapath {
    const object = openSharingIdentities(opts.objectPath ?? DROP_OBJECT_PATH, opts.identityMaps, { dir: opts.pinPath, names: PINNED_DROP_MAPS });
    try {
      object.setGlobal('events_per_second', opts.eventsPerSecond);
      object.setMapMaxEntries('drop_events', opts.ringBufferBytes);
      object.setGlobalBytes('port_classes', new PortFolder(opts.destinationPorts).kernelTable());
      for (const name of REPORTED_MAPS) object.setMapMaxEntries(name, opts.mapEntries);
      object.load();
      // drops and dropped_flows: the counter maps, each with its overflow key
      insertOverflowKeys(object, REPORTED_MAPS);
      return new DropDatapath(object, opts);
    } catch (err) {
      object.close();
      throw err;
    }
  }

  snapshot(): DropSnapshot {
    const drops: DropCount[] = [];
    for (const { key, value } of this.object.map('drops').entries()) {
      drops.push({ ...decodeDropKey(key), packets: sumPerCpuCounter(value) });
    }
    const droppedFlows: FlowStartRecord[] = [];
    for (const { key, value } of this.object.map('dropped_flows').entries()) {
      droppedFlows.push({ ...decodeFlowKey(key), flows: sumPerCpuCounter(value) });
    }
    const lost = perCpuArrayTotals(this.object.map('drop_events_lost'));
    const mapErrors = perCpuArrayTotals(this.object.map('drop_map_errors'));
    return {
      drops,
      droppedFlows,
      eventsLost: lost.map((count, i) => ({ source: 'drop', reason: nameAt(LOST_REASON_NAMES, i), count })),
      mapErrors: mapErrors[0] ?? 0,
      mapUpdateErrors: mapErrors.map((count, i) => ({ map: nameAt(DROP_MAP_ERROR_MAPS, i), count })),
      // both maps were read whole above: their entry counts are known
      maps: [
        { map: 'drops', entries: drops.length, capacity: this.object.map('drops').maxEntries },
        { map: 'dropped_flows', entries: droppedFlows.length, capacity: this.object.map('dropped_flows').maxEntries },
      ],
      programs: [this.programRuns()],
    };
  }

  /** Idempotent: detaches from the tracepoint and frees the object (the shared ipcache stays with its owner). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.events.close();
    this.link.destroy();
    this.object.close();
  }

  private programRuns(): { program: string; runs: number; runSeconds: number } {
    const info = this.object.program(PROGRAM).info();
    return { program: PROGRAM, runs: Number(info.runCount), runSeconds: Number(info.runTimeNs) / 1e9 };
  }

  /** Resolves once the drops recorded until now have reached onDropEvent, without waiting for the next timed read. */
  consumeEvents(): Promise<void> {
    return this.closed ? Promise.resolve() : this.events.read();
  }

  /** One record of a batch, decoded in place; a record shorter than a drop event counts as unknown. */
  private onRecord(batch: Buffer, at: number, length: number): void {
    if (length < DROP_EVENT.size || batch.readUInt8(at) !== EventType.DROP) {
      this.unknownEvents++;
      return;
    }
    this.dropEvents++;
    this.opts.onDropEvent?.(decodeDropEvent(batch, at));
  }

}
