// The one shape every recent flow has, whatever produced it: a new flow, a TCP
// connection outcome, a kernel drop, and (when the datapath sends them) DNS and
// HTTP exchanges. The API, `flowlens observe` and the UI all read this shape;
// it is what GET /api/flows returns, one object per record.

import {
  Direction,
  DIRECTION_NAMES,
  DnsFlag,
  dnsNameFromWire,
  Reporter,
  TCP_FLAG_NAMES,
  TCP_OUTCOME_NAMES,
  TcpOutcome,
  type DnsEvent,
  type DropEvent,
  HTTP_METHOD_NAMES,
  type HttpEvent,
  type FlowEvent,
  type TcpOutcomeEvent,
} from '../datapath/records.js';
import { KernelClock } from '../datapath/clock.js';
import { formatAddress } from '../net/cidr.js';
import type { ExplainedDropEvent } from '../identity/drop-explainer.js';
import type { DropPolicyExplanation } from '../identity/network-policy.js';
import { qtypeLabel, rcodeLabel } from '../datapath/code-names.js';
import { protocolLabel } from '../datapath/code-names.js';

export const FLOW_TYPES = ['flow', 'tcp', 'drop', 'dns', 'http'] as const;
export type FlowType = (typeof FLOW_TYPES)[number];

export const VERDICTS = ['forwarded', 'dropped'] as const;
export type VerdictName = (typeof VERDICTS)[number];

/** One end of a record: who (identity and its contexts, as known when the event arrived) and where. */
export interface FlowEndpoint {
  /** The identity number (2 for world, ...). */
  identity: number;
  /** 'reserved:world' for reserved identities, else the number as text (the metrics' *_identity label). */
  identityName: string;
  /** '' for reserved identities and external peers. */
  namespace: string;
  /** Workload name, or the reserved name ('reserved:world'); '' for a number no source knows. */
  workload: string;
  /** Pod name when the identity source knows it; '' otherwise. */
  pod: string;
  labels: Readonly<Record<string, string>>;
  /** '' when the event carried no readable address. */
  ip: string;
  /** 0 for protocols without ports. */
  port: number;
}

export interface DnsFields {
  qname: string;
  /** 'A', 'AAAA', ... or 'TYPE65' */
  qtype: string;
  /** 'NOERROR', 'NXDOMAIN', ... ; absent for a query that got no response. */
  rcode?: string;
  latencySeconds?: number;
}

export interface HttpFields {
  method: string;
  path: string;
  /** Absent for a request that got no response. */
  status?: number;
  latencySeconds?: number;
}

export interface FlowRecord {
  /** Position in this exporter's stream: increases by one per record, never reused. */
  seq: number;
  /** Wall-clock time of the event, RFC 3339 UTC with nanoseconds: sorts as text. */
  time: string;
  /** The node (host name) whose exporter saw it. */
  node: string;
  type: FlowType;
  verdict: VerdictName;
  /** Relative to the local endpoint whose interface saw it; 'unknown' where the kernel could not tell. */
  direction: 'ingress' | 'egress' | 'unknown';
  /** 'tcp', 'udp', 'icmp', ... or 'ip-N'; 'unknown' when no IP header was readable. */
  protocol: string;
  ipVersion: 4 | 6 | 0;
  source: FlowEndpoint;
  destination: FlowEndpoint;
  /** Interface the event was seen at (0: not known). */
  ifindex: number;
  /** TCP flags of a new flow's first packet. */
  tcpFlags?: string[];
  /** TCP connection attempt outcome. */
  tcp?: { outcome: 'established' | 'refused' | 'unanswered' };
  /** Kernel drop reason (named from the kernel's BTF) and its class. */
  drop?: { reason: string; reasonClass: string };
  /** For a policy-class drop, with NetworkPolicies watched: which policies explain it (README, Policy drops explained). */
  policy?: DropPolicyExplanation;
  dns?: DnsFields;
  http?: HttpFields;
  /** One short human sentence: what happened, and why for drops. */
  summary: string;
}

/** The identity information a record needs; the identity store provides it (IdentityStore.resolve). */
export interface EndpointIdentity {
  identityName: string;
  namespace: string;
  workload: string;
  pod: string;
  labels: Readonly<Record<string, string>>;
}

export type IdentityResolver = (id: number) => EndpointIdentity;

export type DropReasonNamer = (reason: number) => { name: string; reasonClass: string };

/* formatTimeNs's last second and its text: events come in bursts from the same second */
let formattedSecond = -1n;
let formattedPrefix = '';

/** RFC 3339 UTC with nanoseconds, fixed width so that text order is time order. */
export function formatTimeNs(wallNs: bigint): string {
  const second = wallNs / 1_000_000_000n;
  if (second !== formattedSecond) {
    // 2024-01-02T03:04:05.000Z, without the milliseconds
    formattedPrefix = new Date(Number(second) * 1000).toISOString().slice(0, 19);
    formattedSecond = second;
  }
  const nanos = (wallNs % 1_000_000_000n).toString().padStart(9, '0');
  return `${formattedPrefix}.${nanos}Z`;
}

/** Milliseconds since the epoch of an RFC 3339 time; NaN when it does not parse. */
export function timeMs(time: string): number {
  return Date.parse(time);
}

function direction(value: number): FlowRecord['direction'] {
  return DIRECTION_NAMES[value] ?? 'unknown';
}

function tcpFlagNames(byte: number): string[] {
  const out: string[] = [];
  TCP_FLAG_NAMES.forEach((name, bit) => {
    if (byte & (1 << bit)) out.push(name.toUpperCase());
  });
  return out;
}

/*
 * Records are built as whole object literals, never by spreading one object
 * into another: a spread-built record is slower to build and to read (2.7x per
 * HTTP event, 8.4 -> 3.1 us with decoding and the store's push), and the
 * exporter builds one for every event it reads.
 */
function endpoint(resolve: IdentityResolver, id: number, addr: Buffer, family: number, port: number): FlowEndpoint {
  const who = resolve(id);
  const ip = family === 4 ? formatAddress(addr.subarray(0, 4)) : family === 6 ? formatAddress(addr.subarray(0, 16)) : '';
  return {
    identity: id,
    identityName: who.identityName,
    namespace: who.namespace,
    workload: who.workload,
    pod: who.pod,
    labels: who.labels,
    ip,
    port,
  };
}

export function endpointName(e: FlowEndpoint): string {
  if (e.namespace !== '' && e.workload !== '') return `${e.namespace}/${e.workload}`;
  if (e.workload !== '') return e.workload;
  return e.identityName;
}

/** The fields of an event every record is built from: where, when, and both ends (a drop's family may be 0, unread). */
type EventEnds = Pick<FlowEvent, 'protocol' | 'direction' | 'ifindex' | 'timestampNs' | 'srcIdentity' | 'dstIdentity' | 'saddr' | 'daddr' | 'sport' | 'dport'> & { family: number };

/** Builds records from the datapath's events; one instance per exporter. */
export class RecordBuilder {
  constructor(
    private readonly opts: {
      node: string;
      resolve: IdentityResolver;
      dropReason: DropReasonNamer;
      clock?: KernelClock;
    },
  ) {
    this.clock = opts.clock ?? new KernelClock();
  }

  private readonly clock: KernelClock;

  /** A record with every field but the type's own details, which the caller adds. */
  private record(e: EventEnds, type: FlowType, verdict: VerdictName, summary: string): FlowRecord {
    const ipVersion: 0 | 4 | 6 = e.family === 4 || e.family === 6 ? e.family : 0;
    return {
      seq: 0,
      time: formatTimeNs(this.clock.toWallNs(e.timestampNs)),
      node: this.opts.node,
      direction: direction(e.direction),
      protocol: ipVersion === 0 ? 'unknown' : protocolLabel(e.protocol),
      ipVersion,
      source: endpoint(this.opts.resolve, e.srcIdentity, e.saddr, e.family, e.sport),
      destination: endpoint(this.opts.resolve, e.dstIdentity, e.daddr, e.family, e.dport),
      ifindex: e.ifindex,
      type,
      verdict,
      summary,
    };
  }

  /** A new flow as flow.bpf.c saw its first packet. */
  fromFlow(e: FlowEvent): FlowRecord {
    const verdict: VerdictName = e.verdict === 2 ? 'dropped' : 'forwarded';
    const record = this.record(e, 'flow', verdict, 'new flow');
    if (record.protocol === 'tcp') {
      record.tcpFlags = tcpFlagNames(e.tcpFlags);
      record.summary = `new flow, TCP flags ${record.tcpFlags.join(',') || 'none'}`;
    }
    return record;
  }

  /**
   * How a TCP connection attempt ended. Refused and unanswered attempts are
   * 'dropped', as flowlens_flows_total counts them: the connection never
   * carried data.
   */
  fromTcpOutcome(e: TcpOutcomeEvent): FlowRecord {
    const outcome = TCP_OUTCOME_NAMES[e.outcome] ?? 'unanswered';
    const verdict: VerdictName = e.outcome === TcpOutcome.ESTABLISHED ? 'forwarded' : 'dropped';
    const summary =
      outcome === 'established' ? 'TCP connection established'
        : outcome === 'refused' ? 'TCP connection refused (RST: no socket listening)'
          : 'TCP connection attempt unanswered (no SYN-ACK or RST: silently dropped on the way or at the peer)';
    const record = this.record(e, 'tcp', verdict, summary);
    record.tcp = { outcome };
    return record;
  }

  /**
   * A DNS exchange as one side saw it: the client is the source. Seen at the
   * client's interface it is the client's egress, at the server's its ingress.
   * Timed at the response, or at the query when none came.
   */
  fromDns(e: DnsEvent): FlowRecord {
    const atServer = e.reporter === Reporter.SERVER;
    const unanswered = (e.flags & DnsFlag.UNANSWERED) !== 0;
    const qname = dnsNameFromWire(e.qname, e.qnameLen);
    const dns: DnsFields = { qname, qtype: qtypeLabel(e.qtype) };
    if (!unanswered) {
      dns.rcode = rcodeLabel(e.rcode);
      dns.latencySeconds = Number(e.responseNs - e.queryNs) / 1e9;
    }
    const name = `${dns.qtype} ${qname === '' ? '.' : qname}`;
    const summary = unanswered ? `DNS query ${name} unanswered` : `DNS ${name} -> ${dns.rcode} in ${(dns.latencySeconds! * 1000).toFixed(1)} ms`;
    const ends: EventEnds = {
      family: e.family,
      protocol: e.protocol,
      direction: atServer ? Direction.INGRESS : Direction.EGRESS,
      ifindex: e.ifindex,
      timestampNs: unanswered ? e.queryNs : e.responseNs,
      srcIdentity: e.srcIdentity,
      dstIdentity: e.dstIdentity,
      saddr: e.clientAddr,
      daddr: e.serverAddr,
      sport: e.clientPort,
      dport: e.serverPort,
    };
    const record = this.record(ends, 'dns', 'forwarded', summary);
    record.dns = dns;
    return record;
  }

  /**
   * An HTTP exchange as one side saw it: the client is the source; seen at
   * the client's interface it is the client's egress, at the server's its
   * ingress. Timed at the response. redact hides parts of the path.
   */
  fromHttp(e: HttpEvent, redact: (path: string) => string = (p) => p): FlowRecord {
    const method = HTTP_METHOD_NAMES[e.method] ?? 'unknown';
    const http: HttpFields = {
      method,
      path: e.path === undefined ? '' : redact(e.path),
      status: e.status,
    };
    // a response to an unrecognised request has no request time
    if (e.method !== 0) http.latencySeconds = Number(e.durationNs) / 1e9;
    const took = http.latencySeconds === undefined ? '' : ` in ${(http.latencySeconds * 1000).toFixed(1)} ms`;
    const ends: EventEnds = {
      family: e.family,
      protocol: 6,
      direction: e.reporter === Reporter.SERVER ? Direction.INGRESS : Direction.EGRESS,
      ifindex: e.ifindex,
      timestampNs: e.timestampNs,
      srcIdentity: e.srcIdentity,
      dstIdentity: e.dstIdentity,
      saddr: e.saddr,
      daddr: e.daddr,
      sport: e.sport,
      dport: e.dport,
    };
    const record = this.record(ends, 'http', 'forwarded', `HTTP ${method} ${http.path || '(path not kept)'} -> ${e.status}${took}`);
    record.http = http;
    return record;
  }

  /** A kernel drop; a policy drop the DropExplainer explained carries its explanation as `policy` and in the summary. */
  fromDrop(e: DropEvent | ExplainedDropEvent): FlowRecord {
    const { name, reasonClass } = this.opts.dropReason(e.reason);
    const policy = 'policy' in e ? e.policy : undefined;
    const summary = policy ? `dropped by the kernel: ${name}; ${policy.explanation}` : `dropped by the kernel: ${name} (${reasonExplanation(reasonClass)})`;
    const record = this.record(e, 'drop', 'dropped', summary);
    record.drop = { reason: name, reasonClass };
    if (policy) record.policy = policy;
    return record;
  }
}

/** What a drop reason class means, for the record's summary (the policy explanation). */
export function reasonExplanation(reasonClass: string): string {
  switch (reasonClass) {
    case 'policy': return 'policy: a firewall rule, TC or cgroup program, IPsec policy or LSM decided to drop';
    case 'no_socket': return 'no socket: nothing listens on the destination port';
    case 'congestion': return 'congestion: a queue or memory limit was full';
    case 'routing': return 'routing: no route or an address not accepted here';
    case 'malformed': return 'malformed: bad checksum or header';
    case 'socket': return 'socket: the receiving socket or TCP refused it';
    default: return reasonClass;
  }
}

/**
 * Estimated heap bytes one record holds. Identity labels are shared with the
 * identity store and not counted; strings count a byte a character (V8 keeps
 * ASCII one byte wide) plus a header; objects count a fixed overhead,
 * calibrated against the heap growth of a full store (bench/flows.bench.ts:
 * the estimate stays within 15% of it for flow and drop records).
 */
export function recordBytes(r: FlowRecord): number {
  const RECORD = 235; // the record object with its fields in-object, and the property array of its details
  const ENDPOINT = 150;
  const STRING = 16;
  const OPTIONAL = 64;
  const str = (text: string) => STRING + text.length;
  let bytes = RECORD + 2 * ENDPOINT;
  bytes += str(r.time) + str(r.summary) + str(r.source.ip) + str(r.destination.ip);
  if (r.tcpFlags) bytes += OPTIONAL + r.tcpFlags.length * 8;
  if (r.tcp) bytes += OPTIONAL;
  // the reason's name and class are the reason table's strings, shared
  if (r.drop) bytes += OPTIONAL;
  if (r.policy) {
    // the explanation is shared with the summary's text only in part: counted whole, with each listed policy
    const refs = r.policy.egress.policies.length + r.policy.ingress.policies.length + r.policy.egress.allowedBy.length + r.policy.ingress.allowedBy.length;
    bytes += 3 * OPTIONAL + str(r.policy.explanation) + refs * (OPTIONAL + 2 * STRING + 24);
  }
  if (r.dns) bytes += OPTIONAL + str(r.dns.qname) + str(r.dns.qtype) + (r.dns.rcode ? str(r.dns.rcode) : 0);
  if (r.http) bytes += OPTIONAL + str(r.http.method) + str(r.http.path);
  return bytes;
}
