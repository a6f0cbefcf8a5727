import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExporterProcess, writeIdentities } from '../common/exporter.js';
import { runTag, TestNetwork, type TestHost } from '../common/netns.js';
import { sumOf, type Sample } from '../common/prom.js';

/**
 * Flows counted exactly when a flow's packets are handled on different CPUs:
 * the clients run pinned to one CPU, the echo servers to the other, so a
 * request's hook runs on one CPU and its reply's on the other, and entries
 * that both CPUs touch (flow_conntrack above all) race as they would on a
 * busy node. Each client socket, connection or ping is one flow at each
 * endpoint's interface, and nothing starts a flow from server to client.
 */

const UDP_PORT = 7001;
const TCP_PORT = 7002;
const UDP_SOCKETS = 50; // 25 per client process
const UDP_DATAGRAMS = 2000; // per socket, each echoed
const TCP_CONNECTIONS = 50;
const TCP_MESSAGES = 200; // per connection, each echoed
const PINGS = 10; // processes, each its own echo identifier
const PING_COUNT = 50;

const tag = runTag();
const prefix = `fp${tag}`;
let net: TestNetwork;
let client: TestHost;
let server: TestHost;
let exporter: ExporterProcess;
let tmp: string;

const ECHO_SERVER = (address: string) => `
import socket, threading
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(('${address}', ${UDP_PORT}))
def udp():
    while True:
        data, peer = u.recvfrom(2048)
        u.sendto(data, peer)
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(('${address}', ${TCP_PORT}))
t.listen(128)
def conn(c):
    while True:
        data = c.recv(2048)
        if not data:
            c.close()
            return
        c.sendall(data)
def tcp():
    while True:
        c, _ = t.accept()
        threading.Thread(target=conn, args=(c,), daemon=True).start()
threading.Thread(target=udp, daemon=True).start()
threading.Thread(target=tcp, daemon=True).start()
print('up', flush=True)
threading.Event().wait()
`;

/** `sockets` UDP sockets, each sending `datagrams` datagrams one at a time and waiting for each echo. */
const UDP_CLIENT = (address: string, sockets: number) => `
import socket
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(${sockets})]
echoed = 0
for s in socks:
    s.settimeout(2)
for i in range(${UDP_DATAGRAMS}):
    for s in socks:
        s.sendto(b'ping', ('${address}', ${UDP_PORT}))
        if s.recv(64) == b'ping':
            echoed += 1
print(echoed)
`;

/** `connections` TCP connections, each echoing `messages` messages, opened one after another. */
const TCP_CLIENT = (address: string, connections: number) => `
import socket
echoed = 0
for _ in range(${connections}):
    c = socket.create_connection(('${address}', ${TCP_PORT}), timeout=5)
    for i in range(${TCP_MESSAGES}):
        c.sendall(b'ping')
        got = b''
        while len(got) < 4:
            got += c.recv(4 - len(got))
        echoed += 1
    c.close()
print(echoed)
`;

/** Runs `script` in the client's namespace pinned to `cpu`; resolves with its output. */
function onCpu(cpu: number, cmd: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = net.spawnIn(client.ns, 'taskset', ['-c', String(cpu), ...cmd]);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    // 'close', not 'exit': the output is only complete once the pipes have closed
    child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`${cmd.join(' ')} exited ${code}: ${out}`))));
  });
}

const flows = (m: Sample[], protocol: string, match: Record<string, string>) =>
  sumOf(m, 'flowlens_flows_total', { protocol, ...match });

describe('flows exact with a flow\'s packets on both CPUs (network namespaces, real kernel)', () => {
  let m: Sample[];

  beforeAll(async () => {
    // the point is two CPUs: a machine with one cannot show the race, and must not pass silently
    expect(availableParallelism()).toBeGreaterThanOrEqual(2);
    net = new TestNetwork(prefix, '10.232.0');
    client = net.addHost('cli', 2);
    server = net.addHost('srv', 3);
    tmp = mkdtempSync(join(tmpdir(), 'flowlens-cpus-'));
    const identities = join(tmp, 'identities.yaml');
    writeIdentities(identities, { client, server });
    // the echo servers on CPU 1
    const echo = net.spawnIn(server.ns, 'taskset', ['-c', '1', 'python3', '-c', ECHO_SERVER(server.address)]);
    await new Promise((resolve) => echo.stdout!.once('data', resolve));
    exporter = new ExporterProcess(['--interface', `${prefix}*`, '--identities', identities]);
    await exporter.ready();

    // clients on CPU 0; a second UDP client on CPU 1 makes requests of its own meet replies on both
    const [udp0, udp1, tcp, ...pings] = await Promise.all([
      onCpu(0, ['python3', '-c', UDP_CLIENT(server.address, UDP_SOCKETS / 2)]),
      onCpu(1, ['python3', '-c', UDP_CLIENT(server.address, UDP_SOCKETS / 2)]),
      onCpu(0, ['python3', '-c', TCP_CLIENT(server.address, TCP_CONNECTIONS)]),
      ...Array.from({ length: PINGS }, (_, i) => onCpu(i % 2, ['ping', '-q', '-c', String(PING_COUNT), '-i', '0.002', server.address])),
    ]);
    expect(Number(udp0) + Number(udp1)).toBe(UDP_SOCKETS * UDP_DATAGRAMS);
    expect(Number(tcp)).toBe(TCP_CONNECTIONS * TCP_MESSAGES);
    for (const p of pings) expect(p).toContain(`${PING_COUNT} received`);
    m = await exporter.samples();
  }, 180_000);

  afterAll(() => {
    exporter?.kill();
    net?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const clientToServer = { source_workload: 'client', destination_workload: 'server' };
  const serverToClient = { source_workload: 'server', destination_workload: 'client' };

  it('UDP: one flow per socket at each interface, none from server to client', () => {
    expect(flows(m, 'udp', { ...clientToServer, direction: 'egress' })).toBe(UDP_SOCKETS);
    expect(flows(m, 'udp', { ...clientToServer, direction: 'ingress' })).toBe(UDP_SOCKETS);
    expect(flows(m, 'udp', serverToClient)).toBe(0);
  });

  it('TCP: one flow per connection at each interface, none from server to client', () => {
    expect(flows(m, 'tcp', { ...clientToServer, direction: 'egress' })).toBe(TCP_CONNECTIONS);
    expect(flows(m, 'tcp', { ...clientToServer, direction: 'ingress' })).toBe(TCP_CONNECTIONS);
    expect(flows(m, 'tcp', serverToClient)).toBe(0);
  });

  it('ICMP: one flow per ping process (its echo identifier) at each interface, none from server to client', () => {
    expect(flows(m, 'icmp', { ...clientToServer, direction: 'egress' })).toBe(PINGS);
    expect(flows(m, 'icmp', { ...clientToServer, direction: 'ingress' })).toBe(PINGS);
    expect(flows(m, 'icmp', serverToClient)).toBe(0);
  });

  it('every UDP packet counted, in both directions', () => {
    // each UDP datagram and its echo: request egress at the client, ingress at the server, and the reply both ways back
    expect(sumOf(m, 'flowlens_packets_total', { ...clientToServer, protocol: 'udp' })).toBe(2 * UDP_SOCKETS * UDP_DATAGRAMS);
    expect(sumOf(m, 'flowlens_packets_total', { ...serverToClient, protocol: 'udp' })).toBe(2 * UDP_SOCKETS * UDP_DATAGRAMS);
  });
});
