// TCP connection attempts from the flow object, read from user space: the
// kernel counts attempts it saw answered (SYN-ACK or RST) in tcp_attempts and
// sends their events; an answer that never comes is only visible from here,
// by sweeping tcp_pending for attempts past the timeout.

import type { BpfObject } from '../bpf/index.js';
import {
  FLOW_TUPLE,
  TCP_OUTCOME_NAMES,
  TcpOutcome,
  EventType,
  decodeFlowTuple,
  decodeTcpOutcomeKey,
  decodeTcpPendingValue,
  encodeTcpPendingValue,
  type TcpOutcomeEvent,
} from '../bpf/codecs.js';
import type { ConnectionAttemptRecord } from './records.js';
import { sumPerCpuCounter } from './per-cpu.js';

export const DEFAULT_TCP_UNANSWERED_TIMEOUT_SECONDS = 3;

/**
 * How long an attempt counted unanswered is remembered after its latest SYN,
 * so that the client's retries count no new attempt and no new flow. Linux
 * (default tcp_syn_retries=6) doubles the wait between SYNs up to 32 s, then
 * gives up 64 s after the last one; a gap of 120 s without a SYN means the
 * client has stopped.
 */
export const UNANSWERED_MEMORY_NS = 120_000_000_000n;

const FLOW_TUPLE_DIRECTION = FLOW_TUPLE.fields.direction!.offset;

/**
 * The event the kernel would send had the attempt been answered, for one the
 * sweep took as unanswered at `now`. tcp_pending's key is the SYN's tuple; the
 * interface is not kept there, hence ifindex 0.
 */
function unansweredEvent(tupleKey: Buffer, synNs: bigint, srcIdentity: number, dstIdentity: number, now: bigint): TcpOutcomeEvent {
  const tuple = decodeFlowTuple(tupleKey);
  return {
    type: EventType.TCP_OUTCOME,
    family: tuple.family,
    protocol: tuple.protocol,
    direction: tuple.direction,
    ifindex: 0,
    timestampNs: now,
    synTimestampNs: synNs,
    srcIdentity,
    dstIdentity,
    saddr: tuple.saddr,
    daddr: tuple.daddr,
    sport: tuple.sport,
    dport: tuple.dport,
    outcome: TcpOutcome.UNANSWERED,
  };
}

/**
 * The TCP half of the flow object: connection attempts by outcome, and the
 * sweep of unanswered ones. Settled attempts reach `deliver` from the ring
 * buffer (answered) and from the sweep (unanswered) alike.
 */
export class TcpOutcomeTracker {
  private readonly timeoutNs: bigint;
  /**
   * Unanswered attempts by tcp_outcome_key fields (`src/dst/port/direction`):
   * the kernel cannot see a reply that never comes, so the sweep counts them.
   */
  private readonly unanswered = new Map<string, ConnectionAttemptRecord>();
  /** Outcome events delivered, from the ring buffer and the sweep alike. */
  outcomeEvents = 0;

  constructor(
    private readonly object: BpfObject,
    timeoutSeconds: number,
    private readonly deliver: (event: TcpOutcomeEvent) => void,
  ) {
    if (!(Number.isFinite(timeoutSeconds) && timeoutSeconds > 0)) {
      throw new RangeError(`tcpUnansweredTimeoutSeconds must be a number > 0, got ${timeoutSeconds}`);
    }
    this.timeoutNs = BigInt(Math.round(timeoutSeconds * 1e9));
  }

  /** A tcp_outcome_event from the ring buffer. */
  onEvent(event: TcpOutcomeEvent): void {
    this.outcomeEvents++;
    this.deliver(event);
  }

  /** Answered attempts as the kernel counted them, then the sweep's unanswered ones. Reads only. */
  connectionAttempts(): ConnectionAttemptRecord[] {
    const out: ConnectionAttemptRecord[] = [];
    for (const { key, value } of this.object.map('tcp_attempts').entries()) {
      const k = decodeTcpOutcomeKey(key);
      const outcome = TCP_OUTCOME_NAMES[k.outcome];
      // a code this build does not know (a newer object) has no label to go under
      if (!outcome) continue;
      out.push({ srcIdentity: k.srcIdentity, dstIdentity: k.dstIdentity, dstPort: k.dstPort, direction: k.direction, outcome, count: sumPerCpuCounter(value) });
    }
    for (const record of this.unanswered.values()) out.push({ ...record });
    return out;
  }

  /**
   * Counts attempts past the timeout as unanswered. Only a successful delete
   * counts: the kernel deletes the entry before counting an answer too, so an
   * attempt whose answer races the sweep is counted once. The entry then comes
   * back marked unanswered, so that the client's SYN retries (and a late
   * answer) count nothing more, until they have stopped for UNANSWERED_MEMORY_NS.
   * A retry that lands between the delete and the re-insert counts as a new
   * attempt: a window of microseconds against retries seconds apart.
   */
  sweep(now: bigint = process.hrtime.bigint()): void {
    const pending = this.object.map('tcp_pending');
    for (const { key, value } of pending.entries()) {
      const v = decodeTcpPendingValue(value);
      if (v.unanswered) {
        if (now - v.synNs >= UNANSWERED_MEMORY_NS) pending.delete(key);
        continue;
      }
      // a SYN seen after `now` was read makes the difference negative: not due
      if (now - v.synNs < this.timeoutNs) continue;
      if (!pending.delete(key)) continue;
      try {
        pending.update(key, encodeTcpPendingValue({ ...v, unanswered: 1 }), 'noexist');
      } catch {
        // a retry re-created it in between (a new attempt), or the map is full: nothing to remember
      }
      const direction = key.readUInt8(FLOW_TUPLE_DIRECTION);
      const id = `${v.srcIdentity}/${v.dstIdentity}/${v.dstPort}/${direction}`;
      const record = this.unanswered.get(id);
      if (record) record.count += 1;
      else {
        this.unanswered.set(id, {
          srcIdentity: v.srcIdentity,
          dstIdentity: v.dstIdentity,
          dstPort: v.dstPort,
          direction,
          outcome: 'unanswered',
          count: 1,
        });
      }
      // after the count: a throwing listener must not lose the attempt from the metrics
      this.onEvent(unansweredEvent(key, v.synNs, v.srcIdentity, v.dstIdentity, now));
    }
  }
}
