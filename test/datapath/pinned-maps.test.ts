import { execFileSync } from 'node:child_process';
import { readdirSync, renameSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeFlowKey, encodeTcpOutcomeKey, encodeU32 } from '../../src/bpf/codecs.js';
import { possibleCpus } from '../../src/bpf/index.js';
import { DropDatapath } from '../../src/datapath/drop.js';
import { FlowDatapath } from '../../src/datapath/flow.js';
import { migrateRenamedPins, preparePinPath, RENAMED_PINS } from '../../src/datapath/pins.js';
import { runTag } from '../common/netns.js';

/**
 * An exporter upgraded in place over pins of the release before the counter
 * maps took their metrics' names (flow_starts, drop_flow_starts, tcp_outcomes,
 * http_messages): migrateRenamedPins moves those pins to the new names before
 * the objects load, and the objects then reuse them, counts and all. The old
 * pins are made from the new objects' maps renamed back on bpffs: the layouts
 * did not change, only the names.
 */

const pinPath = `/sys/fs/bpf/flowlens-test-pins-${runTag()}`;
const EGRESS = 2;
const pair = { srcIdentity: 70000, dstIdentity: 70001, dstPort: 7777, direction: EGRESS };
const flowKey = (verdict: number) => encodeFlowKey({ ...pair, protocol: 6, verdict });

/** A per-CPU u64 value counting n on the first CPU only, so the summed total is n whatever the CPU count. */
function onFirstCpu(n: number): Buffer {
  const raw = Buffer.alloc(8 * possibleCpus());
  raw.writeBigUInt64LE(BigInt(n));
  return raw;
}

function load(): { flow: FlowDatapath; drop: DropDatapath } {
  const flow = FlowDatapath.load({
    pinPath,
    attachMode: 'auto',
    flowIdleTimeoutSeconds: 30,
    eventsPerSecond: 1000,
    ringBufferBytes: 4096,
    mapEntries: 1024,
    destinationPorts: [7777],
    tcpUnansweredTimeoutSeconds: 3,
  });
  try {
    const drop = DropDatapath.load({ identityMaps: flow.identityMaps(), pinPath, eventsPerSecond: 1000, ringBufferBytes: 4096, mapEntries: 1024, destinationPorts: [7777] });
    return { flow, drop };
  } catch (err) {
    flow.close();
    throw err;
  }
}

/** What the four renamed maps hold for the test's identity pair. */
function counts(flow: FlowDatapath, drop: DropDatapath): Record<string, number | undefined> {
  const ours = <T extends { srcIdentity: number; dstIdentity: number }>(rows: T[]) => rows.filter((r) => r.srcIdentity === pair.srcIdentity && r.dstIdentity === pair.dstIdentity);
  const snapshot = flow.snapshot(0);
  return {
    flows: ours(snapshot.starts).find((s) => s.dstPort === pair.dstPort)?.flows,
    tcp_attempts: ours(snapshot.connectionAttempts).find((a) => a.outcome === 'established')?.count,
    http_unmatched: snapshot.httpMessages.find((m) => m.reason === 'unmatched_response')?.count,
    dropped_flows: ours(drop.snapshot().droppedFlows).find((s) => s.dstPort === pair.dstPort)?.flows,
  };
}

afterAll(() => rmSync(pinPath, { recursive: true, force: true }));

describe('pinned maps under their names of an earlier release (real bpffs)', () => {
  it('are renamed to the new names and reused: the counts continue, nothing is left under an old name', () => {
    preparePinPath(pinPath);
    let { flow, drop } = load();
    try {
      flow['object'].map('flows').update(flowKey(1), onFirstCpu(5));
      flow['object'].map('tcp_attempts').update(encodeTcpOutcomeKey({ ...pair, outcome: 1 }), onFirstCpu(3));
      flow['object'].map('http_unmatched').update(encodeU32(0), onFirstCpu(2));
      drop['object'].map('dropped_flows').update(flowKey(2), onFirstCpu(4));
      expect(counts(flow, drop)).toEqual({ flows: 5, tcp_attempts: 3, http_unmatched: 2, dropped_flows: 4 });
    } finally {
      drop.close();
      flow.close();
    }

    // the pins as the earlier release left them
    for (const [old, now] of Object.entries(RENAMED_PINS)) renameSync(`${pinPath}/${now}`, `${pinPath}/${old}`);
    // and one map pinned under both names (a newer exporter ran, then an older one)
    execFileSync('bpftool', ['map', 'pin', 'pinned', `${pinPath}/flow_starts`, `${pinPath}/flows`]);
    const names = readdirSync(pinPath);
    expect(names).toEqual(expect.arrayContaining(['flow_starts', 'flows', 'drop_flow_starts', 'tcp_outcomes', 'http_messages']));
    expect(names).not.toContain('tcp_attempts');

    migrateRenamedPins(pinPath);
    expect(readdirSync(pinPath).sort()).toEqual([
      'dns_malformed', 'dns_queries', 'dns_responses',
      'drop_events_lost', 'drop_map_errors', 'dropped_flows', 'drops',
      'events_lost', 'flow_traffic', 'flows', 'http_requests', 'http_responses', 'http_unmatched',
      'map_update_errors', 'parse_packets', 'tcp_attempts',
    ]);

    ({ flow, drop } = load());
    try {
      // fresh maps would hold nothing: these are the old pins, reused
      expect(counts(flow, drop)).toEqual({ flows: 5, tcp_attempts: 3, http_unmatched: 2, dropped_flows: 4 });
    } finally {
      drop.close();
      flow.close();
    }
  });
});
