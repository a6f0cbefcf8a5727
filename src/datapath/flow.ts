import { fileURLToPath } from 'node:url';
import {
  BpfObject,
  RingReader,
  enableBpfStats,
  forEachRecord,
  type BpfMap,
  type BpfProgram,
  type TcAttachment,
} from '../bpf/index.js';
import {
  FLOW_TRAFFIC_VALUE,
  LOST_REASON_NAMES,
  MAP_UPDATE_ERROR_MAPS,
  PARSE_REASON_NAMES,
  decodeDnsEvent,
  decodeFlowEvent,
  decodeFlowKey,
  decodeHttpEvent,
  decodeTcpOutcomeEvent,
  DNS_EVENT,
  encodeIpcacheValue,
  FLOW_EVENT,
  HTTP_EVENT,
  TCP_OUTCOME_EVENT,
  encodeU32,
  encodeU64,
  EventType,
  ipcacheKey,
  nameAt,
  type DnsEvent,
  type FlowEvent,
  type HttpEvent,
  type TcpOutcomeEvent,
} from '../bpf/codecs.js';
import { HTTP_PINNED_MAPS, HTTP_REPORTED_MAPS, readHttp } from './http.js';
import type { AttachMode } from '../config.js';
import type { Cidr } from '../net/cidr.js';
import type { IpcacheWriter } from '../bpf/ipcache.js';
import type { DatapathSnapshot, FlowStartRecord, FlowTrafficRecord, TcpFlagsRecord } from './records.js';
import type { Logger } from '../log.js';
import type { Detachable, InterfaceAttacher, InterfaceRole } from './attach.js';
import type { NetInterface } from './interfaces.js';
import { perCpuArrayTotals, sumPerCpu, sumPerCpuCounter } from './per-cpu.js';
import { DEFAULT_DNS_PORTS, DEFAULT_DNS_UNANSWERED_TIMEOUT_SECONDS, DNS_REPORTED_MAPS, DnsTracker, setDnsPorts } from './dns.js';
import { EVENTS_READ_MS } from './events.js';
import { DEFAULT_TCP_UNANSWERED_TIMEOUT_SECONDS, TcpOutcomeTracker } from './tcp.js';
import { insertOverflowKeys } from './counters.js';
import { PortFolder } from './ports.js';

/** bpf/.output/flow.bpf.o, from src/datapath (vitest) and dist/datapath (built) alike. */
export const FLOW_OBJECT_PATH = fileURLToPath(new URL('../../bpf/.output/flow.bpf.o', import.meta.url));

/**
 * Maps kept pinned with --pin-path: the counters, so that a restarted exporter
 * continues the kernel's totals. The ipcache is not pinned: user space
 * rewrites it from its sources at every start, and stale entries from a
 * previous configuration must not survive.
 */
export const PINNED_MAPS = [
  'flow_traffic',
  'flows',
  'tcp_attempts',
  'parse_packets',
  'events_lost',
  'map_update_errors',
  'dns_queries',
  'dns_responses',
  'dns_malformed',
  ...HTTP_PINNED_MAPS,
];

/** Maps whose fill level is exported (flowlens_bpf_map_entries / _capacity). */
const REPORTED_MAPS = ['ipcache', 'flow_traffic', 'flows', 'flow_conntrack', 'tcp_pending', 'tcp_attempts', ...DNS_REPORTED_MAPS, ...HTTP_REPORTED_MAPS];

/** Per-CPU counter maps keyed by identity pair: each has an overflow key (./counters.ts) and mapEntries entries. */
export const COUNTER_MAPS = ['flow_traffic', 'flows', 'tcp_attempts', 'dns_queries', 'dns_responses', 'http_requests', 'http_responses'];

/**
 * How often tcp_pending and dns_pending are swept for attempts and queries
 * past their timeouts. Only this timer sweeps: a snapshot reads and changes nothing.
 */
const SWEEP_INTERVAL_MS = 500;

const PROGRAMS = ['flow_from_endpoint', 'flow_to_endpoint'] as const;


/** u64 counters in a flow_traffic value: packets, bytes, then one per TCP flag. */
const TRAFFIC_VALUE_FIELDS = FLOW_TRAFFIC_VALUE.size / 8;

/**
 * The maps every program resolves identities with (bpf/include/identity.bpf.h):
 * other objects reuse the flow object's, so one ipcache write, and one
 * generation bump, reach all of them.
 */
export interface IdentityMaps {
  ipcache: BpfMap;
  ipcacheGeneration: BpfMap;
}

/** Opens another object (the drop and retransmit tracers) to resolve identities through the flow object's maps. */
export function openSharingIdentities(path: string, identityMaps: IdentityMaps, pin: { dir: string | null | undefined; names: string[] }): BpfObject {
  const object = BpfObject.open(path, { pinMaps: pin.dir ? { dir: pin.dir, names: pin.names } : undefined });
  try {
    object.reuseMap('ipcache', identityMaps.ipcache);
    object.reuseMap('ipcache_generation', identityMaps.ipcacheGeneration);
    return object;
  } catch (err) {
    object.close();
    throw err;
  }
}

export interface FlowDatapathOptions {
  objectPath?: string;
  /** bpffs directory for PINNED_MAPS; null keeps nothing pinned. */
  pinPath: string | null;
  attachMode: AttachMode;
  flowIdleTimeoutSeconds: number;
  eventsPerSecond: number;
  ringBufferBytes: number;
  /** Capacity of each of COUNTER_MAPS. */
  mapEntries: number;
  /** Ports that key counters (and label destination_port) by themselves; the rest by range (./ports.ts). */
  destinationPorts: readonly number[];
  /**
   * A TCP connection attempt with neither SYN-ACK nor RST this long after its
   * latest SYN counts as unanswered (what a silent drop looks like); default 3.
   */
  tcpUnansweredTimeoutSeconds?: number;
  /** Ports parsed as DNS (1 to 4); default [53]. */
  dnsPorts?: readonly number[];
  /** A DNS query without a response this long is sent as an unanswered exchange; default 5. */
  dnsUnansweredTimeoutSeconds?: number;
  /**
   * Each DNS exchange: a response matched to its query (from the kernel,
   * under the events budget) or a query left unanswered (from the sweep).
   */
  onDnsEvent?: (event: DnsEvent) => void;
  /** Turn on kernel-wide bpf_stats while running: two clock reads per run of every BPF program. */
  programStats?: boolean;
  onFlowEvent?: (event: FlowEvent) => void;
  /**
   * Each settled TCP connection attempt: answered ones from the kernel (under
   * the events budget, like flow events), unanswered ones from the sweep.
   */
  onTcpOutcome?: (event: TcpOutcomeEvent) => void;
  /** HTTP/1.x request and status lines recognised on any TCP port; default true. */
  http?: boolean;
  /** Each matched HTTP exchange (under the events budget, like flow events). */
  onHttpEvent?: (event: HttpEvent) => void;
  log?: Logger;
}

/**
 * flow.bpf.c from user space: loads it with the configured settings, attaches
 * it to interfaces, keeps the ipcache and reads the counters back as a
 * snapshot of absolute kernel totals (per-CPU values summed).
 */
export class FlowDatapath implements InterfaceAttacher {
  private readonly object: BpfObject;
  private readonly programs: Record<(typeof PROGRAMS)[number], BpfProgram>;
  private readonly events: RingReader;
  private readonly stats: { disable(): void } | undefined;
  private closed = false;
  /** Last value written to ipcache_generation; this process is its only writer (the map is not pinned). */
  private ipcacheGeneration = 0n;
  /** Records on the ring buffer of a type this code does not know (a newer object than this code). */
  unknownEvents = 0;
  flowEvents = 0;
  httpEvents = 0;
  /** TCP connection attempts by outcome, and the sweep of unanswered ones. */
  readonly tcp: TcpOutcomeTracker;
  private readonly sweepTimer: NodeJS.Timeout;
  /** DNS counters, exchanges and the sweep of unanswered queries. */
  readonly dns: DnsTracker;

  private constructor(
    object: BpfObject,
    private readonly opts: FlowDatapathOptions,
  ) {
    this.object = object;
    this.programs = {
      flow_from_endpoint: object.program('flow_from_endpoint'),
      flow_to_endpoint: object.program('flow_to_endpoint'),
    };
    // read off the main thread on a timer (events carry no wakeup: see EVENTS_READ_MS)
    this.events = new RingReader(object.map('events'), {
      readIntervalMs: EVENTS_READ_MS,
      onBatch: (batch, bytes) => forEachRecord(batch, bytes, (at, length) => this.onRecord(batch, at, length)),
      onError: (message) => opts.log?.error(`flow events: ${message}; no more flow, TCP, DNS or HTTP events are read`),
    });
    this.stats = opts.programStats ? enableBpfStats() : undefined;
    this.tcp = new TcpOutcomeTracker(object, opts.tcpUnansweredTimeoutSeconds ?? DEFAULT_TCP_UNANSWERED_TIMEOUT_SECONDS, (event) =>
      opts.onTcpOutcome?.(event),
    );
    this.dns = new DnsTracker(object, opts.dnsUnansweredTimeoutSeconds ?? DEFAULT_DNS_UNANSWERED_TIMEOUT_SECONDS, (event) =>
      opts.onDnsEvent?.(event),
    );
    this.sweepTimer = setInterval(() => {
      this.sweepTcpPending();
      this.sweepDnsPending();
    }, SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  static load(opts: FlowDatapathOptions): FlowDatapath {
    const timeout = opts.tcpUnansweredTimeoutSeconds;
    if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0)) {
      throw new RangeError(`tcpUnansweredTimeoutSeconds must be a number > 0, got ${timeout}`);
    }
    const dnsTimeout = opts.dnsUnansweredTimeoutSeconds;
    if (dnsTimeout !== undefined && !(Number.isFinite(dnsTimeout) && dnsTimeout > 0)) {
      throw new RangeError(`dnsUnansweredTimeoutSeconds must be a number > 0, got ${dnsTimeout}`);
    }
    const path = opts.objectPath ?? FLOW_OBJECT_PATH;
    const pinMaps = opts.pinPath ? { dir: opts.pinPath, names: PINNED_MAPS } : undefined;
    const object = BpfObject.open(path, { pinMaps });
    try {
      object.setGlobal('flow_idle_timeout_ns', BigInt(opts.flowIdleTimeoutSeconds) * 1_000_000_000n);
      object.setGlobal('events_per_second', opts.eventsPerSecond);
      setDnsPorts(object, opts.dnsPorts ?? DEFAULT_DNS_PORTS);
      object.setGlobal('http_enabled', opts.http ?? true);
      object.setGlobalBytes('port_classes', new PortFolder(opts.destinationPorts).kernelTable());
      object.setMapMaxEntries('events', opts.ringBufferBytes);
      for (const name of COUNTER_MAPS) object.setMapMaxEntries(name, opts.mapEntries);
      object.load();
      insertOverflowKeys(object, COUNTER_MAPS);
      return new FlowDatapath(object, opts);
    } catch (err) {
      object.close();
      throw err;
    }
  }

  /**
   * Endpoint interfaces: packets arriving at TC ingress are leaving the pod
   * (egress for the endpoint). Node interfaces: TC ingress is entering the
   * host, the local endpoint there.
   */
  attach(iface: NetInterface, role: InterfaceRole): Detachable {
    const [atIngress, atEgress] =
      role === 'endpoint'
        ? [this.programs.flow_from_endpoint, this.programs.flow_to_endpoint]
        : [this.programs.flow_to_endpoint, this.programs.flow_from_endpoint];
    const links: TcAttachment[] = [];
    try {
      links.push(atIngress.attachTc(iface.ifindex, 'ingress', { mode: this.opts.attachMode }));
      links.push(atEgress.attachTc(iface.ifindex, 'egress', { mode: this.opts.attachMode }));
    } catch (err) {
      for (const link of links) link.detach();
      throw err;
    }
    this.opts.log?.debug(`${iface.name}: ${links.map((l) => `${l.hook} via ${l.mode}`).join(', ')}`);
    return { detach: () => links.forEach((l) => l.detach()) };
  }

  /** The identity maps, for other objects to share (BpfObject.reuseMap) rather than keep their own. */
  identityMaps(): IdentityMaps {
    return { ipcache: this.object.map('ipcache'), ipcacheGeneration: this.object.map('ipcache_generation') };
  }


  /**
   * Writes identities into the ipcache LPM trie. Every write is followed by a
   * bump of ipcache_generation: the kernel memoises trie results per CPU
   * (identity_cache) and trusts them only while the generation is unchanged.
   */
  ipcacheWriter(): IpcacheWriter {
    const ipcache = this.object.map('ipcache');
    const bump = (): void => {
      this.ipcacheGeneration += 1n;
      this.object.map('ipcache_generation').update(encodeU32(0), encodeU64(this.ipcacheGeneration));
    };
    return {
      set: (cidr: Cidr, identity: number) => {
        ipcache.update(ipcacheKey(cidr.family, cidr.addr, cidr.prefixLen), encodeIpcacheValue({ identity, flags: 0 }));
        bump();
      },
      delete: (cidr: Cidr) => {
        ipcache.delete(ipcacheKey(cidr.family, cidr.addr, cidr.prefixLen));
        bump();
      },
    };
  }

  /** The kernel's absolute totals, summed over CPUs. */
  snapshot(attachedInterfaces: number): DatapathSnapshot {
    const dumped = new Map<string, number>();
    const traffic: FlowTrafficRecord[] = [];
    // flow_traffic also holds the TCP flag counters (one lookup per packet in the kernel)
    const tcpFlags: TcpFlagsRecord[] = [];
    const trafficEntries = this.object.map('flow_traffic').entries();
    dumped.set('flow_traffic', trafficEntries.length);
    for (const { key, value } of trafficEntries) {
      const k = decodeFlowKey(key);
      const [packets, bytes, ...flags] = sumPerCpu(value, TRAFFIC_VALUE_FIELDS);
      traffic.push({ ...k, packets: packets!, bytes: bytes! });
      flags.forEach((count, flag) => {
        if (count !== 0) tcpFlags.push({ srcIdentity: k.srcIdentity, dstIdentity: k.dstIdentity, flag, direction: k.direction, count });
      });
    }
    const starts: FlowStartRecord[] = [];
    const startEntries = this.object.map('flows').entries();
    dumped.set('flows', startEntries.length);
    for (const { key, value } of startEntries) {
      const k = decodeFlowKey(key);
      starts.push({ ...k, flows: sumPerCpuCounter(value) });
    }
    const parse = perCpuArrayTotals(this.object.map('parse_packets'));
    const connectionAttempts = this.tcp.connectionAttempts();
    const dns = this.dns.snapshot();
    const lost = perCpuArrayTotals(this.object.map('events_lost'));
    const updateErrors = perCpuArrayTotals(this.object.map('map_update_errors'));
    const http = readHttp(this.object);
    for (const [name, n] of http.dumped) dumped.set(name, n);
    return {
      traffic,
      starts,
      tcpFlags,
      drops: [],
      connectionAttempts,
      httpRequests: http.requests,
      httpResponses: http.responses,
      httpMessages: http.messages,
      parsePackets: parse.map((count, i) => ({ reason: nameAt(PARSE_REASON_NAMES, i), count })),
      eventsLost: lost.map((count, i) => ({ source: 'flow', reason: nameAt(LOST_REASON_NAMES, i), count })),
      mapUpdateErrors: updateErrors.map((count, i) => ({ map: nameAt(MAP_UPDATE_ERROR_MAPS, i), count })),
      // maps read whole above are not walked a second time to be counted
      maps: REPORTED_MAPS.map((name) => this.mapFill(name, dumped.get(name))),
      programs: PROGRAMS.map((name) => {
        const info = this.programs[name].info();
        return { program: name, runs: Number(info.runCount), runSeconds: Number(info.runTimeNs) / 1e9 };
      }),
      attachedInterfaces,
      dns,
    };
  }

  /** Queries past the DNS timeout out of dns_pending, as unanswered exchanges. */
  sweepDnsPending(now?: bigint): void {
    if (this.closed) return;
    this.dns.sweep(now);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweepTimer);
    this.events.close();
    this.stats?.disable();
    this.object.close();
  }

  /** Attempts past the TCP timeout out of tcp_pending, as unanswered (see TcpOutcomeTracker.sweep). */
  sweepTcpPending(now?: bigint): void {
    if (this.closed) return;
    this.tcp.sweep(now);
  }

  /**
   * Resolves once what the programs sent until now has reached the callbacks,
   * without waiting for the next timed read.
   */
  consumeEvents(): Promise<void> {
    return this.closed ? Promise.resolve() : this.events.read();
  }

  /** One record of a batch, decoded in place (no copy of the record); a record shorter than its type's layout counts as unknown. */
  private onRecord(batch: Buffer, at: number, length: number): void {
    const type = length > 0 ? batch.readUInt8(at) : -1;
    switch (type) {
      case EventType.FLOW:
        if (length < FLOW_EVENT.size) break;
        this.flowEvents++;
        this.opts.onFlowEvent?.(decodeFlowEvent(batch, at));
        return;
      case EventType.TCP_OUTCOME:
        if (length < TCP_OUTCOME_EVENT.size) break;
        this.tcp.onEvent(decodeTcpOutcomeEvent(batch, at));
        return;
      case EventType.DNS:
        if (length < DNS_EVENT.size) break;
        this.dns.onEvent(decodeDnsEvent(batch, at));
        return;
      case EventType.HTTP:
        if (length < HTTP_EVENT.size) break;
        this.httpEvents++;
        this.opts.onHttpEvent?.(decodeHttpEvent(batch, at));
        return;
    }
    this.unknownEvents++;
  }

  private mapFill(name: string, entries?: number): { map: string; entries: number; capacity: number } {
    const map = this.object.map(name);
    return { map: name, entries: entries ?? map.count(), capacity: map.maxEntries };
  }

}
