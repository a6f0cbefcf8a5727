import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExporterProcess, waitFor, writeIdentities } from '../common/exporter.js';
import { inNs, runTag, TestNetwork, type TestHost } from '../common/netns.js';
import { sumOf, type Sample } from '../common/prom.js';
import { tcpRetransmits } from '../common/traffic.js';

/**
 * TCP retransmissions by identity pair, exactly as each namespace's stack
 * counts them (RetransSegs): nftables in the client's namespace drops every
 * 20th data packet the server sends, so the server retransmits, and the
 * exporter must count each retransmitted segment under server -> client.
 */

const PORT = 7003;
const BYTES = 4 * 1024 * 1024;
const TRANSFERS = 3;

const tag = runTag();
const prefix = `fr${tag}`;
let net: TestNetwork;
let client: TestHost;
let server: TestHost;
let exporter: ExporterProcess;
let tmp: string;

/** Sends BYTES to every connection, then closes it. */
const BULK_SERVER = (address: string) => `
import socket, threading
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(('${address}', ${PORT}))
t.listen(16)
print('up', flush=True)
payload = b'x' * ${BYTES}
while True:
    c, _ = t.accept()
    c.sendall(payload)
    c.close()
`;

/** Reads each transfer to its end; prints the bytes read. */
const BULK_CLIENT = (address: string) => `
import socket
total = 0
for _ in range(${TRANSFERS}):
    c = socket.create_connection(('${address}', ${PORT}), timeout=20)
    while True:
        data = c.recv(65536)
        if not data:
            break
        total += len(data)
    c.close()
print(total)
`;

/**
 * Drops every 20th data packet (payload, no SYN/FIN/RST) from the server as it
 * enters the client: lost on the way, so the server's TCP must send it again.
 * (A drop in the sender's own output hook is no loss to TCP: it sends the
 * segment again as new data, not as a retransmission.)
 */
function loseServerSegments(): void {
  const nft = (...args: string[]) => inNs(client.ns, 'nft', args);
  nft('add', 'table', 'inet', 'flowlens_loss');
  nft('add', 'chain', 'inet', 'flowlens_loss', 'input', '{ type filter hook input priority 0; policy accept; }');
  nft('add', 'rule', 'inet', 'flowlens_loss', 'input', 'tcp', 'sport', String(PORT), 'tcp', 'flags', '&', '(fin|syn|rst)', '==', '0',
    'meta', 'length', '>', '100', 'numgen', 'inc', 'mod', '20', '==', '0', 'drop');
}

describe('TCP retransmissions by identity pair (network namespaces, real kernel)', () => {
  let before: { client: number; server: number };

  beforeAll(async () => {
    net = new TestNetwork(prefix, '10.233.0');
    client = net.addHost('cli', 2);
    server = net.addHost('srv', 3);
    tmp = mkdtempSync(join(tmpdir(), 'flowlens-retransmits-'));
    const identities = join(tmp, 'identities.yaml');
    writeIdentities(identities, { client, server });
    const bulk = net.spawnIn(server.ns, 'python3', ['-c', BULK_SERVER(server.address)]);
    await new Promise((resolve) => bulk.stdout!.once('data', resolve));
    loseServerSegments();
    exporter = new ExporterProcess(['--interface', `${prefix}*`, '--identities', identities]);
    await exporter.ready();
    before = { client: tcpRetransmits(client), server: tcpRetransmits(server) };
    expect(Number(inNs(client.ns, 'python3', ['-c', BULK_CLIENT(server.address)]).trim())).toBe(TRANSFERS * BYTES);
  }, 120_000);

  afterAll(() => {
    exporter?.kill();
    net?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('counts each segment a stack sent again under its socket (source) and peer (destination), as RetransSegs does', async () => {
    // a retransmission can still follow the transfer's end (a last segment's timer): wait until both sides agree, then compare exactly
    const retransmits = (m: Sample[], from: string, to: string) =>
      sumOf(m, 'flowlens_tcp_retransmits_total', { source_workload: from, destination_workload: to });
    let last = '';
    const seen = await waitFor('retransmits counted', 30_000, () => `${last}\n${exporter.output}`, async () => {
      const m = await exporter.samples();
      const stack = { server: tcpRetransmits(server) - before.server, client: tcpRetransmits(client) - before.client };
      const counted = { server: retransmits(m, 'server', 'client'), client: retransmits(m, 'client', 'server') };
      last = `stacks ${JSON.stringify(stack)}, counted ${JSON.stringify(counted)}, all ${sumOf(m, 'flowlens_tcp_retransmits_total')}`;
      return stack.server === counted.server && stack.client === counted.client ? { stack, counted } : undefined;
    });
    // the losses happened: every 20th data packet of 12 MiB
    expect(seen.stack.server).toBeGreaterThan(10);
    expect(seen.counted).toEqual(seen.stack);
  });
});
