import type { ChildProcess } from 'node:child_process';
import { dnsmasqArgs } from '../../demo/dnsmasq.js';
import { waitFor } from './exporter.js';
import { inNs, type TestHost, type TestNetwork } from './netns.js';

/**
 * A DNS server for end-to-end tests: dnsmasq (Debian's dnsmasq-base) in a
 * test namespace, answering a local zone from host records and NXDOMAIN for
 * every other name in it, and dig (bind9-dnsutils) to ask it.
 */

/** dig from a namespace: one query, its status (NOERROR, NXDOMAIN, ...) from the header dig prints. */
export function dig(from: TestHost, server: TestHost, name: string, type: string, tcp = false): string {
  const out = inNs(from.ns, 'dig', [`@${server.address}`, '+tries=1', '+time=3', '+noall', '+comments', ...(tcp ? ['+tcp'] : []), name, type]);
  const m = /status: (\w+)/.exec(out);
  if (!m) throw new Error(`dig printed no status:\n${out}`);
  return m[1]!;
}

/**
 * Starts dnsmasq on host's address, port 53, authoritative for `zone` with
 * `records` (name -> its addresses), and waits until it answers `probe` (a
 * name among the records) as asked from `from`. Stopped by net.cleanup().
 */
export async function startDnsmasq(
  net: TestNetwork,
  host: TestHost,
  opts: { zone: string; records: Record<string, string[]>; from: TestHost; probe: string },
): Promise<ChildProcess> {
  const dnsmasq = net.spawnIn(host.ns, 'dnsmasq', dnsmasqArgs({ address: host.address, port: 53, zone: opts.zone, records: opts.records }));
  let output = '';
  dnsmasq.stderr!.on('data', (d) => (output += d));
  await waitFor('dnsmasq', 30_000, () => output, async () => {
    if (dnsmasq.exitCode !== null) throw new Error(`dnsmasq exited:\n${output}`);
    try {
      return dig(opts.from, host, opts.probe, 'A') === 'NOERROR' ? true : undefined;
    } catch {
      return undefined;
    }
  });
  return dnsmasq;
}
