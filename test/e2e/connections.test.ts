import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExporterProcess, writeIdentities, waitFor } from '../common/exporter.js';
import { runTag, TestNetwork, type TestHost } from '../common/netns.js';
import { connects, dropTcpPort, tcpListener, tcpRetransmits } from '../common/traffic.js';
import { sumOf, type Sample } from '../common/prom.js';

/**
 * Every TCP connection attempt counted once by its outcome, with the
 * workloads of both ends, at each endpoint's interface: egress where the
 * client's SYN leaves it, ingress where it enters the server. Answers (SYN-ACK,
 * RST) pass both interfaces on their way back, so both see every outcome;
 * a SYN dropped inside the server's namespace is unanswered at both.
 */

const FAMILY = 'flowlens_tcp_connection_attempts_total';
const OPEN_PORT = 8080; // in the default destination ports: a label of its own
const CLOSED_PORT = 7000; // not listed: folded into its range
const FILTERED_PORT = 9090;
const ESTABLISHED = 3;
const REFUSED = 4;
const UNANSWERED = 2;
/** FlowDatapath's default tcpUnansweredTimeoutSeconds is 3; the sweep runs every 500 ms. */
const UNANSWERED_WAIT_MS = 10_000;

const tag = runTag();
const prefix = `fc${tag}`;
let net: TestNetwork;
let client: TestHost;
let server: TestHost;
let exporter: ExporterProcess;
let tmp: string;

async function scrape(): Promise<Sample[]> {
  return exporter.samples();
}

const pair = { source_workload: 'client', destination_workload: 'server', source_namespace: 'e2e', destination_namespace: 'e2e' };

/** The attempts of one outcome, per direction and destination_port label. */
function attempts(m: Sample[], outcome: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of m) {
    if (s.name !== FAMILY || s.labels.outcome !== outcome) continue;
    const key = `${s.labels.source_workload}>${s.labels.destination_workload} ${s.labels.destination_port} ${s.labels.direction}`;
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

describe('TCP connection attempts by outcome (network namespaces, real kernel)', () => {
  beforeAll(async () => {
    net = new TestNetwork(prefix, '10.219.0');
    client = net.addHost('cli', 2);
    server = net.addHost('srv', 3);
    tmp = mkdtempSync(join(tmpdir(), 'flowlens-connections-'));
    const identities = join(tmp, 'identities.yaml');
    writeIdentities(identities, { client, server });
    dropTcpPort(server, FILTERED_PORT);

    await tcpListener(net, server, OPEN_PORT);

    exporter = new ExporterProcess(['--interface', `${prefix}*`, '--identities', identities]);
    await exporter.ready();
  });

  afterAll(() => {
    exporter?.kill();
    net?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('counts connections to a listening port as established, at both interfaces', async () => {
    expect(connects(client, server, OPEN_PORT, ESTABLISHED)).toBe(Array(ESTABLISHED).fill('connected').join(','));
    const m = await scrape();
    expect(attempts(m, 'established')).toEqual({
      [`client>server ${OPEN_PORT} egress`]: ESTABLISHED,
      [`client>server ${OPEN_PORT} ingress`]: ESTABLISHED,
    });
    expect(sumOf(m, FAMILY, { ...pair, outcome: 'established', direction: 'egress' })).toBe(ESTABLISHED);
  });

  it('counts connections to a closed port as refused, under the folded port range', async () => {
    expect(connects(client, server, CLOSED_PORT, REFUSED)).toBe(Array(REFUSED).fill('ECONNREFUSED').join(','));
    const m = await scrape();
    expect(attempts(m, 'refused')).toEqual({
      'client>server 1024-49151 egress': REFUSED,
      'client>server 1024-49151 ingress': REFUSED,
    });
  });

  it('counts SYNs an nftables rule drops silently as unanswered once the timeout has passed', async () => {
    const before = tcpRetransmits(client);
    expect(connects(client, server, FILTERED_PORT, UNANSWERED)).toBe(Array(UNANSWERED).fill('timeout').join(','));
    expect(tcpRetransmits(client) - before).toBe(0);
    // the sweep counts them only after the timeout: wait until both interfaces' attempts are in, then check exactly
    const m = await waitFor('unanswered attempts', UNANSWERED_WAIT_MS, () => exporter.output, async () => {
      const samples = await scrape();
      const counts = Object.values(attempts(samples, 'unanswered'));
      return counts.length === 2 && counts.every((n) => n >= UNANSWERED) ? samples : undefined;
    });
    expect(attempts(m, 'unanswered')).toEqual({
      [`client>server ${FILTERED_PORT} egress`]: UNANSWERED,
      [`client>server ${FILTERED_PORT} ingress`]: UNANSWERED,
    });
  });

  it('counts every attempt under exactly one outcome, and none in the other direction', async () => {
    const m = await scrape();
    expect(sumOf(m, FAMILY, { ...pair, direction: 'egress' })).toBe(ESTABLISHED + REFUSED + UNANSWERED);
    expect(sumOf(m, FAMILY, { ...pair, direction: 'ingress' })).toBe(ESTABLISHED + REFUSED + UNANSWERED);
    expect(sumOf(m, FAMILY, { source_workload: 'server' })).toBe(0);
    // answered attempts left tcp_pending; the unanswered ones stay, marked, to absorb retries (one per interface)
    expect(sumOf(m, 'flowlens_bpf_map_entries', { map: 'tcp_pending' })).toBe(2 * UNANSWERED);
  });
});
