import { describe, expect, it } from 'vitest';
import { buildGraph } from '../../src/flows/graph.js';
import {
  cardInfo, detailFields, EDGE_DASH, edgeLabelLines, edgeVerdict, edgeWidth, isNoiseRecord, selectionMatches, visibleGraph,
} from '../../src/ui/model.js';
import { landscapeRecords, NOISE_RECORDS, WORKLOADS } from '../common/ui-landscape.js';

/** The UI's model (src/ui/model.js, served to the browser as it is) on the landscape the browser tests use. */

const NOW = Date.UTC(2026, 0, 1, 12);
const records = landscapeRecords(NOW);
const graph = buildGraph(records, { windowSeconds: 60, nowMs: NOW });
const byId = new Map(graph.nodes.map((n) => [n.identity, n]));
const edge = (s: number, d: number) => graph.edges.find((e) => e.source === s && e.destination === d)!;
const { cart, checkout, coredns, frontend, ingress, ledger, redis } = WORKLOADS;

describe('noise', () => {
  it('is a record neither end of which is a workload', () => {
    expect(records.filter(isNoiseRecord)).toHaveLength(NOISE_RECORDS);
    expect(records.filter(isNoiseRecord).map((r) => `${r.source.identityName}>${r.destination.identityName}`).sort())
      .toEqual(['reserved:unknown>reserved:unknown', 'reserved:unknown>reserved:unknown', 'reserved:world>reserved:world', 'reserved:world>reserved:world', 'reserved:world>reserved:world']);
  });

  it('hides the noise edges and the nodes only they touch; shown, everything is there', () => {
    const hidden = visibleGraph(graph, false);
    expect(hidden.hiddenEdges).toBe(2);
    expect(hidden.edges).toHaveLength(graph.edges.length - 2);
    expect(hidden.nodes.map((n) => n.name)).not.toContain('reserved:unknown');
    // world stays: it reaches workloads
    expect(hidden.nodes.map((n) => n.name)).toContain('reserved:world');
    expect(visibleGraph(graph, true)).toEqual({ nodes: graph.nodes, edges: graph.edges, hiddenEdges: 0 });
  });
});

describe('edges', () => {
  it('verdict and its dash: none forwarded, one dash dropped, another for both', () => {
    expect(edgeVerdict(edge(frontend.identity, cart.identity))).toBe('forwarded');
    expect(edgeVerdict(edge(checkout.identity, ledger.identity))).toBe('dropped');
    expect(edgeVerdict(edge(cart.identity, redis.identity))).toBe('both');
    expect(EDGE_DASH).toEqual({ forwarded: null, dropped: '7 4', both: '12 3 3 3' });
  });

  it('width grows with the rate, from 1.5 to 5 px', () => {
    expect([edgeWidth(0, 0), edgeWidth(0, 2), edgeWidth(0.5, 2), edgeWidth(2, 2), edgeWidth(4, 2)]).toEqual([1.5, 1.5, 3.25, 5, 5]);
  });

  it('labels: flows/s and drops; HTTP req/s, error share, p95; DNS queries and errors', () => {
    expect(edgeLabelLines(edge(frontend.identity, cart.identity), 60)).toEqual(['0.08 flows/s', 'HTTP 0.2 req/s · 20% errors', 'HTTP p95 50 ms']);
    expect(edgeLabelLines(edge(cart.identity, redis.identity), 60)).toEqual(['0.08 flows/s · 2 dropped']);
    expect(edgeLabelLines(edge(cart.identity, coredns.identity), 60)).toEqual(['0.05 flows/s', 'DNS 3 queries · 1 errors']);
  });
});

describe('cards', () => {
  it('say the ports and protocols reached on, and whether an outside source reached the workload (over the edges shown)', () => {
    const { edges } = visibleGraph(graph, false);
    expect(cardInfo(byId.get(redis.identity)!, edges, byId)).toEqual({ title: 'redis', subtitle: 'namespace data', reached: '6379 tcp', fromOutside: false });
    expect(cardInfo(byId.get(ingress.identity)!, edges, byId)).toEqual({ title: 'ingress', subtitle: 'namespace platform', reached: '443 tcp', fromOutside: true });
    expect(cardInfo(byId.get(2)!, edges, byId)).toEqual({ title: 'reserved:world', subtitle: 'outside source', reached: '', fromOutside: false });
  });
});

describe('selection and details', () => {
  it('a card selects the records from or to it, an edge those from its source to its destination', () => {
    const fromTo = records.filter((r) => selectionMatches(r, { kind: 'node', identity: ledger.identity }));
    expect(fromTo.length).toBeGreaterThan(0);
    expect(fromTo.every((r) => r.source.identity === ledger.identity || r.destination.identity === ledger.identity)).toBe(true);
    const pair = records.filter((r) => selectionMatches(r, { kind: 'edge', source: checkout.identity, destination: ledger.identity }));
    expect(pair.map((r) => r.type).sort()).toEqual(['drop', 'drop', 'tcp', 'tcp']);
    expect(records.filter((r) => selectionMatches(r, null))).toHaveLength(records.length);
  });

  it('the detail pane lists every field a record has, and none it lacks', () => {
    const http = records.find((r) => r.type === 'http')!;
    const fields = new Map(detailFields(http));
    expect([fields.get('HTTP method'), fields.get('HTTP path'), fields.get('HTTP status'), fields.get('HTTP latency')]).toEqual(['POST', '/items/0', '200', '5.0 ms']);
    expect(fields.has('drop reason')).toBe(false);
    expect(fields.has('DNS query')).toBe(false);
  });
});
