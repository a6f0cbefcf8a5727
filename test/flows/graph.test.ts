import { describe, expect, it } from 'vitest';
import { buildGraph, p95 } from '../../src/flows/graph.js';
import { compileFilter, parseFilter } from '../../src/flows/filter.js';
import { API, DB, FRONTEND, rec, T0, WORLD } from '../common/flows.js';

const NOW = T0 + 100_000;

/**
 * frontend -> api: two connections, each seen as a flow at both ends and an
 * established outcome (6 records, 2 flows); api -> db: one connection dropped
 * by policy (flow + drop + unanswered), one forwarded; world -> api: one
 * refused; plus HTTP and DNS exchanges, and one record outside the window.
 */
const RECORDS = [
  rec(50, { source: FRONTEND(40001), destination: API(8080), direction: 'egress' }),
  rec(50, { source: FRONTEND(40001), destination: API(8080), direction: 'ingress' }),
  rec(50, { source: FRONTEND(40001), destination: API(8080), type: 'tcp', tcp: { outcome: 'established' } }),
  rec(51, { source: FRONTEND(40002), destination: API(8080), direction: 'egress' }),
  rec(51, { source: FRONTEND(40002), destination: API(8080), direction: 'ingress' }),
  rec(51, { source: FRONTEND(40002), destination: API(8080), type: 'tcp', tcp: { outcome: 'established' } }),
  rec(60, { source: API(33001), destination: DB(5432) }),
  rec(60, { source: API(33001), destination: DB(5432), type: 'drop', verdict: 'dropped', drop: { reason: 'netfilter_drop', reasonClass: 'policy' } }),
  rec(63, { source: API(33001), destination: DB(5432), type: 'tcp', verdict: 'dropped', tcp: { outcome: 'unanswered' } }),
  rec(61, { source: API(33002), destination: DB(5432) }),
  rec(70, { source: WORLD(51000), destination: API(7000), direction: 'ingress', node: 'node-b' }),
  rec(70, { source: WORLD(51000), destination: API(7000), type: 'drop', verdict: 'dropped', drop: { reason: 'no_socket', reasonClass: 'no_socket' }, node: 'node-b' }),
  rec(80, { type: 'http', source: FRONTEND(40001), destination: API(8080), http: { method: 'GET', path: '/', status: 200 } }),
  rec(81, { type: 'http', source: FRONTEND(40001), destination: API(8080), http: { method: 'GET', path: '/', status: 502 } }),
  rec(82, { type: 'http', source: FRONTEND(40001), destination: API(8080), http: { method: 'GET', path: '/', status: 404 } }),
  rec(83, { type: 'http', source: FRONTEND(40001), destination: API(8080), http: { method: 'GET', path: '/' } }),
  rec(84, { type: 'dns', protocol: 'udp', source: API(40100), destination: DB(53), dns: { qname: 'x.', qtype: 'A', rcode: 'NXDOMAIN' } }),
  rec(85, { type: 'dns', protocol: 'udp', source: API(40101), destination: DB(53), dns: { qname: 'x.', qtype: 'A', rcode: 'NOERROR' } }),
  rec(5, { source: FRONTEND(40009), destination: DB(5432) }), // 95 s ago: outside a 60 s window
];

describe('buildGraph', () => {
  const g = buildGraph(RECORDS, { windowSeconds: 60, nowMs: NOW });

  it('has the identities as nodes, sorted, with unknown sources marked', () => {
    expect(g.nodes.map((n) => [n.name, n.identity, n.reserved, n.unknownSource])).toEqual([
      ['data/db', 70003, false, false],
      ['reserved:world', 2, true, true],
      ['shop/api', 70002, false, false],
      ['shop/frontend', 70001, false, false],
    ]);
    expect(g.nodes.find((n) => n.identity === 70001)!.labels).toEqual({ app: 'frontend' });
  });

  it('counts connections, not records, per identity pair; a connection with any dropped record is dropped', () => {
    const edges = g.edges.map((e) => ({ s: e.source, d: e.destination, flows: e.flows, fwd: e.forwarded, drop: e.dropped }));
    expect(edges).toEqual([
      { s: 2, d: 70002, flows: 1, fwd: 0, drop: 1 },
      { s: 70002, d: 70003, flows: 2, fwd: 1, drop: 1 },
      { s: 70001, d: 70002, flows: 2, fwd: 2, drop: 0 },
    ]);
  });

  it('keeps drop reasons, ports and protocols per edge', () => {
    const apiDb = g.edges.find((e) => e.source === 70002 && e.destination === 70003)!;
    expect(apiDb.dropReasons).toEqual({ netfilter_drop: 1 });
    // DNS and HTTP exchanges are not connections of their own: they add no port or protocol
    expect(apiDb.ports).toEqual([5432]);
    expect(apiDb.protocols).toEqual(['tcp']);
    expect(g.edges.find((e) => e.source === 2)!.dropReasons).toEqual({ no_socket: 1 });
  });

  it('computes HTTP (5xx) and DNS (rcode not NOERROR) error ratios', () => {
    const feApi = g.edges.find((e) => e.source === 70001)!;
    expect(feApi.http).toEqual({ requests: 4, errors: 1, errorRatio: 0.25 });
    const apiDb = g.edges.find((e) => e.source === 70002)!;
    expect(apiDb.dns).toEqual({ queries: 2, errors: 1, errorRatio: 0.5 });
  });

  it("gives the HTTP exchanges' p95 latency (nearest rank) where they have latencies", () => {
    // 20 exchanges of 1..20 ms: the 19th is the 95th percentile
    const timed = Array.from({ length: 20 }, (_, i) =>
      rec(90, { type: 'http', source: FRONTEND(41000 + i), destination: API(8080), http: { method: 'GET', path: '/', status: 200, latencySeconds: (20 - i) / 1000 } }));
    const feApi = buildGraph(timed, { windowSeconds: 60, nowMs: NOW }).edges[0]!;
    expect(feApi.http).toEqual({ requests: 20, errors: 0, errorRatio: 0, p95Seconds: 0.019 });
    expect(p95([])).toBeUndefined();
    expect(p95([0.5])).toBe(0.5);
  });

  it('counts an HTTP exchange or DNS query seen at both ends once (the server side\'s latency), and keep-alive exchanges each', () => {
    const both = (second: number, sport: number, direction: 'egress' | 'ingress', status: number, ms: number) =>
      rec(second, { type: 'http', direction, source: FRONTEND(sport), destination: API(8080), http: { method: 'GET', path: '/', status, latencySeconds: ms / 1000 } });
    const dns = (direction: 'egress' | 'ingress', rcode: string) =>
      rec(90, { type: 'dns', protocol: 'udp', direction, source: API(40100), destination: DB(53), dns: { qname: 'x.', qtype: 'A', rcode } });
    const g2 = buildGraph([
      // one keep-alive connection, two exchanges, each seen by the client (egress) and the server (ingress)
      both(90, 41000, 'egress', 200, 12), both(90, 41000, 'ingress', 200, 10),
      both(91, 41000, 'egress', 503, 32), both(91, 41000, 'ingress', 503, 30),
      // another connection, seen at the client only (the server is outside)
      both(92, 41001, 'egress', 200, 50),
      dns('egress', 'NXDOMAIN'), dns('ingress', 'NXDOMAIN'),
    ], { windowSeconds: 60, nowMs: NOW });
    expect(g2.edges.find((e) => e.source === 70001)!.http).toEqual({ requests: 3, errors: 1, errorRatio: 1 / 3, p95Seconds: 0.05 });
    expect(g2.edges.find((e) => e.source === 70002)!.dns).toEqual({ queries: 1, errors: 1, errorRatio: 1 });
    // the server's side: latencies 10 and 30 ms, not the client's 12 and 32
    const oneConn = buildGraph([both(90, 41000, 'egress', 200, 12), both(90, 41000, 'ingress', 200, 10)], { windowSeconds: 60, nowMs: NOW });
    expect(oneConn.edges[0]!.http.p95Seconds).toBe(0.01);
  });

  it('gives rates over the window and the nodes reporting', () => {
    expect(g.flows).toBe(5);
    expect(g.flowsPerSecond).toBeCloseTo(5 / 60, 12);
    expect(g.edges.find((e) => e.source === 70001)!.flowsPerSecond).toBeCloseTo(2 / 60, 12);
    expect(g.reportingNodes).toEqual(['node-a', 'node-b']);
    expect(g.records).toBe(RECORDS.length - 1);
    expect(g.windowSeconds).toBe(60);
  });

  it('applies a filter before aggregating', () => {
    const dropped = buildGraph(RECORDS, { windowSeconds: 60, nowMs: NOW, match: compileFilter(parseFilter({ verdict: 'dropped' }, NOW)) });
    expect(dropped.edges.map((e) => [e.source, e.destination, e.flows, e.dropped])).toEqual([
      [2, 70002, 1, 1],
      [70002, 70003, 1, 1],
    ]);
  });

  it('a longer window takes in older records', () => {
    const g2 = buildGraph(RECORDS, { windowSeconds: 120, nowMs: NOW });
    expect(g2.edges.find((e) => e.source === 70001 && e.destination === 70003)!.flows).toBe(1);
  });

  it('window edges: from its first nanosecond to the last nanosecond of its last millisecond', () => {
    const at = (second: number, nanos: number) => rec(second, { source: FRONTEND(40000 + second), destination: API() }, nanos);
    // NOW is second 100; a 60 s window starts at second 40
    const edges = [at(39, 999_999_999), at(40, 0), at(100, 999_999), at(100, 1_000_000)];
    expect(buildGraph(edges, { windowSeconds: 60, nowMs: NOW }).records).toBe(2);
    // a window of a fraction of a millisecond starts at the next whole millisecond
    expect(buildGraph([at(99, 999_000_001), at(100, 0)], { windowSeconds: 0.0005, nowMs: NOW }).records).toBe(1);
  });
});
