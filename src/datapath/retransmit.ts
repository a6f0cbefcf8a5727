import { fileURLToPath } from 'node:url';
import { BpfObject, type BpfLink } from '../bpf/index.js';
import { Btf, KERNEL_BTF_PATH } from '../bpf/btf.js';
import { RETRANSMIT_MAP_ERROR_MAPS, decodeTcpRetransmitKey, nameAt } from '../bpf/codecs.js';
import type { TcpRetransmitRecord } from './records.js';
import { insertOverflowKeys } from './counters.js';
import { openSharingIdentities, type IdentityMaps } from './flow.js';
import { perCpuArrayTotals, sumPerCpuCounter } from './per-cpu.js';

/** bpf/.output/retransmit.bpf.o, from src/datapath (vitest) and dist/datapath (built) alike. */
export const RETRANSMIT_OBJECT_PATH = fileURLToPath(new URL('../../bpf/.output/retransmit.bpf.o', import.meta.url));

const PROGRAMS = ['retransmit_skb', 'retransmit_synack'] as const;

/** The counter map: fill level exported, overflow key inserted. */
const COUNTER_MAP = 'tcp_retransmits';

/** Kept pinned with --pin-path beside the flow maps, so a restart continues the counts. */
export const PINNED_RETRANSMIT_MAPS = [COUNTER_MAP, 'retransmit_map_errors'];

/**
 * The running kernel's tcp_retransmit_skb passes the transmit's error (6.12+):
 * its BTF typedef has four parameters (the context, sk, skb, err).
 */
function retransmitHasErr(): boolean {
  return Btf.fromFile(KERNEL_BTF_PATH).funcPointerParams('btf_trace_tcp_retransmit_skb') === 4;
}

export interface RetransmitDatapathOptions {
  objectPath?: string;
  /** The flow object's identity maps (FlowDatapath.identityMaps()): retransmits resolve identities alike. */
  identityMaps: IdentityMaps;
  /** bpffs directory for PINNED_RETRANSMIT_MAPS; null keeps nothing pinned. */
  pinPath?: string | null;
  /** Capacity of tcp_retransmits. */
  mapEntries: number;
}

export interface RetransmitSnapshot {
  retransmits: TcpRetransmitRecord[];
  mapUpdateErrors: Array<{ map: string; count: number }>;
  maps: Array<{ map: string; entries: number; capacity: number }>;
  programs: Array<{ program: string; runs: number; runSeconds: number }>;
}

/**
 * retransmit.bpf.c from user space: loads it sharing the flow object's
 * ipcache, attaches it to the TCP retransmit tracepoints and reads its
 * counters back as absolute kernel totals (per-CPU values summed).
 */
export class RetransmitDatapath {
  private readonly links: BpfLink[] = [];
  private closed = false;

  private constructor(private readonly object: BpfObject) {
    try {
      for (const name of PROGRAMS) this.links.push(object.program(name).attach());
    } catch (err) {
      for (const link of this.links) link.destroy();
      throw err;
    }
  }

  static load(opts: RetransmitDatapathOptions): RetransmitDatapath {
    const object = openSharingIdentities(opts.objectPath ?? RETRANSMIT_OBJECT_PATH, opts.identityMaps, { dir: opts.pinPath, names: PINNED_RETRANSMIT_MAPS });
    try {
      object.setGlobal('retransmit_has_err', retransmitHasErr());
      object.setMapMaxEntries(COUNTER_MAP, opts.mapEntries);
      object.load();
      insertOverflowKeys(object, [COUNTER_MAP]);
      return new RetransmitDatapath(object);
    } catch (err) {
      object.close();
      throw err;
    }
  }

  snapshot(): RetransmitSnapshot {
    const retransmits: TcpRetransmitRecord[] = [];
    const map = this.object.map(COUNTER_MAP);
    for (const { key, value } of map.entries()) {
      retransmits.push({ ...decodeTcpRetransmitKey(key), segments: sumPerCpuCounter(value) });
    }
    const errors = perCpuArrayTotals(this.object.map('retransmit_map_errors'));
    return {
      retransmits,
      mapUpdateErrors: errors.map((count, i) => ({ map: nameAt(RETRANSMIT_MAP_ERROR_MAPS, i), count })),
      maps: [{ map: COUNTER_MAP, entries: retransmits.length, capacity: map.maxEntries }],
      programs: PROGRAMS.map((name) => {
        const info = this.object.program(name).info();
        return { program: name, runs: Number(info.runCount), runSeconds: Number(info.runTimeNs) / 1e9 };
      }),
    };
  }

  /** Idempotent: detaches from the tracepoints and frees the object (the shared ipcache stays with its owner). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.links) link.destroy();
    this.object.close();
  }
}
