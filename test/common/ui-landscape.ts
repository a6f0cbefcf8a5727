// A landscape for the UI's browser tests and benchmark: records made here,
// served by the real server (buildServer with a FlowStore), no kernel. Nine
// workloads in four namespaces, world reaching in (once allowed, once
// dropped by policy), HTTP with latencies and errors, DNS with NXDOMAIN, a
// dropped-only and a mixed edge, and host-internal noise that the UI hides.

import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildServer } from '../../src/server/app.js';
import { FlowStore } from '../../src/flows/store.js';
import type { FlowEndpoint, FlowRecord } from '../../src/flows/record.js';
import type { ApiProtection } from '../../src/server/protect.js';
import { end } from './flows.js';

export interface Workload {
  identity: number;
  namespace: string;
  workload: string;
  ip: string;
}

const W = (identity: number, namespace: string, workload: string, ip: string): Workload => ({ identity, namespace, workload, ip });

export const WORKLOADS = {
  frontend: W(10001, 'shop', 'frontend', '10.181.1.10'),
  cart: W(10002, 'shop', 'cart', '10.181.1.11'),
  checkout: W(10003, 'shop', 'checkout', '10.181.1.12'),
  api: W(10004, 'payments', 'api', '10.181.2.10'),
  ledger: W(10005, 'payments', 'ledger', '10.181.2.11'),
  postgres: W(10006, 'data', 'postgres', '10.181.3.10'),
  redis: W(10007, 'data', 'redis', '10.181.3.11'),
  coredns: W(10008, 'platform', 'coredns', '10.181.4.10'),
  ingress: W(10009, 'platform', 'ingress', '10.181.4.11'),
} as const;

export const WORLD_ID = 2;
export const UNKNOWN_ID = 0;

const at = (w: Workload, port: number): FlowEndpoint => end(w.identity, w.namespace, w.workload, w.ip, port, { labels: { app: w.workload } });
const world = (ip: string, port: number) => end(WORLD_ID, '', 'reserved:world', ip, port);
const unknown = (ip: string, port: number) => end(UNKNOWN_ID, '', 'reserved:unknown', ip, port);

/** Builds records whose times are spread over the `spanSeconds` before `nowMs` (nanosecond text, as the exporter writes). */
class Recorder {
  readonly records: FlowRecord[] = [];
  private n = 0;
  private sport = 40000;
  constructor(private readonly nowMs: number, private readonly spanSeconds: number) {}

  private time(): string {
    // spread evenly, newest last, all inside the window
    const ms = this.nowMs - this.spanSeconds * 1000 + 500 + ((this.n++ * 37_003) % ((this.spanSeconds - 1) * 1000));
    return new Date(ms).toISOString().replace('Z', '000000Z');
  }

  add(r: Omit<FlowRecord, 'seq' | 'time' | 'node' | 'ifindex' | 'ipVersion' | 'direction'> & Partial<FlowRecord>): void {
    this.records.push({ seq: 0, time: this.time(), node: 'node-a', ifindex: 7, ipVersion: 4, direction: 'egress', ...r });
  }

  nextPort(): number {
    return this.sport++;
  }

  /** `n` TCP connections: a new flow and its outcome each; `refused` of them refused (a drop and a refused outcome). */
  tcp(src: FlowEndpoint, dst: FlowEndpoint, n: number, refused = 0): void {
    for (let i = 0; i < n; i++) {
      const s = { ...src, port: this.nextPort() };
      const bad = i < refused;
      this.add({ type: 'flow', verdict: 'forwarded', protocol: 'tcp', source: s, destination: dst, tcpFlags: ['SYN'], summary: 'new flow, TCP flags SYN' });
      if (bad) {
        this.add({ type: 'drop', verdict: 'dropped', protocol: 'tcp', source: s, destination: dst, drop: { reason: 'no_socket', reasonClass: 'no_socket' }, summary: 'dropped by the kernel: no_socket' });
      }
      this.add({
        type: 'tcp', verdict: bad ? 'dropped' : 'forwarded', protocol: 'tcp', source: s, destination: dst,
        tcp: { outcome: bad ? 'refused' : 'established' }, summary: bad ? 'TCP connection refused' : 'TCP connection established',
      });
    }
  }

  /** `n` connections dropped by a policy: the drop and the unanswered outcome. */
  policyDrops(src: FlowEndpoint, dst: FlowEndpoint, n: number): void {
    for (let i = 0; i < n; i++) {
      const s = { ...src, port: this.nextPort() };
      this.add({
        type: 'drop', verdict: 'dropped', protocol: 'tcp', source: s, destination: dst,
        drop: { reason: 'netfilter_drop', reasonClass: 'policy' },
        policy: {
          verdict: 'denied',
          explanation: `ingress to ${dst.namespace}/${dst.workload} denied: selected by ${dst.namespace}/default-deny, no rule allows ${src.workload || src.identityName}`,
          egress: { direction: 'egress', pod: null, policies: [], allowedBy: [], verdict: 'not-selected' },
          ingress: { direction: 'ingress', pod: { namespace: dst.namespace, name: `${dst.workload}-0` }, policies: [{ namespace: dst.namespace, name: 'default-deny', defaultDeny: true }], allowedBy: [], verdict: 'denied' },
        },
        summary: `dropped by the kernel: netfilter_drop; ingress to ${dst.namespace}/${dst.workload} denied by ${dst.namespace}/default-deny`,
      });
      this.add({ type: 'tcp', verdict: 'dropped', protocol: 'tcp', source: s, destination: dst, tcp: { outcome: 'unanswered' }, summary: 'TCP connection attempt unanswered' });
    }
  }

  /** `n` UDP flows (one record each: UDP has no outcome). */
  udp(src: FlowEndpoint, dst: FlowEndpoint, n: number): void {
    for (let i = 0; i < n; i++) {
      this.add({ type: 'flow', verdict: 'forwarded', protocol: 'udp', source: { ...src, port: this.nextPort() }, destination: dst, summary: 'new flow' });
    }
  }

  /** HTTP exchanges with the given statuses, latencies 5 ms, 10 ms, ... */
  http(src: FlowEndpoint, dst: FlowEndpoint, statuses: number[]): void {
    statuses.forEach((status, i) => {
      const latencySeconds = (i + 1) * 0.005;
      this.add({
        type: 'http', verdict: 'forwarded', protocol: 'tcp', source: { ...src, port: this.nextPort() }, destination: dst,
        http: { method: i % 3 === 0 ? 'POST' : 'GET', path: `/items/${i}`, status, latencySeconds },
        summary: `HTTP GET /items/${i} -> ${status} in ${(latencySeconds * 1000).toFixed(1)} ms`,
      });
    });
  }

  dns(src: FlowEndpoint, dst: FlowEndpoint, rcodes: string[]): void {
    rcodes.forEach((rcode, i) => {
      this.add({
        type: 'dns', verdict: 'forwarded', protocol: 'udp', source: { ...src, port: this.nextPort() }, destination: dst,
        dns: { qname: `svc-${i}.example.`, qtype: 'A', rcode, latencySeconds: 0.002 },
        summary: `DNS A svc-${i}.example. -> ${rcode} in 2.0 ms`,
      });
    });
  }
}

/** The landscape's records, all within the minute before `nowMs`. */
export function landscapeRecords(nowMs: number): FlowRecord[] {
  const w = WORKLOADS;
  const rec = new Recorder(nowMs, 55);
  rec.tcp(world('203.0.113.7', 0), at(w.ingress, 443), 4);
  rec.policyDrops(world('198.51.100.9', 0), at(w.api, 8443), 2);
  rec.tcp(at(w.ingress, 0), at(w.frontend, 8080), 6);
  rec.http(at(w.ingress, 0), at(w.frontend, 8080), [200, 200, 200, 200, 200, 200, 304, 200]);
  rec.tcp(at(w.frontend, 0), at(w.cart, 8080), 5);
  rec.http(at(w.frontend, 0), at(w.cart, 8080), [200, 200, 503, 200, 200, 500, 200, 200, 200, 200]);
  rec.tcp(at(w.frontend, 0), at(w.checkout, 8080), 3);
  rec.tcp(at(w.checkout, 0), at(w.api, 8443), 3);
  rec.policyDrops(at(w.checkout, 0), at(w.ledger, 9000), 2);
  rec.tcp(at(w.api, 0), at(w.ledger, 9000), 4);
  rec.tcp(at(w.cart, 0), at(w.redis, 6379), 5, 2);
  rec.tcp(at(w.api, 0), at(w.postgres, 5432), 3);
  rec.tcp(at(w.ledger, 0), at(w.postgres, 5432), 2);
  for (const client of [w.frontend, w.cart, w.checkout, w.api]) {
    rec.udp(at(client, 0), at(w.coredns, 53), 3);
    rec.dns(at(client, 0), at(w.coredns, 53), ['NOERROR', 'NOERROR', 'NXDOMAIN']);
  }
  // host-internal noise: drops between reserved identities on the host itself
  for (let i = 0; i < NOISE_DROPS; i++) {
    rec.add({
      type: 'drop', verdict: 'dropped', protocol: 'tcp', source: world('127.0.0.1', 45000 + i), destination: world('127.0.0.1', 6443),
      drop: { reason: 'no_socket', reasonClass: 'no_socket' }, summary: 'dropped by the kernel: no_socket',
    });
  }
  for (let i = 0; i < NOISE_SELF; i++) {
    rec.add({
      type: 'flow', verdict: 'forwarded', protocol: 'udp', source: unknown('169.254.0.1', 5000 + i), destination: unknown('169.254.0.1', 5353),
      summary: 'new flow',
    });
  }
  return rec.records;
}

const NOISE_DROPS = 3;
const NOISE_SELF = 2;
/** Records neither end of which is a workload. */
export const NOISE_RECORDS = NOISE_DROPS + NOISE_SELF;

/** The real server over a store holding `records`, listening on 127.0.0.1 (an ephemeral port unless given). */
export async function serveRecords(
  records: FlowRecord[],
  nowMs: number,
  opts: { protection?: ApiProtection; capacity?: number; port?: number } = {},
): Promise<{ app: FastifyInstance; store: FlowStore; base: string }> {
  const store = new FlowStore(Math.max(opts.capacity ?? 0, records.length, 100));
  for (const r of records) store.push(r);
  const app = buildServer({
    registry: new Registry(),
    ready: () => ({ ready: true, reasons: [] }),
    flows: { store, version: 'test', now: () => nowMs, protection: opts.protection ?? { requestsPerSecond: 0 } },
  });
  await app.listen({ host: '127.0.0.1', port: opts.port ?? 0 });
  const { port } = app.server.address() as { port: number };
  return { app, store, base: `http://127.0.0.1:${port}` };
}
