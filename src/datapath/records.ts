// What the datapath reads from the kernel, one record per counter key with
// its value summed over CPUs. Metrics, flows and traces read these records,
// never the kernel's maps or struct layouts.

import { FLOWLENS_IDENTITY_OVERFLOW } from '../bpf/layouts.generated.js';

/**
 * Both identities of a counter map's overflow key (FLOWLENS_IDENTITY_OVERFLOW,
 * ./counters.ts): a record under it counts what a full map could not key, and
 * is the family's overflow series.
 */
export const OVERFLOW_IDENTITY = FLOWLENS_IDENTITY_OVERFLOW;

export interface FlowTrafficRecord { srcIdentity: number; dstIdentity: number; protocol: number; direction: number; verdict: number; packets: number; bytes: number }

export interface FlowStartRecord { srcIdentity: number; dstIdentity: number; protocol: number; dstPort: number; direction: number; verdict: number; flows: number }

export interface TcpFlagsRecord { srcIdentity: number; dstIdentity: number; flag: number; direction: number; count: number }

/** TCP segments sent again by a socket of this node (retransmit.bpf.c): src is the retransmitting end. */
export interface TcpRetransmitRecord { srcIdentity: number; dstIdentity: number; segments: number }

/** Drops counted by drop.bpf.c; the reason already named from the kernel's BTF. */
export interface DropRecord { srcIdentity: number; dstIdentity: number; reason: string; reasonClass: string; protocol: number; dstPort: number; direction: number; packets: number }

export type TcpOutcomeName = 'established' | 'refused' | 'unanswered';

/** TCP connection attempts (SYN without ACK) by how they ended; identities, port and direction are the SYN's. */
export interface ConnectionAttemptRecord { srcIdentity: number; dstIdentity: number; dstPort: number; direction: number; outcome: TcpOutcomeName; count: number }

/** DNS queries counted by protocols/dns.bpf.h; src is the client, dst the server. */
export interface DnsQueryRecord { srcIdentity: number; dstIdentity: number; qtype: number; reporter: number; count: number }

/**
 * DNS responses. latencyBuckets holds the responses matched to their query
 * (not cumulative; bounds DNS_LATENCY_BOUNDS_SECONDS then +Inf), so the
 * histogram counts only those, while `responses` counts every response.
 */
export interface DnsResponseRecord {
  srcIdentity: number;
  dstIdentity: number;
  qtype: number;
  rcode: number;
  reporter: number;
  responses: number;
  latencySumSeconds: number;
  latencyBuckets: number[];
}

export interface DnsSnapshot {
  queries: DnsQueryRecord[];
  responses: DnsResponseRecord[];
  /** Messages on DNS ports not counted as queries or responses, by reason. */
  malformed: Array<{ reason: string; count: number }>;
}

export type ReporterName = 'client' | 'server';

/** HTTP requests by client (src) and server (dst) identity; method is 'GET', ... */
export interface HttpRequestRecord { srcIdentity: number; dstIdentity: number; method: string; reporter: ReporterName; count: number }

/**
 * HTTP responses by the method of the request they answer ('unknown' when it
 * was not recognised: those have no latency) and status code. buckets holds
 * the timed ones per latency bucket, not cumulative, +Inf last; durationSeconds is their sum.
 */
export interface HttpResponseRecord {
  srcIdentity: number;
  dstIdentity: number;
  method: string;
  status: number;
  reporter: ReporterName;
  count: number;
  buckets: number[];
  durationSeconds: number;
}

export interface DatapathSnapshot {
  traffic: FlowTrafficRecord[];
  starts: FlowStartRecord[];
  tcpFlags: TcpFlagsRecord[];
  /** Absent where no retransmit tracer runs (fakes, benchmarks): no series. */
  retransmits?: TcpRetransmitRecord[];
  drops: DropRecord[];
  connectionAttempts: ConnectionAttemptRecord[];
  httpRequests: HttpRequestRecord[];
  httpResponses: HttpResponseRecord[];
  /** HTTP messages that made no matched exchange, by reason (unmatched_response, pipeline_overflow, retransmit). */
  httpMessages: Array<{ reason: string; count: number }>;
  /** reason 'not_ip' or a malformed reason e.g. 'ipv4_truncated' */
  parsePackets: Array<{ reason: string; count: number }>;
  eventsLost: Array<{ source: string; reason: string; count: number }>;
  maps: Array<{ map: string; entries: number; capacity: number }>;
  /** New keys a full hash map refused, by map: counts the kernel could not record. */
  mapUpdateErrors: Array<{ map: string; count: number }>;
  programs: Array<{ program: string; runs: number; runSeconds: number }>;
  attachedInterfaces: number;
  /** Absent where the datapath has no DNS parser (fakes, benchmarks): no DNS series. */
  dns?: DnsSnapshot;
}

/** Called once per scrape; numbers are kernel absolute totals. */
export interface DatapathSource { snapshot(): DatapathSnapshot }


// The events the datapath delivers one by one (ring buffer), and the names and
// constants to read them, as src/bpf/codecs.ts decodes them.
export {
  Direction,
  DIRECTION_NAMES,
  DnsFlag,
  dnsNameFromWire,
  DNS_LATENCY_BOUNDS_SECONDS,
  HTTP_DURATION_BOUNDS_SECONDS,
  HTTP_METHOD_NAMES,
  Reporter,
  REPORTER_NAMES,
  TCP_FLAG_NAMES,
  TCP_OUTCOME_NAMES,
  TcpOutcome,
} from '../bpf/codecs.js';
export type { DnsEvent, DropEvent, FlowEvent, HttpEvent, TcpOutcomeEvent } from '../bpf/codecs.js';
