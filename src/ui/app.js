// flowlens UI: the service map (GET /api/graph, refreshed every 2 s, laid out
// by elkjs in map.js) above a live flows table (GET /api/flows?follow=true,
// Server-Sent Events, in table.js). This file holds the controls, the API
// calls and the error banners. Plain browser modules; make copies them and
// elkjs's browser files to dist/ui.

import { ServiceMap } from './map.js';
import { FlowsTable } from './table.js';
import { endName, isWorkloadNode, visibleGraph } from './model.js';

const GRAPH_REFRESH_MS = 2000;
/** History the stream starts with. */
const HISTORY = 500;
const TOKEN_KEY = 'flowlens-token';

const $ = (id) => document.getElementById(id);
// ?access_token=T keeps working; a token typed into the form is kept for this tab only
let token = new URLSearchParams(location.search).get('access_token') ?? sessionStorage.getItem(TOKEN_KEY);
let source;
let graphTimer;
/** The newest graph, drawn again when the noise toggle changes. */
let lastGraph;
/** A render in progress, and the graph that came meanwhile (drawn after it; older ones are skipped). */
let rendering = false;
let nextGraph;
/** Waiting for a token: no polling until one is given. */
let needToken = false;
const namespaces = new Set();
let selection = null;

const table = new FlowsTable({ tbody: $('flows').tBodies[0], detail: $('detail'), onCounts: showCounts });
const map = new ServiceMap($('map'), (s) => select(sameSelection(s, selection) ? null : s));

// --- API -------------------------------------------------------------------------

/** The filters as query parameters shared with the API. */
function filterParams() {
  const q = new URLSearchParams();
  for (const [id, name] of [['f-namespace', 'namespace'], ['f-verdict', 'verdict'], ['f-type', 'type'], ['f-protocol', 'protocol']]) {
    if ($(id).value) q.set(name, $(id).value);
  }
  if (token) q.set('access_token', token);
  return q;
}

function api(path, extra) {
  const q = filterParams();
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  return `${path}?${q}`;
}

/** The message of an API error body ({"error", "message"}), or the status. */
async function errorMessage(res) {
  try {
    return (await res.json()).message ?? `HTTP ${res.status}`;
  } catch {
    return `HTTP ${res.status}`;
  }
}

// --- banners ---------------------------------------------------------------------

/**
 * One banner at a time, for what stops the page from showing flows:
 * unreachable, 401 (with the token form), 429, another HTTP error.
 */
function showBanner(kind, text) {
  const banner = $('banner');
  banner.hidden = false;
  banner.dataset.kind = kind;
  $('banner-text').textContent = text;
  $('token-form').hidden = kind !== 'unauthorized';
  if (kind === 'unauthorized' && document.activeElement !== $('token-input')) $('token-input').focus();
}

function clearBanner(kind) {
  const banner = $('banner');
  if (kind && banner.dataset.kind !== kind) return;
  banner.hidden = true;
  banner.dataset.kind = '';
}

function unauthorized() {
  needToken = true;
  clearTimeout(graphTimer);
  source?.close();
  setStatus('token needed');
  showBanner('unauthorized', token
    ? 'The exporter refused the access token (401). Enter the right one to see flows.'
    : 'This exporter needs an access token (401). Enter it to see flows.');
}

async function handleError(res, what) {
  if (res.status === 401) return unauthorized();
  if (res.status === 429) {
    const after = Number(res.headers.get('retry-after')) || 2;
    showBanner('rate-limited', `The exporter is rate-limiting this page's ${what} (429): ${await errorMessage(res)}. Retrying in ${after} s.`);
    return after * 1000;
  }
  showBanner('http', `The ${what} answered HTTP ${res.status}: ${await errorMessage(res)}`);
  return undefined;
}

function unreachable(what, err) {
  showBanner('unreachable', `Cannot reach the flowlens API at ${location.host} for the ${what} (${err.message}). Is the exporter running? Retrying.`);
}

function setStatus(text) {
  $('status').textContent = text;
}

// --- service map -------------------------------------------------------------------

async function refreshGraph() {
  clearTimeout(graphTimer);
  if (needToken) return;
  let next = GRAPH_REFRESH_MS;
  try {
    const res = await fetch(api('/api/graph', { window: $('f-window').value }));
    if (res.ok) {
      clearBanner('unreachable');
      clearBanner('rate-limited');
      clearBanner('http');
      showGraph(await res.json());
    } else {
      next = (await handleError(res, 'service map')) ?? next;
      if (res.status === 401) return;
    }
  } catch (err) {
    unreachable('service map', err);
  }
  graphTimer = setTimeout(refreshGraph, next);
}

function showGraph(graph) {
  lastGraph = graph;
  $('flow-rate').textContent = graph.flowsPerSecond.toFixed(graph.flowsPerSecond < 10 ? 2 : 0);
  $('node-count').textContent = String(graph.reportingNodes.length);
  $('workload-count').textContent = String(graph.nodes.filter(isWorkloadNode).length);
  updateNamespaces(graph);
  drawMap();
}

async function drawMap() {
  if (!lastGraph) return;
  if (rendering) {
    nextGraph = lastGraph;
    return;
  }
  rendering = true;
  try {
    const graph = lastGraph;
    const { nodes, edges, hiddenEdges } = visibleGraph(graph, $('f-noise').checked);
    $('noise-count').dataset.edges = String(hiddenEdges);
    showNoiseCount();
    $('map-empty').hidden = nodes.length > 0;
    await map.render(nodes, edges, graph.windowSeconds);
  } catch (err) {
    showBanner('http', `The service map could not be laid out: ${err.message}`);
  } finally {
    rendering = false;
  }
  if (nextGraph) {
    nextGraph = undefined;
    drawMap();
  }
}

/** The picker lists every namespace seen since the page opened, and "all". */
function updateNamespaces(graph) {
  let added = false;
  for (const n of graph.nodes) {
    if (n.namespace && !namespaces.has(n.namespace)) {
      namespaces.add(n.namespace);
      added = true;
    }
  }
  if (!added) return;
  const picker = $('f-namespace');
  const chosen = picker.value;
  picker.replaceChildren(new Option('all', ''), ...[...namespaces].sort().map((ns) => new Option(ns, ns)));
  picker.value = chosen;
}

// --- selection (a click on the map filters the table) ---------------------------------------

function sameSelection(a, b) {
  if (!a || !b || a.kind !== b.kind) return false;
  return a.kind === 'node' ? a.identity === b.identity : a.source === b.source && a.destination === b.destination;
}

function nameOf(identity) {
  const n = lastGraph?.nodes.find((x) => x.identity === identity);
  return n ? n.name : String(identity);
}

function select(s) {
  selection = s;
  map.setSelection(s);
  table.setSelection(s);
  $('selection').hidden = !s;
  if (s) $('selection-text').textContent = s.kind === 'node' ? `${nameOf(s.identity)} (from or to)` : `${nameOf(s.source)} → ${nameOf(s.destination)}`;
}

// --- flows table ------------------------------------------------------------------

function showCounts({ rows, hiddenNoise, held }) {
  $('row-count').textContent = `${rows} row${rows === 1 ? '' : 's'}`;
  $('noise-count').dataset.records = String(hiddenNoise);
  showNoiseCount();
  $('pause').textContent = table.paused ? `Resume${held ? ` (${held} new)` : ''}` : 'Pause';
}

function showNoiseCount() {
  const el = $('noise-count');
  const records = Number(el.dataset.records);
  const edges = Number(el.dataset.edges);
  el.textContent = $('f-noise').checked || (records === 0 && edges === 0)
    ? ''
    : `${records} noise record${records === 1 ? '' : 's'} · ${edges} edge${edges === 1 ? '' : 's'} hidden`;
}

/** After an EventSource error: asks the API what is wrong, since EventSource does not say. */
async function probeStream() {
  try {
    const res = await fetch(api('/api/flows', { limit: '1' }));
    if (res.ok) {
      // the API answers: the stream itself was refused (too many streams) or cut; EventSource retries by itself
      if (source?.readyState === EventSource.CLOSED) showBanner('rate-limited', 'The live stream was refused (too many streams open at the exporter, 429?). Close other tabs and retry.');
      return;
    }
    await handleError(res, 'flows stream');
  } catch (err) {
    unreachable('flows stream', err);
  }
}

function startStream() {
  source?.close();
  table.clear();
  if (needToken) return;
  setStatus('connecting');
  source = new EventSource(api('/api/flows', { follow: 'true', limit: String(HISTORY), since: $('f-window').value }));
  source.addEventListener('open', () => {
    setStatus(table.paused ? 'paused' : 'live');
    clearBanner('unreachable');
  });
  source.addEventListener('error', () => {
    setStatus(source.readyState === EventSource.CLOSED ? 'stream closed' : 'reconnecting');
    probeStream();
  });
  source.addEventListener('flow', (ev) => table.add(JSON.parse(ev.data)));
}

// --- controls ---------------------------------------------------------------------

function applyFilters() {
  startStream();
  refreshGraph();
}

function retry() {
  needToken = false;
  clearBanner();
  applyFilters();
}

$('filters').addEventListener('change', (ev) => {
  if (ev.target === $('f-noise')) {
    table.setShowNoise($('f-noise').checked);
    drawMap();
    return;
  }
  applyFilters();
});
$('filters').addEventListener('submit', (ev) => {
  ev.preventDefault();
  applyFilters();
});
$('pause').addEventListener('click', () => {
  table.setPaused(!table.paused);
  $('pause').setAttribute('aria-pressed', String(table.paused));
  setStatus(table.paused ? 'paused' : 'live');
});
$('retry').addEventListener('click', retry);
$('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  token = $('token-input').value.trim();
  sessionStorage.setItem(TOKEN_KEY, token);
  $('token-input').value = '';
  retry();
});
$('clear-selection').addEventListener('click', () => select(null));
$('zoom-in').addEventListener('click', () => map.zoomBy(1.25));
$('zoom-out').addEventListener('click', () => map.zoomBy(1 / 1.25));
$('zoom-fit').addEventListener('click', () => map.fitView());
$('detail').querySelector('button.close').addEventListener('click', () => table.closeDetail());
document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape' && !$('detail').hidden) table.closeDetail();
});
addEventListener('resize', () => map.fitView());

// for tests and the benchmark: what the map's last render took
window.flowlens = { map, table, endName };

applyFilters();
