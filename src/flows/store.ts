// The recent-flow store: a ring of the last N records, oldest evicted first.
//
// Records are kept packed, not as objects: one row of 32-bit words a record
// (numbers as they are, strings as ids of an Interner that keeps each string
// once, an IPv4 address as its 32 bits) and the record object is built again
// when it is read. A record kept as objects is about 800 bytes of heap that
// lives until it is evicted, so a storm of new flows promoted every record to
// V8's old generation and left it there as garbage after its eviction: RSS
// followed the garbage, not the records (bench/memory.bench.ts). Packed, a
// record is 124 bytes of typed arrays plus its share of the strings, and the
// objects the datapath builds die young. What no row can hold exactly (an
// unusual shape, a policy explanation) is kept beside it as the object itself.
// Its memory is reported by the flowlens_flow_store_* self-metrics.

import type { DropPolicyExplanation } from '../identity/network-policy.js';
import { Interner, INTERNED_OVERHEAD_BYTES } from './interner.js';
import { FLOW_TYPES, recordBytes, VERDICTS, type FlowEndpoint, type FlowRecord } from './record.js';

export const DEFAULT_FLOW_STORE_CAPACITY = 65535;

export type FlowListener = (record: FlowRecord) => void;

export interface FlowStoreStats {
  capacity: number;
  records: number;
  /** Records pushed since start. */
  received: number;
  /** Records the ring overwrote to make room. */
  evicted: number;
  /** Estimated heap bytes of the store: its rows, the strings they refer to, and what is kept beside them. */
  bytes: number;
  subscribers: number;
}

// --- the row of a record: 32-bit words at row * STRIDE --------------------------------
const NANOS = 0; // the nanoseconds of `time`, or TIME_WHOLE
const TIME = 1; // id of the time's first 19 characters (to the second), or of the whole text
const NODE = 2;
const PROTOCOL = 3;
const SUMMARY = 4;
const IFINDEX = 5;
const ENUMS = 6; // type | verdict << 4 | direction << 8 | ipVersion << 12 | detail << 16 | flags << 20
const D1 = 7; // the detail's strings (see Detail)
const D2 = 8;
const D3 = 9;
const DINT = 10; // HTTP status
const SOURCE = 11;
const DESTINATION = 19;
const STRIDE = 27;
// an endpoint's words, from SOURCE or DESTINATION
const E_IDENTITY = 0;
const E_NAME = 1;
const E_NAMESPACE = 2;
const E_WORKLOAD = 3;
const E_POD = 4;
const E_LABELS = 5;
const E_IP = 6; // the IPv4 address, or the id of the address text
const E_PORT = 7; // port | ip kind << 16
// Float64 numbers of a record at row * 2: its seq and the detail's latency
const NUMS = 2;
/** Heap bytes of one row: the words and the numbers. */
export const ROW_BYTES = STRIDE * 4 + NUMS * 8;

const TIME_WHOLE = 0xffffffff;
const IP_NONE = 0;
const IP_V4 = 1;
const IP_TEXT = 2;

/** The one detail a record has besides its common fields; OBJECT: the record is kept whole, beside the rows. */
const Detail = {
  NONE: 0,
  TCP_FLAGS: 1, // D1: the flags joined with ',' ('' for none)
  TCP: 2, // D1: the outcome
  DROP: 3, // D1: reason, D2: reasonClass; and the policy explanation beside the rows when FLAG_POLICY
  DNS: 4, // D1: qname, D2: qtype, D3: rcode (FLAG_RCODE); latency (FLAG_LATENCY)
  HTTP: 5, // D1: method, D2: path; DINT: status (FLAG_STATUS); latency (FLAG_LATENCY)
  OBJECT: 15,
} as const;
type Detail = (typeof Detail)[keyof typeof Detail];
const FLAG_POLICY = 1;
const FLAG_RCODE = 2;
const FLAG_LATENCY = 4;
const FLAG_STATUS = 8;

const DIRECTIONS: ReadonlyArray<FlowRecord['direction']> = ['ingress', 'egress', 'unknown'];
const FIRST_ROWS = 1024;

/** The record's IPv4 address text as its 32 bits, or -1 when it is anything else (IPv6, '', or not in the form formatAddress writes). */
function ipv4Bits(ip: string): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      // no leading zeros: the text must come back the same
      if (digits === 1 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else {
      return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + octet;
}

/**
 * The texts of the IPv4 addresses read last, by their low bits: a query
 * reads the same few addresses over and over, and each text it builds anew
 * is garbage the query's caller keeps alive (a full-store answer keeps 65,535
 * records).
 */
const IP_CACHE_SIZE = 4096;
const ipCacheBits = new Float64Array(IP_CACHE_SIZE).fill(-1);
const ipCacheText: string[] = new Array<string>(IP_CACHE_SIZE).fill('');

function ipv4Text(bits: number): string {
  const slot = bits & (IP_CACHE_SIZE - 1);
  if (ipCacheBits[slot] === bits) return ipCacheText[slot]!;
  const text = `${bits >>> 24}.${(bits >>> 16) & 255}.${(bits >>> 8) & 255}.${bits & 255}`;
  ipCacheBits[slot] = bits;
  ipCacheText[slot] = text;
  return text;
}

const isU32 = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
const isPort = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffff;

/** Nanoseconds of an RFC 3339 time as formatTimeNs writes it (`YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`), or -1. */
function timeNanos(time: string): number {
  if (time.length !== 30 || time.charCodeAt(19) !== 46 || time.charCodeAt(29) !== 90) return -1;
  let nanos = 0;
  for (let i = 20; i < 29; i++) {
    const c = time.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    nanos = nanos * 10 + c;
  }
  return nanos;
}

export class FlowStore {
  private rows: Uint32Array;
  private nums: Float64Array;
  /** Rows allocated: grows by doubling up to the capacity, so a quiet exporter does not hold a full store's rows. */
  private allocated: number;
  /** Index the next record goes to. */
  private head = 0;
  private count = 0;
  private nextSeq = 1;
  private evictedCount = 0;
  private readonly strings = new Interner();
  /** Label sets by their JSON text; the objects themselves in `labelSets`, by the same id. */
  private readonly labelKeys = new Interner();
  private readonly labelSets: Array<Readonly<Record<string, string>> | undefined> = [];
  /** Label set objects seen already, with their JSON text: the identity store hands out the same few objects. */
  private readonly labelKeyOf = new WeakMap<object, string>();
  /** What no row holds: whole records (Detail.OBJECT) and policy explanations, by row. */
  private readonly beside = new Map<number, FlowRecord | DropPolicyExplanation>();
  private besideBytes = 0;
  /** The last time prefix (to the second) interned, and its id: events come in bursts from the same second. */
  private lastSecond = '';
  private lastSecondId = -1;
  private readonly listeners = new Set<FlowListener>();
  private readonly flagArrays = new Map<string, string[]>();

  constructor(readonly capacity: number = DEFAULT_FLOW_STORE_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`flow store capacity must be an integer >= 1, got ${capacity}`);
    this.allocated = Math.min(capacity, FIRST_ROWS);
    this.rows = new Uint32Array(this.allocated * STRIDE);
    this.nums = new Float64Array(this.allocated * NUMS);
  }

  /** Adds a record (its seq is set here), evicting the oldest when full, and tells every subscriber. */
  push(record: FlowRecord): FlowRecord {
    record.seq = this.nextSeq++;
    if (this.count === this.capacity) {
      this.evictedCount++;
      this.release(this.head);
    } else {
      if (this.head === this.allocated) this.grow();
      this.count++;
    }
    this.write(this.head, record);
    this.head = (this.head + 1) % this.capacity;
    for (const listener of this.listeners) {
      try {
        listener(record);
      } catch {
        // one broken subscriber (a closed stream) must not stop the others or the datapath
      }
    }
    return record;
  }

  get size(): number {
    return this.count;
  }

  /** Records oldest first (each built when it is reached). */
  *records(): IterableIterator<FlowRecord> {
    const start = (this.head - this.count + this.capacity) % this.capacity;
    for (let i = 0; i < this.count; i++) yield this.read((start + i) % this.capacity);
  }

  /** Records newest first (each built when it is reached). */
  *newestFirst(): IterableIterator<FlowRecord> {
    for (let i = 1; i <= this.count; i++) yield this.read((this.head - i + this.capacity) % this.capacity);
  }

  /**
   * The newest `limit` records `match` accepts, returned oldest first. Walks
   * from the newest and stops at `limit`; it does not stop at a time bound,
   * since records arrive close to, not exactly in, time order (drop events are
   * read every 100 ms, unanswered attempts when the sweep finds them).
   */
  query(match: (r: FlowRecord) => boolean, limit: number): FlowRecord[] {
    const out: FlowRecord[] = [];
    if (limit <= 0) return out;
    for (const r of this.newestFirst()) {
      if (!match(r)) continue;
      out.push(r);
      if (out.length >= limit) break;
    }
    return out.reverse();
  }

  /** Calls `listener` with every record pushed from now on; returns the unsubscribe function. */
  subscribe(listener: FlowListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  stats(): FlowStoreStats {
    return {
      capacity: this.capacity,
      records: this.count,
      received: this.nextSeq - 1,
      evicted: this.evictedCount,
      bytes: this.allocated * ROW_BYTES + this.strings.bytes + this.labelKeys.bytes + this.besideBytes,
      subscribers: this.listeners.size,
    };
  }

  private grow(): void {
    const allocated = Math.min(this.capacity, this.allocated * 2);
    const rows = new Uint32Array(allocated * STRIDE);
    rows.set(this.rows);
    const nums = new Float64Array(allocated * NUMS);
    nums.set(this.nums);
    this.rows = rows;
    this.nums = nums;
    this.allocated = allocated;
  }

  // --- writing a row ---------------------------------------------------------------------

  private write(row: number, r: FlowRecord): void {
    const detail = this.detailOf(r);
    if (detail === Detail.OBJECT || !this.packable(r)) {
      this.keepBeside(row, r);
      return;
    }
    const w = this.rows;
    const at = row * STRIDE;
    const nanos = timeNanos(r.time);
    if (nanos < 0) {
      w[at + NANOS] = TIME_WHOLE;
      w[at + TIME] = this.strings.ref(r.time);
    } else {
      w[at + NANOS] = nanos;
      w[at + TIME] = this.secondId(r.time);
    }
    w[at + NODE] = this.strings.ref(r.node);
    w[at + PROTOCOL] = this.strings.ref(r.protocol);
    w[at + SUMMARY] = this.strings.ref(r.summary);
    w[at + IFINDEX] = r.ifindex;
    this.writeEndpoint(at + SOURCE, r.source);
    this.writeEndpoint(at + DESTINATION, r.destination);
    let flags = 0;
    this.nums[row * NUMS] = r.seq;
    switch (detail) {
      case Detail.TCP_FLAGS:
        w[at + D1] = this.strings.ref(r.tcpFlags!.join(','));
        break;
      case Detail.TCP:
        w[at + D1] = this.strings.ref(r.tcp!.outcome);
        break;
      case Detail.DROP:
        w[at + D1] = this.strings.ref(r.drop!.reason);
        w[at + D2] = this.strings.ref(r.drop!.reasonClass);
        if (r.policy) {
          flags |= FLAG_POLICY;
          this.beside.set(row, r.policy);
          this.besideBytes += policyBytes(r.policy);
        }
        break;
      case Detail.DNS: {
        const dns = r.dns!;
        w[at + D1] = this.strings.ref(dns.qname);
        w[at + D2] = this.strings.ref(dns.qtype);
        if (dns.rcode !== undefined) {
          flags |= FLAG_RCODE;
          w[at + D3] = this.strings.ref(dns.rcode);
        }
        if (dns.latencySeconds !== undefined) {
          flags |= FLAG_LATENCY;
          this.nums[row * NUMS + 1] = dns.latencySeconds;
        }
        break;
      }
      case Detail.HTTP: {
        const http = r.http!;
        w[at + D1] = this.strings.ref(http.method);
        w[at + D2] = this.strings.ref(http.path);
        if (http.status !== undefined) {
          flags |= FLAG_STATUS;
          w[at + DINT] = http.status;
        }
        if (http.latencySeconds !== undefined) {
          flags |= FLAG_LATENCY;
          this.nums[row * NUMS + 1] = http.latencySeconds;
        }
        break;
      }
    }
    w[at + ENUMS] =
      FLOW_TYPES.indexOf(r.type) | (VERDICTS.indexOf(r.verdict) << 4) | (DIRECTIONS.indexOf(r.direction) << 8) | (r.ipVersion << 12) | (detail << 16) | (flags << 20);
  }

  /** The one detail of a record, or Detail.OBJECT when it has several, or one a row cannot hold exactly. */
  private detailOf(r: FlowRecord): Detail {
    let detail: Detail = Detail.NONE;
    let details = 0;
    if (r.tcpFlags !== undefined) {
      if (r.tcpFlags.some((f) => f === '' || f.includes(','))) return Detail.OBJECT;
      detail = Detail.TCP_FLAGS;
      details++;
    }
    if (r.tcp !== undefined) {
      detail = Detail.TCP;
      details++;
    }
    if (r.drop !== undefined) {
      detail = Detail.DROP;
      details++;
    }
    if (r.dns !== undefined) {
      const lat = r.dns.latencySeconds;
      if (lat !== undefined && typeof lat !== 'number') return Detail.OBJECT;
      detail = Detail.DNS;
      details++;
    }
    if (r.http !== undefined) {
      const { status, latencySeconds: lat } = r.http;
      if ((status !== undefined && !isPort(status)) || (lat !== undefined && typeof lat !== 'number')) return Detail.OBJECT;
      detail = Detail.HTTP;
      details++;
    }
    if (details > 1) return Detail.OBJECT;
    // a policy explanation comes only with a drop
    if (r.policy !== undefined && detail !== Detail.DROP) return Detail.OBJECT;
    return detail;
  }

  /** Whether the common fields fit a row exactly (always, for the records RecordBuilder makes). */
  private packable(r: FlowRecord): boolean {
    return (
      FLOW_TYPES.indexOf(r.type) >= 0 && VERDICTS.indexOf(r.verdict) >= 0 && DIRECTIONS.indexOf(r.direction) >= 0 &&
      (r.ipVersion === 0 || r.ipVersion === 4 || r.ipVersion === 6) && isU32(r.ifindex) &&
      isU32(r.source.identity) && isPort(r.source.port) && isU32(r.destination.identity) && isPort(r.destination.port)
    );
  }

  private secondId(time: string): number {
    if (this.lastSecondId >= 0 && time.startsWith(this.lastSecond) && this.strings.has(this.lastSecondId) && this.strings.get(this.lastSecondId) === this.lastSecond) {
      return this.strings.again(this.lastSecondId);
    }
    const second = time.slice(0, 19);
    this.lastSecond = second;
    this.lastSecondId = this.strings.ref(second);
    return this.lastSecondId;
  }

  private writeEndpoint(at: number, e: FlowEndpoint): void {
    const w = this.rows;
    w[at + E_IDENTITY] = e.identity;
    w[at + E_NAME] = this.strings.ref(e.identityName);
    w[at + E_NAMESPACE] = this.strings.ref(e.namespace);
    w[at + E_WORKLOAD] = this.strings.ref(e.workload);
    w[at + E_POD] = this.strings.ref(e.pod);
    w[at + E_LABELS] = this.labelsId(e.labels);
    let kind = IP_NONE;
    if (e.ip !== '') {
      const bits = ipv4Bits(e.ip);
      if (bits >= 0) {
        kind = IP_V4;
        w[at + E_IP] = bits;
      } else {
        kind = IP_TEXT;
        w[at + E_IP] = this.strings.ref(e.ip);
      }
    }
    w[at + E_PORT] = e.port | (kind << 16);
  }

  private labelsId(labels: Readonly<Record<string, string>>): number {
    let key = this.labelKeyOf.get(labels);
    if (key === undefined) {
      key = JSON.stringify(labels);
      this.labelKeyOf.set(labels, key);
    }
    const id = this.labelKeys.ref(key);
    // the first object with this text stands for all: the same keys and values in the same order
    if (this.labelSets[id] === undefined) this.labelSets[id] = labels;
    return id;
  }

  private keepBeside(row: number, r: FlowRecord): void {
    this.rows[row * STRIDE + ENUMS] = Detail.OBJECT << 16;
    this.beside.set(row, r);
    this.besideBytes += recordBytes(r);
  }

  // --- evicting a row ------------------------------------------------------------------

  /** Drops the references the record in `row` holds. */
  private release(row: number): void {
    const w = this.rows;
    const at = row * STRIDE;
    const enums = w[at + ENUMS]!;
    const detail = (enums >>> 16) & 15;
    const flags = enums >>> 20;
    if (detail === Detail.OBJECT) {
      this.besideBytes -= recordBytes(this.beside.get(row) as FlowRecord);
      this.beside.delete(row);
      return;
    }
    const s = this.strings;
    s.unref(w[at + TIME]!);
    s.unref(w[at + NODE]!);
    s.unref(w[at + PROTOCOL]!);
    s.unref(w[at + SUMMARY]!);
    this.releaseEndpoint(at + SOURCE);
    this.releaseEndpoint(at + DESTINATION);
    switch (detail) {
      case Detail.TCP_FLAGS:
      case Detail.TCP:
        s.unref(w[at + D1]!);
        break;
      case Detail.DROP:
        s.unref(w[at + D1]!);
        s.unref(w[at + D2]!);
        if (flags & FLAG_POLICY) {
          this.besideBytes -= policyBytes(this.beside.get(row) as DropPolicyExplanation);
          this.beside.delete(row);
        }
        break;
      case Detail.DNS:
        s.unref(w[at + D1]!);
        s.unref(w[at + D2]!);
        if (flags & FLAG_RCODE) s.unref(w[at + D3]!);
        break;
      case Detail.HTTP:
        s.unref(w[at + D1]!);
        s.unref(w[at + D2]!);
        break;
    }
  }

  private releaseEndpoint(at: number): void {
    const w = this.rows;
    const s = this.strings;
    s.unref(w[at + E_NAME]!);
    s.unref(w[at + E_NAMESPACE]!);
    s.unref(w[at + E_WORKLOAD]!);
    s.unref(w[at + E_POD]!);
    const labels = w[at + E_LABELS]!;
    if (this.labelKeys.unref(labels)) this.labelSets[labels] = undefined;
    if (w[at + E_PORT]! >>> 16 === IP_TEXT) s.unref(w[at + E_IP]!);
  }

  // --- reading a row -------------------------------------------------------------------

  /** The record in `row`, built as RecordBuilder builds it: the same fields in the same order. */
  private read(row: number): FlowRecord {
    const w = this.rows;
    const at = row * STRIDE;
    const enums = w[at + ENUMS]!;
    const detail = (enums >>> 16) & 15;
    if (detail === Detail.OBJECT) return this.beside.get(row) as FlowRecord;
    const s = this.strings;
    const flags = enums >>> 20;
    const nanos = w[at + NANOS]!;
    const record: FlowRecord = {
      seq: this.nums[row * NUMS]!,
      time: nanos === TIME_WHOLE ? s.get(w[at + TIME]!) : `${s.get(w[at + TIME]!)}.${String(nanos).padStart(9, '0')}Z`,
      node: s.get(w[at + NODE]!),
      direction: DIRECTIONS[(enums >>> 8) & 15]!,
      protocol: s.get(w[at + PROTOCOL]!),
      ipVersion: ((enums >>> 12) & 15) as FlowRecord['ipVersion'],
      source: this.readEndpoint(at + SOURCE),
      destination: this.readEndpoint(at + DESTINATION),
      ifindex: w[at + IFINDEX]!,
      type: FLOW_TYPES[enums & 15]!,
      verdict: VERDICTS[(enums >>> 4) & 15]!,
      summary: s.get(w[at + SUMMARY]!),
    };
    switch (detail) {
      case Detail.TCP_FLAGS:
        record.tcpFlags = this.flagNames(w[at + D1]!);
        break;
      case Detail.TCP:
        record.tcp = { outcome: s.get(w[at + D1]!) as NonNullable<FlowRecord['tcp']>['outcome'] };
        break;
      case Detail.DROP:
        record.drop = { reason: s.get(w[at + D1]!), reasonClass: s.get(w[at + D2]!) };
        if (flags & FLAG_POLICY) record.policy = this.beside.get(row) as DropPolicyExplanation;
        break;
      case Detail.DNS:
        record.dns = { qname: s.get(w[at + D1]!), qtype: s.get(w[at + D2]!) };
        if (flags & FLAG_RCODE) record.dns.rcode = s.get(w[at + D3]!);
        if (flags & FLAG_LATENCY) record.dns.latencySeconds = this.nums[row * NUMS + 1]!;
        break;
      case Detail.HTTP:
        record.http = { method: s.get(w[at + D1]!), path: s.get(w[at + D2]!) };
        if (flags & FLAG_STATUS) record.http.status = w[at + DINT]!;
        if (flags & FLAG_LATENCY) record.http.latencySeconds = this.nums[row * NUMS + 1]!;
        break;
    }
    return record;
  }

  /**
   * The TCP flag names of an interned id, as an array shared by the records
   * read with it (as the records of a store of objects were shared by every
   * query): a handful of combinations, read 65,535 times by a full query.
   */
  private flagNames(id: number): string[] {
    const names = this.strings.get(id);
    const cached = this.flagArrays.get(names);
    if (cached) return cached;
    const made = names === '' ? [] : names.split(',');
    // bounded: the combinations of 8 flags
    if (this.flagArrays.size < 256) this.flagArrays.set(names, made);
    return made;
  }

  private readEndpoint(at: number): FlowEndpoint {
    const w = this.rows;
    const s = this.strings;
    const port = w[at + E_PORT]!;
    const kind = port >>> 16;
    return {
      identity: w[at + E_IDENTITY]!,
      identityName: s.get(w[at + E_NAME]!),
      namespace: s.get(w[at + E_NAMESPACE]!),
      workload: s.get(w[at + E_WORKLOAD]!),
      pod: s.get(w[at + E_POD]!),
      labels: this.labelSets[w[at + E_LABELS]!]!,
      ip: kind === IP_V4 ? ipv4Text(w[at + E_IP]!) : kind === IP_TEXT ? s.get(w[at + E_IP]!) : '',
      port: port & 0xffff,
    };
  }
}

/** Estimated heap bytes of a policy explanation kept beside a row (as recordBytes counts it). */
function policyBytes(p: DropPolicyExplanation): number {
  const refs = p.egress.policies.length + p.ingress.policies.length + p.egress.allowedBy.length + p.ingress.allowedBy.length;
  return 3 * 64 + 16 + p.explanation.length + refs * (64 + 2 * 16 + 24) + INTERNED_OVERHEAD_BYTES;
}
