import { mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RENAMED_PINS } from '../../src/datapath/pins.js';
import { ExporterProcess, waitFor } from '../common/exporter.js';
import { inNs, runTag, TestNetwork, type TestHost } from '../common/netns.js';
import { parsePrometheusText, sumOf } from '../common/prom.js';

/**
 * What happens to a running exporter over time: a restart with pinned maps
 * continues the kernel's counts, and the identity file is reloaded on change,
 * keeping the last good identities when the new content is bad.
 */

const UDP_PORT = 9000;
const tag = runTag();
const prefix = `fl${tag}`;
const pinPath = `/sys/fs/bpf/flowlens-e2e-${tag}`;
let net: TestNetwork;
let client: TestHost;
let server: TestHost;
let tmp: string;
let identities: string;
let exporter: ExporterProcess | undefined;

function identityFile(clientWorkload: string): string {
  return `identities:
  - namespace: e2e
    workload: ${clientWorkload}
    addresses: [${client.address}/32]
  - namespace: e2e
    workload: server
    addresses: [${server.address}/32]
`;
}

function udpDatagrams(count: number): void {
  inNs(client.ns, process.execPath, [
    '-e',
    `const s = require('dgram').createSocket('udp4'); let n = 0;
     const next = () => n === ${count} ? s.close() : s.send('x', ${UDP_PORT}, '${server.address}', () => { n++; next(); });
     next();`,
  ]);
}

async function udpPackets(exp: ExporterProcess, clientWorkload: string): Promise<number> {
  const m = parsePrometheusText(await exp.metricsText());
  return sumOf(m, 'flowlens_packets_total', {
    source_workload: clientWorkload,
    destination_workload: 'server',
    protocol: 'udp',
    direction: 'egress',
  });
}

/** flowlens_flows_total of the client's UDP flow, from the flows map (renamed from flow_starts). */
async function udpFlows(exp: ExporterProcess): Promise<number> {
  const m = parsePrometheusText(await exp.metricsText());
  return sumOf(m, 'flowlens_flows_total', { source_workload: 'client', destination_workload: 'server', protocol: 'udp', direction: 'egress', verdict: 'forwarded' });
}

async function start(): Promise<ExporterProcess> {
  exporter = new ExporterProcess(['--interface', `${prefix}*`, '--identities', identities, '--pin-path', pinPath]);
  await exporter.ready();
  return exporter;
}

describe('exporter lifecycle (network namespaces, real kernel)', () => {
  beforeAll(() => {
    net = new TestNetwork(prefix, '10.215.0');
    client = net.addHost('cli', 2);
    server = net.addHost('srv', 3);
    tmp = mkdtempSync(join(tmpdir(), 'flowlens-lifecycle-'));
    identities = join(tmp, 'identities.yaml');
    writeFileSync(identities, identityFile('client'));
  });

  afterAll(() => {
    exporter?.kill();
    net?.cleanup();
    rmSync(tmp, { recursive: true, force: true });
    rmSync(pinPath, { recursive: true, force: true });
  });

  it('continues the counts across a restart when maps are pinned', async () => {
    let exp = await start();
    udpDatagrams(5);
    expect(await udpPackets(exp, 'client')).toBe(5);
    expect(await udpFlows(exp)).toBe(1);
    expect(await exp.terminate()).toBe(0);
    const pins = [
      'dns_malformed', 'dns_queries', 'dns_responses',
      'drop_events_lost', 'drop_map_errors', 'dropped_flows', 'drops',
      'events_lost', 'flow_traffic', 'flows', 'http_requests', 'http_responses', 'http_unmatched',
      'map_update_errors', 'parse_packets', 'retransmit_map_errors', 'tcp_attempts', 'tcp_retransmits',
    ];
    expect(readdirSync(pinPath).sort()).toEqual(pins);

    // the pins as a release before the counter maps took their metrics' names left them:
    // the exporter renames them at start and continues their counts
    for (const [old, now] of Object.entries(RENAMED_PINS)) renameSync(join(pinPath, now), join(pinPath, old));
    exp = await start();
    expect(readdirSync(pinPath).sort()).toEqual(pins);
    expect(await udpFlows(exp)).toBe(1);
    expect(await udpPackets(exp, 'client')).toBe(5);
    udpDatagrams(4);
    expect(await udpPackets(exp, 'client')).toBe(9);
  });

  it('keeps the last good identities on a bad reload, and takes the next good one', async () => {
    const exp = exporter!;
    const metric = async (name: string) => sumOf(parsePrometheusText(await exp.metricsText()), name, { source: 'static' });
    expect(await metric('flowlens_identity_source_up')).toBe(1);

    writeFileSync(identities, 'identities:\n  - namespace: e2e\n    workload: client\n    addresses: [10.215.0.300/32]\n');
    await waitFor('the failed reload to be counted', 30_000, () => exp.output, async () =>
      (await metric('flowlens_identity_reload_failures_total')) === 1 ? true : undefined,
    );
    expect(await metric('flowlens_identity_source_up')).toBe(0);
    expect(exp.child.exitCode).toBe(null);
    udpDatagrams(2);
    expect(await udpPackets(exp, 'client')).toBe(11);

    writeFileSync(identities, identityFile('client-v2'));
    await waitFor('the good reload', 30_000, () => exp.output, async () =>
      (await metric('flowlens_identity_source_up')) === 1 ? true : undefined,
    );
    udpDatagrams(3);
    expect(await udpPackets(exp, 'client-v2')).toBe(3);
    expect(await exp.terminate()).toBe(0);
  });
});
