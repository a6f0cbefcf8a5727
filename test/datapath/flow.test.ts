import { afterEach, describe, expect, it } from 'vitest';
import { encodeFlowTuple, encodeTcpPendingValue, type TcpOutcomeEvent } from '../../src/bpf/codecs.js';
import { FlowDatapath } from '../../src/datapath/flow.js';
import { ip4 } from '../common/packets.js';

/**
 * The user-space half of connection outcomes: attempts still pending after
 * the timeout are taken out of tcp_pending as unanswered, once each, counted
 * in the snapshot and delivered as events.
 */

let datapath: FlowDatapath | undefined;
afterEach(() => {
  datapath?.close();
  datapath = undefined;
});

const EGRESS = 2;
const NS = 1_000_000_000n;

function load(events: TcpOutcomeEvent[]): FlowDatapath {
  return FlowDatapath.load({
    pinPath: null,
    attachMode: 'auto',
    flowIdleTimeoutSeconds: 30,
    eventsPerSecond: 1000,
    ringBufferBytes: 4096,
    mapEntries: 1024,
    tcpUnansweredTimeoutSeconds: 3,
    onTcpOutcome: (e) => events.push(e),
  });
}

describe('FlowDatapath: unanswered connection attempts', () => {
  it('sweeps an attempt past the timeout exactly once, as unanswered', () => {
    const events: TcpOutcomeEvent[] = [];
    datapath = load(events);
    // an attempt written as the kernel writes it at a SYN
    const pending = datapath['object'].map('tcp_pending');
    const syn = { family: 4 as const, saddr: ip4('10.1.0.2'), daddr: ip4('10.1.0.3'), sport: 40000, dport: 7777, protocol: 6, direction: EGRESS };
    const synNs = 100n * NS;
    pending.update(encodeFlowTuple(syn), encodeTcpPendingValue({ synNs, srcIdentity: 70000, dstIdentity: 70001, dstPort: 7777 }));

    datapath.sweepTcpPending(synNs + 2n * NS); // before the timeout: still waiting
    expect(events).toEqual([]);
    expect(pending.count()).toBe(1);

    datapath.sweepTcpPending(synNs + 4n * NS);
    datapath.sweepTcpPending(synNs + 5n * NS); // a second sweep finds nothing more
    expect(pending.count()).toBe(0);
    expect(events.map((e) => [e.outcome, e.srcIdentity, e.dstIdentity, e.sport, e.dport, e.direction, e.synTimestampNs])).toEqual([
      [3, 70000, 70001, 40000, 7777, EGRESS, synNs],
    ]);
    expect(datapath.snapshot(0).connectionAttempts).toEqual([
      { srcIdentity: 70000, dstIdentity: 70001, dstPort: 7777, direction: EGRESS, outcome: 'unanswered', count: 1 },
    ]);
  });
});
