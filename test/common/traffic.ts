import type { ChildProcess } from 'node:child_process';
import { inNs, type TestHost, type TestNetwork } from './netns.js';

/**
 * Traffic with known packet counts between test hosts, sent by short node
 * scripts inside the sender's namespace; each returns when all is sent.
 */

/**
 * Connects `count` times, one attempt each, giving up after 300 ms (before any
 * SYN retransmission); returns the outcomes, comma-separated: connected,
 * timeout, or the error code (ECONNREFUSED).
 */
export function connects(from: TestHost, to: TestHost, port: number, count: number, timeoutMs = 300): string {
  return inNs(from.ns, process.execPath, [
    '-e',
    `const net = require('net'); const outcomes = [];
     (async () => {
       for (let i = 0; i < ${count}; i++) {
         outcomes.push(await new Promise((resolve) => {
           const s = net.connect({ host: '${to.address}', port: ${port} });
           const t = setTimeout(() => { s.destroy(); resolve('timeout'); }, ${timeoutMs});
           s.on('connect', () => { clearTimeout(t); s.end(); resolve('connected'); });
           s.on('error', (e) => { clearTimeout(t); resolve(e.code); });
         }));
       }
       console.log(outcomes.join(','));
     })();`,
  ]).trim();
}

/** `count` one-byte datagrams from one socket (one 5-tuple) to `to`:`port`. */
export function udpDatagrams(from: TestHost, to: TestHost, port: number, count: number): void {
  inNs(from.ns, process.execPath, [
    '-e',
    `const s = require('dgram').createSocket('${to.address.includes(':') ? 'udp6' : 'udp4'}'); let n = 0;
     const next = () => n === ${count} ? s.close() : s.send('x', ${port}, '${to.address}', () => { n++; next(); });
     next();`,
  ]);
}

/** TCP segments the namespace's stack retransmitted: must not move for SYN counts to be exact. */
export function tcpRetransmits(host: TestHost): number {
  const lines = inNs(host.ns, 'cat', ['/proc/net/snmp']).split('\n').filter((l) => l.startsWith('Tcp:'));
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/);
  return Number(values[names.indexOf('RetransSegs')]);
}

/** An nftables rule in the host's namespace that silently drops incoming TCP to `port`, as a network policy would. */
export function dropTcpPort(host: TestHost, port: number): void {
  const nft = (...args: string[]) => inNs(host.ns, 'nft', args);
  nft('add', 'table', 'inet', 'flowlens_test');
  nft('add', 'chain', 'inet', 'flowlens_test', 'input', '{ type filter hook input priority 0; policy accept; }');
  nft('add', 'rule', 'inet', 'flowlens_test', 'input', 'tcp', 'dport', String(port), 'drop');
}

/** A TCP server on `host`:`port` that closes every connection it accepts; resolves once it listens. net.cleanup() ends it. */
export function tcpListener(net: TestNetwork, host: TestHost, port: number): Promise<void> {
  return firstOutput(
    net.spawnIn(host.ns, process.execPath, [
      '-e',
      `require('net').createServer((c) => c.end()).listen(${port}, '${host.address}', () => console.log('up'));`,
    ]),
  );
}

/** A UDP socket bound to `host`:`port` that leaves what it gets unread; resolves once bound. net.cleanup() ends it. */
export function udpListener(net: TestNetwork, host: TestHost, port: number): Promise<void> {
  return firstOutput(
    net.spawnIn(host.ns, process.execPath, [
      '-e',
      `require('dgram').createSocket('${host.address.includes(':') ? 'udp6' : 'udp4'}').bind(${port}, '${host.address}', () => console.log('up'));`,
    ]),
  );
}

function firstOutput(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => child.stdout!.once('data', () => resolve()));
}
