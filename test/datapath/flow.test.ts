import { afterEach, describe, expect, it } from 'vitest';
import { encodeFlowTuple, encodeTcpPendingValue, type TcpOutcomeEvent } from '../../src/bpf/codecs.js';
import { FlowDatapath } from '../../src/datapath/flow.js';
import { UNANSWERED_MEMORY_NS } from '../../src/datapath/tcp.js';
import { ETH_P_IP, ethernet, ip4, ipv4, tcp, TCP_ACK, TCP_SYN } from '../common/packets.js';

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
    destinationPorts: [7777], // keyed by itself: the port these tests count by
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
    pending.update(encodeFlowTuple(syn), encodeTcpPendingValue({ synNs, srcIdentity: 70000, dstIdentity: 70001, dstPort: 7777, unanswered: 0 }));

    datapath.sweepTcpPending(synNs + 2n * NS); // before the timeout: still waiting
    expect(events).toEqual([]);
    expect(pending.count()).toBe(1);

    datapath.sweepTcpPending(synNs + 4n * NS);
    datapath.sweepTcpPending(synNs + 5n * NS); // a second sweep finds nothing more
    // remembered as settled until its SYNs have stopped for UNANSWERED_MEMORY_NS
    expect(pending.count()).toBe(1);
    datapath.sweepTcpPending(synNs + UNANSWERED_MEMORY_NS - 1n);
    expect(pending.count()).toBe(1);
    datapath.sweepTcpPending(synNs + UNANSWERED_MEMORY_NS);
    expect(pending.count()).toBe(0);
    expect(events.map((e) => [e.outcome, e.srcIdentity, e.dstIdentity, e.sport, e.dport, e.direction, e.synTimestampNs])).toEqual([
      [3, 70000, 70001, 40000, 7777, EGRESS, synNs],
    ]);
    expect(datapath.snapshot(0).connectionAttempts).toEqual([
      { srcIdentity: 70000, dstIdentity: 70001, dstPort: 7777, direction: EGRESS, outcome: 'unanswered', count: 1 },
    ]);
  });
});

describe('FlowDatapath: a client retrying an unanswered attempt', () => {
  const client = ip4('10.1.0.2');
  const server = ip4('10.1.0.3');
  const frame = (src: Buffer, dst: Buffer, sport: number, dport: number, flags: number): Buffer =>
    ethernet(ETH_P_IP, ipv4(tcp({ sport, dport, flags }), { src, dst }));

  it('counts one unanswered attempt and one flow however often the SYN is retried, and a late answer adds nothing', () => {
    const events: TcpOutcomeEvent[] = [];
    datapath = load(events);
    const from = datapath['object'].program('flow_from_endpoint');
    const to = datapath['object'].program('flow_to_endpoint');
    const syn = frame(client, server, 40000, 7777, TCP_SYN);
    const flows = () => datapath!.snapshot(0).starts.reduce((n, f) => n + f.flows, 0);

    from.testRun(syn);
    const synNs = process.hrtime.bigint();
    datapath.sweepTcpPending(synNs + 4n * NS); // timed out: unanswered
    from.testRun(syn); // the client's retries, after the sweep
    from.testRun(syn);
    datapath.sweepTcpPending(process.hrtime.bigint() + 4n * NS);
    to.testRun(frame(server, client, 7777, 40000, TCP_SYN | TCP_ACK)); // a late answer

    expect(events.map((e) => e.outcome)).toEqual([3]);
    expect(datapath.snapshot(0).connectionAttempts).toEqual([
      { srcIdentity: 2, dstIdentity: 2, dstPort: 7777, direction: EGRESS, outcome: 'unanswered', count: 1 },
    ]);
    expect(flows()).toBe(1);
    // the late answer ended the memory of the attempt
    expect(datapath['object'].map('tcp_pending').count()).toBe(0);
  });
});
