import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

/**
 * Test hosts on one machine: network namespaces joined to a bridge in the root
 * namespace by veth pairs. The host side of each veth stays in the root
 * namespace, where the exporter watches and attaches, as it would on a node
 * where the CNI puts pod veths. Everything made here is removed by cleanup().
 */

export function sh(cmd: string, args: string[], opts: { input?: string } = {}): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input: opts.input, stdio: ['pipe', 'pipe', 'pipe'] });
}

export function ip(...args: string[]): string {
  return sh('ip', args);
}

export function inNs(ns: string, cmd: string, args: string[]): string {
  return sh('ip', ['netns', 'exec', ns, cmd, ...args]);
}

export interface TestHost {
  ns: string;
  hostIf: string; // veth end in the root namespace
  address: string; // the namespace's address: IPv4, or IPv6 on a network made with family 6
}

/** A short random tag that keeps interface names under 15 characters and unique per run. */
export function runTag(): string {
  return Math.random().toString(36).slice(2, 7);
}

export class TestNetwork {
  readonly bridge: string;
  private readonly namespaces: string[] = [];
  private readonly links: string[] = [];
  private readonly children: ChildProcess[] = [];

  /**
   * prefix: interface name prefix of this run's host-side veths (the exporter's pattern is `${prefix}*`).
   * subnet: the first three octets of IPv4 /24 (family 4), or the first 64 bits of an IPv6 /64 (family 6, e.g. 'fd00:218:0:0').
   */
  constructor(
    readonly prefix: string,
    readonly subnet = '10.213.0',
    readonly family: 4 | 6 = 4,
  ) {
    // not `${prefix}...`: the bridge must not match the exporter's pattern
    this.bridge = `br${prefix}`.slice(0, 15);
    ip('link', 'add', this.bridge, 'type', 'bridge');
    this.links.push(this.bridge);
    disableIpv6(this.bridge);
    ip('link', 'set', this.bridge, 'up');
  }

  /** Adds a namespace `name` with address subnet.hostNumber/24 (or subnet::hostNumber/64) on a veth whose host side joins the bridge. */
  addHost(name: string, hostNumber: number): TestHost {
    const ns = `${this.prefix}-${name}`;
    const hostIf = `${this.prefix}${name}`.slice(0, 15);
    const peer = `${this.prefix}p${hostNumber}`.slice(0, 15);
    ip('netns', 'add', ns);
    this.namespaces.push(ns);
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', peer);
    this.links.push(hostIf);
    disableIpv6(hostIf);
    ip('link', 'set', peer, 'netns', ns);
    let address: string;
    if (this.family === 4) {
      inNs(ns, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      address = `${this.subnet}.${hostNumber}`;
      inNs(ns, 'ip', ['addr', 'add', `${address}/24`, 'dev', peer]);
    } else {
      // no duplicate address detection: the address is usable at once, and the test chose it unique
      inNs(ns, 'sysctl', ['-qw', `net.ipv6.conf.${peer}.disable_ipv6=0`, `net.ipv6.conf.${peer}.accept_dad=0`]);
      address = `${this.subnet}::${hostNumber.toString(16)}`;
      inNs(ns, 'ip', ['-6', 'addr', 'add', `${address}/64`, 'dev', peer, 'nodad']);
    }
    inNs(ns, 'ip', ['link', 'set', 'lo', 'up']);
    inNs(ns, 'ip', ['link', 'set', peer, 'up']);
    ip('link', 'set', hostIf, 'master', this.bridge);
    ip('link', 'set', hostIf, 'up');
    return { ns, hostIf, address };
  }

  /** Starts a long-running process inside a namespace; it is killed by cleanup(). */
  spawnIn(ns: string, cmd: string, args: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(child);
    return child;
  }

  cleanup(): void {
    for (const child of this.children) {
      if (child.exitCode === null && child.pid) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    for (const link of this.links) {
      try {
        ip('link', 'del', link);
      } catch {
        // deleted with its namespace peer already
      }
    }
    for (const ns of this.namespaces) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
  }
}

/** No IPv6 on test links: router solicitations and MLD reports would add traffic the test did not send. */
function disableIpv6(ifname: string): void {
  sh('sysctl', ['-qw', `net.ipv6.conf.${ifname}.disable_ipv6=1`]);
}

/** IPv4 counters of a namespace's stack, from /proc/net/snmp and netstat (IpExt). */
export function ipCounters(ns: string): { outRequests: number; inReceives: number; outOctets: number; inOctets: number } {
  const snmp = parseProcTable(inNs(ns, 'cat', ['/proc/net/snmp']), 'Ip');
  const ext = parseProcTable(inNs(ns, 'cat', ['/proc/net/netstat']), 'IpExt');
  return {
    outRequests: snmp.OutRequests ?? NaN,
    inReceives: snmp.InReceives ?? NaN,
    outOctets: ext.OutOctets ?? NaN,
    inOctets: ext.InOctets ?? NaN,
  };
}

function parseProcTable(text: string, prefix: string): Record<string, number> {
  const lines = text.split('\n').filter((l) => l.startsWith(prefix + ':'));
  const [header, values] = lines;
  if (!header || !values) throw new Error(`no ${prefix} table`);
  const names = header.split(/\s+/).slice(1);
  const nums = values.split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(names.map((n, i) => [n, nums[i] ?? NaN]));
}
