// DNS from protocols/dns.bpf.h, read from user space: the port settings set
// before load, the counters as a snapshot, and the sweep that turns queries
// left in dns_pending past their timeout into unanswered exchanges.

import type { BpfObject } from '../bpf/index.js';
import {
  DNS_LATENCY_BUCKETS,
  DNS_MALFORMED_REASON_NAMES,
  DNS_PORTS_MAX,
  DnsFlag,
  EventType,
  decodeDnsPendingKey,
  decodeDnsPendingValue,
  decodeDnsQueryKey,
  decodeDnsResponseKey,
  nameAt,
  type DnsEvent,
} from '../bpf/codecs.js';
import type { DnsQueryRecord, DnsResponseRecord, DnsSnapshot } from './records.js';
import { perCpuArrayTotals, sumPerCpu, sumPerCpuCounter } from './per-cpu.js';

export const DEFAULT_DNS_PORTS: readonly number[] = [53];
export const DEFAULT_DNS_UNANSWERED_TIMEOUT_SECONDS = 5;

/** Maps of the DNS parser whose fill level is exported. */
export const DNS_REPORTED_MAPS = ['dns_queries', 'dns_responses', 'dns_pending'] as const;

/** u64 fields of a dns_response_value: responses, latency sum, then the buckets. */
const RESPONSE_VALUE_FIELDS = 2 + DNS_LATENCY_BUCKETS;

/** Checks the ports and sets them into the opened, not yet loaded, flow object. */
export function setDnsPorts(object: BpfObject, ports: readonly number[]): void {
  if (ports.length < 1 || ports.length > DNS_PORTS_MAX) {
    throw new RangeError(`DNS ports: between 1 and ${DNS_PORTS_MAX} ports, got ${ports.length}`);
  }
  for (const port of ports) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`DNS port ${port} is not an integer in 1-65535`);
  }
  // unused slots repeat the first port: the kernel stops at dns_port_count anyway
  for (let i = 0; i < DNS_PORTS_MAX; i++) object.setGlobal(`dns_port_${i}`, ports[i] ?? ports[0]!);
  object.setGlobal('dns_port_count', ports.length);
}

/**
 * The DNS half of the flow object: counters to records, and the sweep of
 * unanswered queries. The kernel counts every query and response; exchanges
 * (for spans) arrive as events, under the shared events budget.
 */
export class DnsTracker {
  private readonly timeoutNs: bigint;
  /** Exchanges delivered (from the ring buffer and the sweep), and those the sweep made. */
  exchanges = 0;
  unanswered = 0;

  constructor(
    private readonly object: BpfObject,
    timeoutSeconds: number,
    private readonly deliver: (event: DnsEvent) => void,
  ) {
    if (!(Number.isFinite(timeoutSeconds) && timeoutSeconds > 0)) {
      throw new RangeError(`DNS unanswered timeout must be a number > 0, got ${timeoutSeconds}`);
    }
    this.timeoutNs = BigInt(Math.round(timeoutSeconds * 1e9));
  }

  snapshot(): DnsSnapshot {
    const queries: DnsQueryRecord[] = [];
    for (const { key, value } of this.object.map('dns_queries').entries()) {
      queries.push({ ...decodeDnsQueryKey(key), count: sumPerCpuCounter(value) });
    }
    const responses: DnsResponseRecord[] = [];
    for (const { key, value } of this.object.map('dns_responses').entries()) {
      const [count, sumNs, ...buckets] = sumPerCpu(value, RESPONSE_VALUE_FIELDS);
      responses.push({ ...decodeDnsResponseKey(key), responses: count!, latencySumSeconds: sumNs! / 1e9, latencyBuckets: buckets });
    }
    const malformed = perCpuArrayTotals(this.object.map('dns_malformed')).map((count, i) => ({
      reason: nameAt(DNS_MALFORMED_REASON_NAMES, i),
      count,
    }));
    return { queries, responses, malformed };
  }

  /** A dns_event from the ring buffer. */
  onEvent(event: DnsEvent): void {
    this.exchanges++;
    this.deliver(event);
  }

  /**
   * Takes queries past the timeout out of dns_pending as unanswered. Only a
   * successful delete counts: the kernel deletes the entry before it counts
   * a response as matched, so a response racing the sweep is one or the other.
   */
  sweep(now: bigint = process.hrtime.bigint()): void {
    const pending = this.object.map('dns_pending');
    for (const { key, value } of pending.entries()) {
      const v = decodeDnsPendingValue(value);
      // a query seen after `now` was read makes the difference negative: not due
      if (now - v.queryNs < this.timeoutNs) continue;
      if (!pending.delete(key)) continue;
      const k = decodeDnsPendingKey(key);
      this.unanswered++;
      this.onEvent({
        type: EventType.DNS,
        family: k.family,
        protocol: k.protocol,
        reporter: k.reporter,
        ifindex: v.ifindex,
        queryNs: v.queryNs,
        responseNs: 0n,
        srcIdentity: v.srcIdentity,
        dstIdentity: v.dstIdentity,
        clientAddr: k.clientAddr,
        serverAddr: k.family === 4 ? v.serverAddr.subarray(0, 4) : v.serverAddr,
        clientPort: k.clientPort,
        serverPort: v.serverPort,
        id: k.id,
        qtype: v.qtype,
        qclass: v.qclass,
        answers: 0,
        rcode: 0,
        flags: v.flags | DnsFlag.UNANSWERED,
        qnameLen: v.qnameLen,
        qname: v.qname,
      });
    }
  }
}
