// The service map: identities as nodes, identity pairs as edges, over the
// records of a time window. An edge counts connections, not records: one
// connection is seen by several records (the new flow at each end's interface,
// its TCP outcome, a drop), so records are grouped by their 5-tuple, and a
// connection any of whose records was dropped counts as dropped.

import { endpointName, formatTimeNs, type FlowEndpoint, type FlowRecord } from './record.js';

export interface GraphNode {
  /** The identity number. */
  identity: number;
  identityName: string;
  /** namespace/workload, or the reserved name. */
  name: string;
  namespace: string;
  workload: string;
  labels: Readonly<Record<string, string>>;
  /** A reserved identity (reserved:world, reserved:host, ...). */
  reserved: boolean;
  /** world or unmanaged: traffic from an address no identity source knows. */
  unknownSource: boolean;
}

export interface GraphEdge {
  source: number;
  destination: number;
  /** Distinct connections (5-tuples) in the window. */
  flows: number;
  flowsPerSecond: number;
  forwarded: number;
  dropped: number;
  /** Dropped records by kernel drop reason. */
  dropReasons: Record<string, number>;
  /** Destination ports seen, ascending (at most 20). */
  ports: number[];
  protocols: string[];
  /** p95Seconds: the 95th percentile (nearest rank) of the exchanges' latencies; absent when none had one. */
  http: { requests: number; errors: number; errorRatio: number; p95Seconds?: number };
  dns: { queries: number; errors: number; errorRatio: number };
}

export interface ServiceGraph {
  windowSeconds: number;
  /** RFC 3339 bounds of the window. */
  from: string;
  to: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Records in the window that the filter accepted. */
  records: number;
  flows: number;
  flowsPerSecond: number;
  /** Nodes (hosts) whose records are in the window. */
  reportingNodes: string[];
}

const MAX_EDGE_PORTS = 20;
const WORLD = 2;
const UNMANAGED = 3;

function node(e: FlowEndpoint): GraphNode {
  const reserved = e.identityName.startsWith('reserved:');
  return {
    identity: e.identity,
    identityName: e.identityName,
    name: endpointName(e),
    namespace: e.namespace,
    workload: e.workload,
    labels: e.labels,
    reserved,
    unknownSource: e.identity === WORLD || e.identity === UNMANAGED,
  };
}

interface EdgeState {
  edge: GraphEdge;
  /** connection key -> dropped? */
  connections: Map<string, boolean>;
  ports: Set<number>;
  protocols: Set<string>;
  /**
   * HTTP exchanges and DNS queries by connection, then by the side that saw
   * them (the client's interface, egress; the server's, ingress): between two
   * local workloads each is seen at both, and counts once.
   */
  exchanges: Map<string, Map<string, SideCounts>>;
}

/** What one side of one connection saw: requests or queries, errors, HTTP latencies. */
interface SideCounts {
  http: number;
  httpErrors: number;
  latencies: number[];
  dns: number;
  dnsErrors: number;
}

/**
 * Of each connection's sides, the one that saw more (the server's on a tie:
 * its latency is the service's own), summed over the connections.
 */
function countExchanges(exchanges: Map<string, Map<string, SideCounts>>, edge: GraphEdge): number[] {
  const latencies: number[] = [];
  const most = (sides: Map<string, SideCounts>, n: (c: SideCounts) => number) => {
    let best: SideCounts | undefined;
    for (const [side, c] of sides) {
      if (!best || n(c) > n(best) || (n(c) === n(best) && side === 'ingress')) best = c;
    }
    return best!;
  };
  for (const sides of exchanges.values()) {
    const h = most(sides, (c) => c.http);
    edge.http.requests += h.http;
    edge.http.errors += h.httpErrors;
    latencies.push(...h.latencies);
    const d = most(sides, (c) => c.dns);
    edge.dns.queries += d.dns;
    edge.dns.errors += d.dnsErrors;
  }
  return latencies;
}

/** The nearest-rank 95th percentile of `values` (sorted here); undefined for none. */
export function p95(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  values.sort((a, b) => a - b);
  return values[Math.ceil(values.length * 0.95) - 1];
}

function connectionKey(r: FlowRecord): string {
  if (r.source.ip === '' || r.destination.ip === '') return `#${r.node}/${r.seq}`;
  return `${r.protocol} ${r.source.ip} ${r.source.port} ${r.destination.ip} ${r.destination.port}`;
}

const ratio = (part: number, whole: number) => (whole === 0 ? 0 : part / whole);

/**
 * Aggregates records one at a time (add), so a caller can feed it in chunks
 * and give the event loop a turn between them (src/flows/scan.ts); result(),
 * called once after the last add, gives the graph of everything added. Records outside [nowMs - windowSeconds,
 * nowMs] or that `match` refuses are left out.
 */
export class GraphBuilder {
  private readonly fromMs: number;
  /** The window's bounds as record times: fixed-width RFC 3339 text compares like the times, without parsing each. */
  private readonly fromText: string;
  private readonly toText: string;
  private readonly nodes = new Map<number, GraphNode>();
  /** source identity -> destination identity -> edge */
  private readonly edges = new Map<number, Map<number, EdgeState>>();
  private readonly reporting = new Set<string>();
  private count = 0;

  constructor(private readonly opts: { windowSeconds: number; nowMs: number; match?: (r: FlowRecord) => boolean }) {
    this.fromMs = opts.nowMs - opts.windowSeconds * 1000;
    this.fromText = formatTimeNs(BigInt(Math.ceil(this.fromMs)) * 1_000_000n);
    // a record time within nowMs's millisecond is not after it (times were compared in milliseconds)
    this.toText = formatTimeNs(BigInt(Math.floor(opts.nowMs)) * 1_000_000n + 999_999n);
  }

  add(r: FlowRecord): void {
    const { nodes } = this;
    if (!(r.time >= this.fromText && r.time <= this.toText)) return;
    if (this.opts.match && !this.opts.match(r)) return;
    this.count++;
    this.reporting.add(r.node);
    if (!nodes.has(r.source.identity)) nodes.set(r.source.identity, node(r.source));
    if (!nodes.has(r.destination.identity)) nodes.set(r.destination.identity, node(r.destination));
    let from = this.edges.get(r.source.identity);
    if (!from) this.edges.set(r.source.identity, (from = new Map()));
    let state = from.get(r.destination.identity);
    if (!state) {
      state = {
        edge: {
          source: r.source.identity,
          destination: r.destination.identity,
          flows: 0, flowsPerSecond: 0, forwarded: 0, dropped: 0,
          dropReasons: {}, ports: [], protocols: [],
          http: { requests: 0, errors: 0, errorRatio: 0 },
          dns: { queries: 0, errors: 0, errorRatio: 0 },
        },
        connections: new Map(),
        ports: new Set(),
        protocols: new Set(),
        exchanges: new Map(),
      };
      from.set(r.destination.identity, state);
    }
    const { edge } = state;
    const key = connectionKey(r);
    if ((r.type === 'http' && r.http) || (r.type === 'dns' && r.dns)) {
      let sides = state.exchanges.get(key);
      if (!sides) state.exchanges.set(key, (sides = new Map()));
      let c = sides.get(r.direction);
      if (!c) sides.set(r.direction, (c = { http: 0, httpErrors: 0, latencies: [], dns: 0, dnsErrors: 0 }));
      if (r.http) {
        c.http++;
        if (r.http.status !== undefined && r.http.status >= 500) c.httpErrors++;
        if (r.http.latencySeconds !== undefined) c.latencies.push(r.http.latencySeconds);
      } else if (r.dns) {
        c.dns++;
        if (r.dns.rcode !== undefined && r.dns.rcode !== 'NOERROR') c.dnsErrors++;
      }
      return;
    }
    const dropped = r.verdict === 'dropped';
    // written only when new or newly dropped: most records repeat what is there
    const known = state.connections.get(key);
    if (known === undefined || (dropped && !known)) state.connections.set(key, dropped);
    if (r.drop) edge.dropReasons[r.drop.reason] = (edge.dropReasons[r.drop.reason] ?? 0) + 1;
    if (r.destination.port !== 0) state.ports.add(r.destination.port);
    if (r.protocol !== 'unknown') state.protocols.add(r.protocol);
  }

  /** The graph; nodes and edges sorted (by name; by source then destination name), so equal inputs give equal output. */
  result(): ServiceGraph {
    const { windowSeconds, nowMs } = this.opts;
    const { nodes } = this;
    let flows = 0;
    const name = (id: number) => nodes.get(id)!.name;
    const edgeList = [...this.edges.values()].flatMap((to) => [...to.values()]).map(({ edge, connections, ports, protocols, exchanges }) => {
      for (const dropped of connections.values()) {
        if (dropped) edge.dropped++;
        else edge.forwarded++;
      }
      edge.flows = connections.size;
      edge.flowsPerSecond = ratio(edge.flows, windowSeconds);
      edge.ports = [...ports].sort((a, b) => a - b).slice(0, MAX_EDGE_PORTS);
      edge.protocols = [...protocols].sort();
      const latency = p95(countExchanges(exchanges, edge));
      edge.http.errorRatio = ratio(edge.http.errors, edge.http.requests);
      if (latency !== undefined) edge.http.p95Seconds = latency;
      edge.dns.errorRatio = ratio(edge.dns.errors, edge.dns.queries);
      flows += edge.flows;
      return edge;
    });
    edgeList.sort((a, b) => name(a.source).localeCompare(name(b.source)) || name(a.destination).localeCompare(name(b.destination)));
    return {
      windowSeconds,
      from: new Date(this.fromMs).toISOString(),
      to: new Date(nowMs).toISOString(),
      nodes: [...nodes.values()].sort((a, b) => a.name.localeCompare(b.name) || a.identity - b.identity),
      edges: edgeList,
      records: this.count,
      flows,
      flowsPerSecond: ratio(flows, windowSeconds),
      reportingNodes: [...this.reporting].sort(),
    };
  }
}

/** The graph of `records` (any order) in one go: GraphBuilder over all of them. */
export function buildGraph(
  records: Iterable<FlowRecord>,
  opts: { windowSeconds: number; nowMs: number; match?: (r: FlowRecord) => boolean },
): ServiceGraph {
  const builder = new GraphBuilder(opts);
  for (const r of records) builder.add(r);
  return builder.result();
}
