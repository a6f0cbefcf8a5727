import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { DropDatapath } from '../src/datapath/drop.js';
import { FlowDatapath } from '../src/datapath/flow.js';
import { inNs, runTag, TestNetwork, type TestHost } from '../test/common/netns.js';
import { report } from './report.js';
import { DEFAULT_DESTINATION_PORTS } from '../src/config.js';

/**
 * Cost of drop.bpf.c on the drop path: a UDP flood of small packets that an
 * nftables rule drops in the receiving namespace, with and without the drop
 * tracer attached to tp_btf/kfree_skb; packets per second counted by the
 * rule's own counter. Arms alternate, the ratio is the median of the paired
 * rounds.
 */

const ROUNDS = 8;
const SECONDS = 2;
const PORT = 5201;

let net: TestNetwork | undefined;

function nftCounter(host: TestHost): number {
  const out = inNs(host.ns, 'nft', ['-j', 'list', 'chain', 'inet', 'flowlens_bench', 'input']);
  const rule = JSON.parse(out).nftables.find((o: { rule?: unknown }) => o.rule);
  const counter = rule.rule.expr.find((e: { counter?: unknown }) => e.counter).counter;
  return counter.packets;
}

/** One flood; returns the packets per second that reached the drop. */
function flood(client: TestHost, server: TestHost): number {
  const before = nftCounter(server);
  const t0 = performance.now();
  execFileSync('ip', ['netns', 'exec', client.ns, 'iperf3', '-c', server.address, '-u', '-b', '0', '-l', '64', '-t', String(SECONDS), '-A', '0,1'], {
    encoding: 'utf8',
  });
  const seconds = (performance.now() - t0) / 1000;
  return (nftCounter(server) - before) / seconds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('drop path cost', () => {
  afterAll(() => net?.cleanup());

  it('keeps the packet rate of a drop flood with the drop tracer attached', async () => {
    net = new TestNetwork(`fp${runTag()}`, '10.219.0');
    const client = net.addHost('cli', 2);
    const server = net.addHost('srv', 3);
    const nft = (...args: string[]) => inNs(server.ns, 'nft', args);
    nft('add', 'table', 'inet', 'flowlens_bench');
    nft('add', 'chain', 'inet', 'flowlens_bench', 'input', '{ type filter hook input priority 0; policy accept; }');
    // only the flood's 64-byte datagrams: iperf3's 4-byte stream handshake must get through
    nft('add', 'rule', 'inet', 'flowlens_bench', 'input', 'udp', 'dport', String(PORT), 'udp', 'length', '>', '32', 'counter', 'drop');
    const iperfServer = net.spawnIn(server.ns, 'iperf3', ['-s', '-B', server.address, '--forceflush']);
    await new Promise((r) => iperfServer.stdout!.once('data', r));

    // the tracer needs an ipcache: the flow program's, loaded but attached to no interface
    const flow = FlowDatapath.load({
      pinPath: null, attachMode: 'auto', flowIdleTimeoutSeconds: 30, eventsPerSecond: 1000, ringBufferBytes: 262144, mapEntries: 16384,
      destinationPorts: DEFAULT_DESTINATION_PORTS,
    });
    const without: number[] = [];
    const withTracer: number[] = [];
    let dropped = 0;
    try {
      flood(client, server); // warm-up
      for (let round = 0; round < ROUNDS; round++) {
        const measureWith = () => {
          const tracer = DropDatapath.load({ identityMaps: flow.identityMaps(), eventsPerSecond: 1000, ringBufferBytes: 262144, mapEntries: 16384, destinationPorts: DEFAULT_DESTINATION_PORTS });
          try {
            withTracer.push(flood(client, server));
            dropped += tracer.snapshot().drops.reduce((sum, d) => sum + d.packets, 0);
          } finally {
            tracer.close();
          }
        };
        if (round % 2 === 0) {
          without.push(flood(client, server));
          measureWith();
        } else {
          measureWith();
          without.push(flood(client, server));
        }
      }
    } finally {
      flow.close();
    }
    const ratio = median(withTracer.map((w, i) => w / without[i]!));
    report('drop flood without drop.bpf.c (packets/s, median)', median(without).toFixed(0));
    report('drop flood with drop.bpf.c (packets/s, median)', median(withTracer).toFixed(0));
    report('drop flood ratio with/without, median of paired rounds (target >= 0.95)', ratio.toFixed(3));
    // the tracer saw the flood: at least every packet the rule dropped in its rounds
    expect(dropped).toBeGreaterThanOrEqual(withTracer.reduce((a, b) => a + b, 0) * SECONDS * 0.9);
  });
});
