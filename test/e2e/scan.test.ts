import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExporterProcess, writeIdentities } from '../common/exporter.js';
import { runTag, TestNetwork, type TestHost } from '../common/netns.js';
import { connects, tcpListener } from '../common/traffic.js';
import { sumOf, type Sample } from '../common/prom.js';
import { DEFAULT_DESTINATION_PORTS } from '../../src/config.js';
import { PORT_RANGES } from '../../src/datapath/ports.js';

/**
 * A port scan from an address outside every identity, while two workloads
 * keep talking: the kernel keys counters by port class, so the scan adds a
 * handful of keys however many ports it tries; every scan packet is counted
 * (under its port's class), and the workloads' flows stay exact throughout.
 */

const SERVICE_PORT = 8080;
const TCP_SCAN_PORTS = 20_000; // 1..20000 but the service's port
const UDP_SCAN_PORTS = 5_000; // 20001..25000: nothing listens, each a no_socket drop
const STEADY_CONNECTIONS = 200;

const tag = runTag();
const prefix = `fs${tag}`;
let net: TestNetwork;
let client: TestHost;
let server: TestHost;
let scanner: TestHost;
let exporter: ExporterProcess;
let tmp: string;

/** Every TCP port of 1..20000 but the service's with a SYN, then every UDP port of 20001..25000 with a datagram: one socket each, closed at once. */
const SCAN_SCRIPT = `
import socket, sys
target = sys.argv[1]
for port in range(1, ${TCP_SCAN_PORTS} + 1):
    if port == ${SERVICE_PORT}:
        continue
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.connect_ex((target, port))
    s.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for port in range(${TCP_SCAN_PORTS} + 1, ${TCP_SCAN_PORTS + UDP_SCAN_PORTS} + 1):
    u.sendto(b'x', (target, port))
u.close()
print('done')
`;

function scan(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', scanner.ns, 'python3', '-c', SCAN_SCRIPT, server.address], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => (code === 0 && out.includes('done') ? resolve() : reject(new Error(`scan exited ${code}: ${out}`))));
  });
}

const toServer = (m: Sample[], extra: Record<string, string>) =>
  sumOf(m, 'flowlens_flows_total', { source_identity: 'reserved:world', destination_workload: 'server', ...extra });

describe('a port scan from outside (network namespaces, real kernel)', () => {
  let m: Sample[];

  beforeAll(async () => {
    net = new TestNetwork(prefix, '10.236.0');
    client = net.addHost('cli', 2);
    server = net.addHost('srv', 3);
    scanner = net.addHost('scan', 9);
    tmp = mkdtempSync(join(tmpdir(), 'flowlens-scan-'));
    const identities = join(tmp, 'identities.yaml');
    writeIdentities(identities, { client, server });
    await tcpListener(net, server, SERVICE_PORT);
    exporter = new ExporterProcess(['--interface', `${prefix}*`, '--identities', identities]);
    await exporter.ready();

    const scanning = scan();
    // the workloads' connections, one at a time, while the scan runs
    expect(connects(client, server, SERVICE_PORT, STEADY_CONNECTIONS, 2000)).toBe(Array(STEADY_CONNECTIONS).fill('connected').join(','));
    await scanning;
    m = await exporter.samples();
  }, 120_000);

  afterAll(() => {
    exporter?.kill();
    net?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('counts the workloads\' connections exactly while the scan runs', () => {
    for (const direction of ['egress', 'ingress']) {
      expect(sumOf(m, 'flowlens_flows_total', {
        source_workload: 'client', destination_workload: 'server', destination_port: String(SERVICE_PORT), protocol: 'tcp', direction,
      }), direction).toBe(STEADY_CONNECTIONS);
    }
  });

  it('counts every scan packet, each under its port\'s class', () => {
    const named = DEFAULT_DESTINATION_PORTS.filter((p) => p <= TCP_SCAN_PORTS && p !== SERVICE_PORT);
    const expected: Record<string, number> = Object.fromEntries(named.map((p) => [String(p), 1]));
    expected[PORT_RANGES[0]] = 1023 - named.filter((p) => p <= 1023).length;
    expected[PORT_RANGES[1]] = TCP_SCAN_PORTS - 1023 - 1 - named.filter((p) => p > 1023).length;
    const byPort: Record<string, number> = {};
    for (const s of m) {
      if (s.name !== 'flowlens_flows_total' || s.labels.source_identity !== 'reserved:world' || s.labels.protocol !== 'tcp') continue;
      if (s.labels.destination_workload !== 'server' || s.labels.direction !== 'ingress' || s.labels.verdict !== 'forwarded') continue;
      byPort[s.labels.destination_port!] = (byPort[s.labels.destination_port!] ?? 0) + s.value;
    }
    expect(byPort).toEqual(expected);
    // the scanner's own interface (watched too) saw each SYN leave
    expect(toServer(m, { protocol: 'tcp', direction: 'egress', verdict: 'forwarded' })).toBe(TCP_SCAN_PORTS - 1);
    // and the server's stack dropped each (no socket): a flow with verdict dropped, as the drop tracer saw it
    expect(toServer(m, { protocol: 'tcp', direction: 'ingress', verdict: 'dropped' })).toBe(TCP_SCAN_PORTS - 1);
    expect(sumOf(m, 'flowlens_drops_total', {
      source_identity: 'reserved:world', destination_workload: 'server', protocol: 'tcp', reason: 'no_socket',
    })).toBe(TCP_SCAN_PORTS - 1);
    // UDP: every datagram a new flow at both interfaces, and a no_socket drop in the server's stack
    expect(toServer(m, { protocol: 'udp', destination_port: PORT_RANGES[1], verdict: 'forwarded' })).toBe(2 * UDP_SCAN_PORTS);
    expect(sumOf(m, 'flowlens_drops_total', {
      source_identity: 'reserved:world', destination_workload: 'server', protocol: 'udp', reason: 'no_socket',
    })).toBe(UDP_SCAN_PORTS);
  });

  it('the scan added a handful of kernel keys, not one per port, and nothing overflowed', () => {
    // keys: port classes x directions x verdicts of a few identity pairs
    for (const map of ['flows', 'drops', 'dropped_flows', 'tcp_attempts']) {
      expect(sumOf(m, 'flowlens_bpf_map_entries', { map }), map).toBeLessThan(150);
    }
    expect(sumOf(m, 'flowlens_bpf_map_update_errors_total')).toBe(0);
    expect(sumOf(m, 'flowlens_flows_total', { source_identity: 'overflow' })).toBe(0);
  });
});
