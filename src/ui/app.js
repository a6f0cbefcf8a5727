// flowlens UI: the service map (GET /api/graph, refreshed every 2 s) above a
// live flows table (GET /api/flows?follow=true, Server-Sent Events). Plain
// browser JavaScript with no dependencies and no build step.

const GRAPH_WINDOW = '60s';
const GRAPH_REFRESH_MS = 2000;
/** Rows kept in the table; older ones are removed as new ones come. */
const MAX_ROWS = 500;
/** History the stream starts with. */
const HISTORY = 200;
const ROWS_PER_COLUMN = 12;
const NODE_W = 170;
const NODE_H = 30;
const ROW_H = 44;
const COL_W = 360;

const token = new URLSearchParams(location.search).get('access_token');
const $ = (id) => document.getElementById(id);
const tbody = $('flows').tBodies[0];
let source;
let pending = [];
let frameQueued = false;
let graphTimer;

const escapeHtml = (s) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

/** The filters as query parameters shared with the API. */
function filterParams() {
  const q = new URLSearchParams();
  const ns = $('f-namespace').value.trim();
  if (ns) q.set('namespace', ns);
  if ($('f-verdict').value) q.set('verdict', $('f-verdict').value);
  if ($('f-type').value) q.set('type', $('f-type').value);
  if (token) q.set('access_token', token);
  return q;
}

function api(path, extra) {
  const q = filterParams();
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  return `${path}?${q}`;
}

const endName = (e) => (e.namespace && e.workload ? `${e.namespace}/${e.workload}` : e.workload || e.identityName);

// --- service map ---------------------------------------------------------------

/**
 * Rank of each node: 0 for nodes nothing else calls, else one more than its
 * highest-ranked caller (cycles cut after a few rounds), so edges run left to right.
 */
function ranks(nodes, edges) {
  const rank = new Map(nodes.map((n) => [n.identity, 0]));
  for (let round = 0; round < 4; round++) {
    let changed = false;
    for (const e of edges) {
      if (e.source === e.destination) continue;
      const want = Math.min(3, rank.get(e.source) + 1);
      if (want > rank.get(e.destination)) {
        rank.set(e.destination, want);
        changed = true;
      }
    }
    if (!changed) break;
  }
  return rank;
}

/** Namespaces side by side; inside each, one column per rank (wrapped every ROWS_PER_COLUMN nodes). */
function layout(nodes, edges) {
  const rank = ranks(nodes, edges);
  const groups = new Map();
  for (const n of nodes) {
    const key = n.namespace || '(reserved and external)';
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(n);
  }
  const pos = new Map();
  const labels = [];
  let col = 0;
  let maxRows = 0;
  for (const [ns, members] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    labels.push({ ns, x: 20 + col * COL_W, y: 22 });
    const byRank = new Map();
    for (const n of members) {
      const r = rank.get(n.identity);
      if (!byRank.has(r)) byRank.set(r, []);
      byRank.get(r).push(n);
    }
    for (const r of [...byRank.keys()].sort((a, b) => a - b)) {
      const column = byRank.get(r);
      column.forEach((n, i) => {
        const c = col + Math.floor(i / ROWS_PER_COLUMN);
        const row = i % ROWS_PER_COLUMN;
        pos.set(n.identity, { x: 20 + c * COL_W, y: 36 + row * ROW_H });
        maxRows = Math.max(maxRows, row + 1);
      });
      col += Math.ceil(column.length / ROWS_PER_COLUMN);
    }
  }
  return { pos, labels, width: 40 + col * COL_W, height: 60 + maxRows * ROW_H };
}

function renderGraph(graph) {
  $('flow-rate').textContent = graph.flowsPerSecond.toFixed(graph.flowsPerSecond < 10 ? 2 : 0);
  $('node-count').textContent = String(graph.reportingNodes.length);
  const { pos, labels, width, height } = layout(graph.nodes, graph.edges);
  const names = new Map(graph.nodes.map((n) => [n.identity, n.name]));
  const parts = [];
  for (const l of labels) parts.push(`<text class="ns-label" x="${l.x}" y="${l.y}">${escapeHtml(l.ns)}</text>`);
  for (const e of graph.edges) {
    const a = pos.get(e.source);
    const b = pos.get(e.destination);
    if (!a || !b) continue;
    const x1 = a.x + NODE_W;
    const y1 = a.y + NODE_H / 2;
    const x2 = b.x;
    const y2 = b.y + NODE_H / 2;
    // a self-edge or one going back left loops outside the boxes
    const d = x2 > x1
      ? `M${x1},${y1} C${(x1 + x2) / 2},${y1} ${(x1 + x2) / 2},${y2} ${x2},${y2}`
      : `M${x1},${y1} C${x1 + 60},${y1 - 40} ${x2 - 60},${y2 - 40} ${x2},${y2}`;
    const rate = e.flowsPerSecond >= 10 ? e.flowsPerSecond.toFixed(0) : e.flowsPerSecond.toFixed(2);
    const label = `${e.flows} flows, ${rate}/s` + (e.dropped ? `, ${e.dropped} dropped` : '');
    parts.push(
      `<g class="edge${e.dropped ? ' dropped' : ''}" data-source="${escapeHtml(names.get(e.source))}" ` +
        `data-destination="${escapeHtml(names.get(e.destination))}" data-flows="${e.flows}" ` +
        `data-forwarded="${e.forwarded}" data-dropped="${e.dropped}">` +
        `<path d="${d}" marker-end="url(#arrow)"/>` +
        `<text x="${(x1 + x2) / 2}" y="${(y1 + y2) / 2 - 14}" text-anchor="middle">` +
        `<tspan>${e.flows} flows, ${rate}/s</tspan>` +
        (e.dropped ? `<tspan x="${(x1 + x2) / 2}" dy="12">${e.dropped} dropped</tspan>` : '') +
        `</text>` +
        `<title>${escapeHtml(`${names.get(e.source)} -> ${names.get(e.destination)}: ${label}; ports ${e.ports.join(', ')}`)}</title></g>`,
    );
  }
  for (const n of graph.nodes) {
    const p = pos.get(n.identity);
    const cls = ['node', n.reserved ? 'reserved' : '', n.unknownSource ? 'unknown' : ''].filter(Boolean).join(' ');
    const labelText = Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(', ');
    parts.push(
      `<g class="${cls}" data-name="${escapeHtml(n.name)}" data-identity="${n.identity}" transform="translate(${p.x},${p.y})">` +
        `<rect width="${NODE_W}" height="${NODE_H}"/>` +
        `<text x="8" y="19">${escapeHtml(n.workload || n.name)}</text>` +
        `<title>${escapeHtml(`${n.name} (identity ${n.identityName})${labelText ? `\n${labelText}` : ''}`)}</title></g>`,
    );
  }
  const svg = $('map');
  svg.setAttribute('width', String(Math.max(width, 600)));
  svg.setAttribute('height', String(height));
  svg.innerHTML =
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">' +
    '<path d="M 0 0 L 10 5 L 0 10 z" fill="#777"/></marker></defs>' +
    parts.join('');
}

async function refreshGraph() {
  clearTimeout(graphTimer);
  try {
    const res = await fetch(api('/api/graph', { window: GRAPH_WINDOW }));
    if (res.ok) renderGraph(await res.json());
    else $('status').textContent = `graph: HTTP ${res.status}`;
  } catch (err) {
    $('status').textContent = `graph: ${err.message}`;
  }
  graphTimer = setTimeout(refreshGraph, GRAPH_REFRESH_MS);
}

// --- flows table -----------------------------------------------------------------

function row(r) {
  const port = r.destination.port ? String(r.destination.port) : '';
  const src = `${endName(r.source)}${r.source.ip ? ` ${r.source.ip}` : ''}`;
  const dst = `${endName(r.destination)}${r.destination.ip ? ` ${r.destination.ip}` : ''}`;
  return (
    `<tr class="${r.verdict}" data-verdict="${r.verdict}" data-type="${r.type}">` +
    `<td>${escapeHtml(r.time.slice(11, 23))}</td><td>${escapeHtml(r.node)}</td>` +
    `<td class="source">${escapeHtml(src)}</td><td class="destination">${escapeHtml(dst)}</td>` +
    `<td class="port">${port}</td><td>${escapeHtml(r.type)}</td><td class="verdict">${r.verdict}</td>` +
    `<td class="summary">${escapeHtml(r.summary)}</td></tr>`
  );
}

// Rows are added once per animation frame, newest on top: thousands of
// records a second cost one DOM update a frame, not one each.
function flushRows() {
  frameQueued = false;
  const batch = pending.slice(-MAX_ROWS).reverse();
  pending = [];
  tbody.insertAdjacentHTML('afterbegin', batch.map(row).join(''));
  while (tbody.rows.length > MAX_ROWS) tbody.deleteRow(-1);
}

function startStream() {
  if (source) source.close();
  pending = [];
  tbody.replaceChildren();
  source = new EventSource(api('/api/flows', { follow: 'true', limit: String(HISTORY) }));
  source.addEventListener('open', () => ($('status').textContent = 'live'));
  source.addEventListener('error', () => ($('status').textContent = 'reconnecting'));
  source.addEventListener('flow', (ev) => {
    pending.push(JSON.parse(ev.data));
    if (!frameQueued) {
      frameQueued = true;
      requestAnimationFrame(flushRows);
    }
  });
}

function applyFilters() {
  startStream();
  refreshGraph();
}

$('filters').addEventListener('change', applyFilters);
$('filters').addEventListener('submit', (ev) => {
  ev.preventDefault();
  applyFilters();
});
applyFilters();
