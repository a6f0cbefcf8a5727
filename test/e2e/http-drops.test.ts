import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExporterProcess, writeIdentities } from '../common/exporter.js';
import { inNs, runTag, sh, TestNetwork, type TestHost } from '../common/netns.js';
import type { Sample } from '../common/prom.js';

/**
 * HTTP requests that a policy drops after the client's interface, with both
 * ends on this node. The request is parsed once per node, at the first hook
 * that sees it (the client's); the server's hook only takes over what the
 * client's hook found for the same segment. So the server side must report
 * only what reached its interface, and never an exchange it did not serve:
 * - a drop between the two interfaces (here a bridge-family nftables rule in
 *   the root namespace, where the bridge forwards from the client's veth to
 *   the server's): the server side reports nothing;
 * - a drop inside the server's namespace (an nftables input rule, as a
 *   network policy would): the request did reach the server's interface, so
 *   the server side counts it, once, and no response or latency.
 * The rules drop data segments only (PSH set), so the connection opens and
 * the request itself, and every retransmit of it, is what dies.
 */

const PORT_OK = 8080;
const PORT_BETWEEN = 8081;
const PORT_IN_SERVER = 8082;

// a prefix of this run and a /24 used by no other test (the drop tracer sees every drop on the machine)
const tag = runTag();
const prefix = `flhd${tag}`;
const BRIDGE_TABLE = `flowlens_http_drops_${tag}`;
let net: TestNetwork;
let server: TestHost;
let ok: TestHost;
let between: TestHost;
let inServer: TestHost;
let exporter: ExporterProcess;
let tmp: string;
let bridgeTable = false;

const serverScript = (address: string): string => `
const http = require('http');
let up = 0;
for (const port of [${PORT_OK}, ${PORT_BETWEEN}, ${PORT_IN_SERVER}]) {
  http.createServer((req, res) => { req.resume(); req.on('end', () => res.end('ok')); })
    .listen(port, '${address}', () => { if (++up === 3) console.log('up'); });
}`;

/** One GET from a namespace: its status, or 'timeout' when no answer came within 1.5 s. */
function get(from: TestHost, port: number): string {
  return inNs(from.ns, process.execPath, [
    '-e',
    `const req = require('http').get({ host: '${server.address}', port: ${port}, path: '/p', agent: false }, (res) => {
       res.resume();
       res.on('end', () => console.log(res.statusCode));
     });
     req.setTimeout(1500, () => { console.log('timeout'); req.destroy(); });
     req.on('error', () => {});`,
  ]).trim();
}

/** Samples of a family by `client>server method [status] reporter`. */
function counts(m: Sample[], family: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of m) {
    if (s.name !== family) continue;
    const l = s.labels;
    const key = [`${l.source_workload}>${l.destination_workload}`, l.method, l.status, l.reporter].filter((x) => x !== undefined).join(' ');
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

describe('HTTP requests a policy drops after the client\'s interface (both ends local, real kernel)', () => {
  beforeAll(async () => {
    net = new TestNetwork(prefix, '10.216.0');
    server = net.addHost('srv', 2);
    ok = net.addHost('ok', 3);
    between = net.addHost('btw', 4);
    inServer = net.addHost('ins', 5);
    tmp = mkdtempSync(join(tmpdir(), 'flowlens-http-drops-'));
    const identities = join(tmp, 'identities.yaml');
    writeIdentities(identities, { server, ok, between, inserver: inServer });

    const listener = net.spawnIn(server.ns, process.execPath, ['-e', serverScript(server.address)]);
    await new Promise((r) => listener.stdout!.once('data', r));

    // between the interfaces: the bridge's forward hook, after the client's veth, before the server's
    sh('nft', ['add', 'table', 'bridge', BRIDGE_TABLE]);
    bridgeTable = true;
    sh('nft', ['add', 'chain', 'bridge', BRIDGE_TABLE, 'forward', '{ type filter hook forward priority 0; policy accept; }']);
    sh('nft', ['add', 'rule', 'bridge', BRIDGE_TABLE, 'forward', 'ip', 'daddr', server.address, 'tcp', 'dport', String(PORT_BETWEEN),
      'tcp', 'flags', '&', 'psh', '==', 'psh', 'drop']);
    // inside the server's namespace, as a network policy would
    const nft = (...args: string[]) => inNs(server.ns, 'nft', args);
    nft('add', 'table', 'inet', 'flowlens_test');
    nft('add', 'chain', 'inet', 'flowlens_test', 'input', '{ type filter hook input priority 0; policy accept; }');
    nft('add', 'rule', 'inet', 'flowlens_test', 'input', 'tcp', 'dport', String(PORT_IN_SERVER), 'tcp', 'flags', '&', 'psh', '==', 'psh', 'drop');

    exporter = new ExporterProcess(['--interface', `${prefix}*`, '--identities', identities]);
    await exporter.ready();
  });

  afterAll(() => {
    exporter?.kill();
    if (bridgeTable) sh('nft', ['delete', 'table', 'bridge', BRIDGE_TABLE]);
    net?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('the server side reports only what reached its interface, and no exchange it did not serve', async () => {
    expect(get(ok, PORT_OK)).toBe('200');
    expect(get(between, PORT_BETWEEN)).toBe('timeout');
    expect(get(inServer, PORT_IN_SERVER)).toBe('timeout');

    const m = await exporter.samples();
    expect(counts(m, 'flowlens_http_requests_total')).toEqual({
      'ok>server GET client': 1,
      'ok>server GET server': 1,
      // dropped between the interfaces: never at the server's
      'between>server GET client': 1,
      // dropped inside the server: at its interface once (its retransmits are not new requests)
      'inserver>server GET client': 1,
      'inserver>server GET server': 1,
    });
    expect(counts(m, 'flowlens_http_responses_total')).toEqual({
      'ok>server GET 200 client': 1,
      'ok>server GET 200 server': 1,
    });
    expect(counts(m, 'flowlens_http_request_duration_seconds_count')).toEqual({
      'ok>server GET client': 1,
      'ok>server GET server': 1,
    });
  });
});
