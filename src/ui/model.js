// What the UI shows, as plain functions of the API's data (GET /api/graph and
// the records of GET /api/flows): which records are noise, how an edge is
// drawn and labelled, what a card says, which rows a click selects. No DOM
// here, so the unit tests import this file in Node as it is served.

/** Identity numbers of the world and unmanaged reserved identities (src/flows/graph.ts). */
const OUTSIDE_IDENTITIES = new Set([2, 3]);

/** A record end that is a workload: a name from an identity source, not a reserved identity. */
export function isWorkloadEnd(e) {
  return e.workload !== '' && !e.identityName.startsWith('reserved:');
}

/** A graph node that is a workload (same rule as isWorkloadEnd). */
export function isWorkloadNode(n) {
  return n.workload !== '' && !n.reserved;
}

/**
 * Noise: a record neither end of which is a workload (drops between reserved
 * identities on the host itself, a reserved:unknown self-loop). The UI hides
 * these by default; the API and `observe` always show them.
 */
export function isNoiseRecord(r) {
  return !isWorkloadEnd(r.source) && !isWorkloadEnd(r.destination);
}

/** An edge neither end of which is a workload node. */
export function isNoiseEdge(edge, nodesById) {
  const a = nodesById.get(edge.source);
  const b = nodesById.get(edge.destination);
  return !(a && isWorkloadNode(a)) && !(b && isWorkloadNode(b));
}

/**
 * The graph as the map draws it: without noise edges (unless shown), and
 * without the nodes only those edges touched. Returns the hidden edges' count.
 */
export function visibleGraph(graph, showNoise) {
  const nodesById = new Map(graph.nodes.map((n) => [n.identity, n]));
  if (showNoise) return { nodes: graph.nodes, edges: graph.edges, hiddenEdges: 0 };
  const edges = graph.edges.filter((e) => !isNoiseEdge(e, nodesById));
  const used = new Set();
  for (const e of edges) {
    used.add(e.source);
    used.add(e.destination);
  }
  // a workload with no visible edge (all its records filtered) still gets its card
  const nodes = graph.nodes.filter((n) => used.has(n.identity) || isWorkloadNode(n));
  return { nodes, edges, hiddenEdges: graph.edges.length - edges.length };
}

/** forwarded, dropped or both: the connections' verdicts on an edge. */
export function edgeVerdict(e) {
  if (e.dropped === 0) return 'forwarded';
  return e.forwarded === 0 ? 'dropped' : 'both';
}

/** The dash of an edge's line by verdict: the cue besides colour (none for forwarded). */
export const EDGE_DASH = { forwarded: null, dropped: '7 4', both: '12 3 3 3' };

/** Line width by rate: 1.5 px for the slowest edge, 5 px for the busiest (square root, so small rates still show). */
export function edgeWidth(rate, maxRate) {
  if (!(maxRate > 0)) return 1.5;
  return 1.5 + 3.5 * Math.sqrt(Math.min(rate, maxRate) / maxRate);
}

/** A rate as people read it: 0.05, 1.3, 42. */
export function formatRate(x) {
  if (x === 0) return '0';
  if (x < 0.1) return x.toFixed(2);
  if (x < 10) return x.toFixed(1);
  return x.toFixed(0);
}

export function formatPercent(ratio) {
  const p = ratio * 100;
  return `${p < 10 && p !== 0 ? p.toFixed(1) : p.toFixed(0)}%`;
}

export function formatSeconds(s) {
  if (s < 1) return `${(s * 1000).toFixed(s < 0.01 ? 1 : 0)} ms`;
  return `${s.toFixed(2)} s`;
}

/**
 * The lines of an edge's label: flows/s and drops, then HTTP requests/s, error
 * share and p95 where HTTP was seen, then DNS errors where DNS was seen.
 */
export function edgeLabelLines(e, windowSeconds) {
  const lines = [`${formatRate(e.flowsPerSecond)} flows/s` + (e.dropped > 0 ? ` · ${e.dropped} dropped` : '')];
  if (e.http.requests > 0) {
    const rps = formatRate(e.http.requests / windowSeconds);
    lines.push(`HTTP ${rps} req/s · ${formatPercent(e.http.errorRatio)} errors`);
    if (e.http.p95Seconds !== undefined) lines.push(`HTTP p95 ${formatSeconds(e.http.p95Seconds)}`);
  }
  if (e.dns.queries > 0) lines.push(`DNS ${e.dns.queries} queries · ${e.dns.errors} errors`);
  return lines;
}

/** The group a node's card sits in: its namespace, or "outside" for reserved identities and unnamed peers. */
export const OUTSIDE_GROUP = 'outside the cluster';
export function groupOf(n) {
  return n.namespace || OUTSIDE_GROUP;
}

/**
 * What a card says: the workload's name, its namespace (or what it is), the
 * ports and protocols it was reached on, and whether a world or unmanaged
 * source reached it.
 */
export function cardInfo(n, edges, nodesById) {
  const ports = new Set();
  const protocols = new Set();
  let fromOutside = false;
  for (const e of edges) {
    if (e.destination !== n.identity) continue;
    for (const p of e.ports) ports.add(p);
    for (const p of e.protocols) protocols.add(p);
    const src = nodesById.get(e.source);
    if (src && src.unknownSource) fromOutside = true;
    if (OUTSIDE_IDENTITIES.has(e.source)) fromOutside = true;
  }
  const title = n.workload && !n.reserved ? n.workload : n.name;
  const subtitle = n.reserved ? (n.unknownSource ? 'outside source' : 'reserved identity') : n.namespace ? `namespace ${n.namespace}` : `identity ${n.identityName}`;
  const portList = [...ports].sort((a, b) => a - b);
  const reached = portList.length === 0 && protocols.size === 0 ? '' : `${portList.join(', ')}${portList.length ? ' ' : ''}${[...protocols].sort().join('/')}`.trim();
  return { title, subtitle, reached, fromOutside };
}

/** The row filter a click on the map sets: a card (either end) or an edge (from -> to). */
export function selectionMatches(r, selection) {
  if (!selection) return true;
  if (selection.kind === 'node') return r.source.identity === selection.identity || r.destination.identity === selection.identity;
  return r.source.identity === selection.source && r.destination.identity === selection.destination;
}

export function endName(e) {
  if (e.namespace && e.workload) return `${e.namespace}/${e.workload}`;
  return e.workload || e.identityName;
}

/** Every field of a record for the detail pane, as [label, text] pairs; fields a record lacks are left out. */
export function detailFields(r) {
  const out = [];
  const add = (label, value) => {
    if (value !== undefined && value !== null && value !== '') out.push([label, String(value)]);
  };
  const end = (prefix, e) => {
    add(prefix, endName(e));
    add(`${prefix} identity`, `${e.identity} (${e.identityName})`);
    add(`${prefix} address`, e.ip ? (e.port ? `${e.ip}:${e.port}` : e.ip) : '');
    add(`${prefix} pod`, e.pod);
    const labels = Object.entries(e.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(', ');
    add(`${prefix} labels`, labels);
  };
  add('time', r.time);
  add('node', r.node);
  add('type', r.type);
  add('verdict', r.verdict);
  add('direction', r.direction);
  add('protocol', r.ipVersion ? `${r.protocol} (IPv${r.ipVersion})` : r.protocol);
  end('source', r.source);
  end('destination', r.destination);
  add('interface', r.ifindex || '');
  if (r.tcpFlags) add('TCP flags', r.tcpFlags.join(', ') || 'none');
  if (r.tcp) add('TCP outcome', r.tcp.outcome);
  if (r.drop) {
    add('drop reason', r.drop.reason);
    add('drop class', r.drop.reasonClass);
  }
  if (r.policy) {
    add('policy', r.policy.explanation);
    for (const dir of ['egress', 'ingress']) {
      const d = r.policy[dir];
      if (!d) continue;
      const names = d.policies.map((p) => `${p.namespace}/${p.name}`).join(', ');
      add(`${dir} policies`, names ? `${names} (${d.verdict})` : d.verdict);
    }
  }
  if (r.http) {
    add('HTTP method', r.http.method);
    add('HTTP path', r.http.path || '(not kept)');
    add('HTTP status', r.http.status ?? 'no response');
    if (r.http.latencySeconds !== undefined) add('HTTP latency', formatSeconds(r.http.latencySeconds));
  }
  if (r.dns) {
    add('DNS query', `${r.dns.qtype} ${r.dns.qname || '.'}`);
    add('DNS rcode', r.dns.rcode ?? 'unanswered');
    if (r.dns.latencySeconds !== undefined) add('DNS latency', formatSeconds(r.dns.latencySeconds));
  }
  add('summary', r.summary);
  add('seq', r.seq);
  return out;
}

export const escapeHtml = (s) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
