// The service map: elkjs's layered layout (namespaces as compound nodes, edge
// labels as label nodes, so neither cards nor labels overlap) drawn as SVG,
// with pan and zoom. elkjs's API (/ui/elk-api.js, a classic script: window.ELK)
// runs the layout in a Web Worker (/ui/elk-worker.min.js), so a large graph
// does not stall the flows table.

import { cardInfo, EDGE_DASH, edgeLabelLines, edgeVerdict, edgeWidth, escapeHtml, groupOf, isWorkloadNode } from './model.js';

const CARD_W = 180;
const CARD_LINE = 16;
const CARD_PAD = 8;
const LABEL_LINE = 14;
const LABEL_PAD_X = 6;
const LABEL_PAD_Y = 3;
const GROUP_LABEL_H = 22;
const CARD_FONT = '600 13px system-ui, sans-serif';
const SMALL_FONT = '11px system-ui, sans-serif';
/** Label widths are rounded up to this step, so a rate's last digit changing does not move the layout. */
const WIDTH_STEP = 12;
const MIN_SCALE = 0.02;
/**
 * Above this many nodes or edges, the cheaper placement and one pass of
 * crossing minimisation: network-simplex placement takes 75 s for 100
 * workloads and 400 edges, Brandes-Koepf with thoroughness 1 about 3 s.
 */
const LARGE_NODES = 60;
const LARGE_EDGES = 150;
const LARGE_OPTIONS = { 'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF', 'elk.layered.thoroughness': '1' };
/** A layout slower than this is kept for RELAYOUT_MS while the graph's shape stays the same; only the numbers are drawn anew. */
const SLOW_LAYOUT_MS = 1000;
const RELAYOUT_MS = 30_000;
const MAX_SCALE = 3;

const LAYOUT_OPTIONS = {
  'elk.algorithm': 'layered',
  'elk.direction': 'RIGHT',
  // edges between namespaces are laid out with the namespaces' insides
  'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
  // every coordinate relative to the root: no offsets to add up while drawing
  'elk.json.edgeCoords': 'ROOT',
  'elk.json.shapeCoords': 'ROOT',
  'elk.edgeRouting': 'ORTHOGONAL',
  'elk.spacing.nodeNode': '22',
  'elk.spacing.edgeNode': '14',
  'elk.spacing.edgeEdge': '8',
  'elk.spacing.edgeLabel': '4',
  'elk.spacing.componentComponent': '30',
  'elk.layered.spacing.nodeNodeBetweenLayers': '30',
  'elk.layered.spacing.edgeNodeBetweenLayers': '10',
  'elk.layered.spacing.edgeEdgeBetweenLayers': '8',
  'elk.layered.nodePlacement.strategy': 'NETWORK_SIMPLEX',
  'elk.edgeLabels.placement': 'CENTER',
};

const GROUP_OPTIONS = {
  'elk.padding': `[top=${GROUP_LABEL_H + 10},left=12,bottom=12,right=12]`,
  'elk.nodeLabels.placement': 'INSIDE V_TOP H_LEFT',
};

let measureCtx;
/** Text width in px for a CSS font, measured as the browser will draw it. */
function textWidth(text, font) {
  measureCtx ??= document.createElement('canvas').getContext('2d');
  measureCtx.font = font;
  return measureCtx.measureText(text).width;
}

/** `text` cut with an ellipsis to fit `max` px. */
function fit(text, font, max) {
  if (textWidth(text, font) <= max) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (textWidth(text.slice(0, mid) + '…', font) <= max) lo = mid;
    else hi = mid - 1;
  }
  return text.slice(0, lo) + '…';
}

const edgeId = (e) => `e${e.source}-${e.destination}`;
const nodeId = (identity) => `n${identity}`;

/** An orthogonal route with rounded corners. */
function routePath(points) {
  const r = 6;
  let d = `M${points[0].x},${points[0].y}`;
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i];
    const a = points[i - 1];
    const b = points[i + 1];
    const inLen = Math.hypot(p.x - a.x, p.y - a.y);
    const outLen = Math.hypot(b.x - p.x, b.y - p.y);
    const k = Math.min(r, inLen / 2, outLen / 2);
    if (k < 0.5) {
      d += ` L${p.x},${p.y}`;
      continue;
    }
    const x1 = p.x - ((p.x - a.x) / inLen) * k;
    const y1 = p.y - ((p.y - a.y) / inLen) * k;
    const x2 = p.x + ((b.x - p.x) / outLen) * k;
    const y2 = p.y + ((b.y - p.y) / outLen) * k;
    d += ` L${x1},${y1} Q${p.x},${p.y} ${x2},${y2}`;
  }
  const last = points[points.length - 1];
  return `${d} L${last.x},${last.y}`;
}

/** What a focusable part of the map stands for: a card's identity, or an edge label's two ends. */
function focusKey(el) {
  const d = el.dataset;
  return d.select === 'node' ? `node ${d.identity}` : `${el.getAttribute('class')?.split(' ')[0]} ${d.sourceIdentity} ${d.destinationIdentity}`;
}

export class ServiceMap {
  /**
   * @param svg the <svg> to draw in
   * @param onSelect called with {kind:'node', identity} or {kind:'edge', source, destination}
   */
  constructor(svg, onSelect) {
    this.svg = svg;
    this.onSelect = onSelect;
    this.elk = new window.ELK({ workerUrl: '/ui/elk-worker.min.js' });
    this.layoutOptions = { ...LAYOUT_OPTIONS };
    this.view = { x: 0, y: 0, k: 1 };
    this.size = { width: 0, height: 0 };
    this.structure = '';
    this.selection = null;
    this.generation = 0;
    this.timings = { layoutMs: 0, drawMs: 0, renders: 0 };
    this.pointerDown = false;
    /** Renders waiting for the pointer to be released. */
    this.afterPointer = [];
    this.installPanZoom();
    svg.addEventListener('click', (ev) => this.clicked(ev));
    svg.addEventListener('keydown', (ev) => {
      if ((ev.key === 'Enter' || ev.key === ' ') && ev.target.closest?.('[data-select]')) {
        ev.preventDefault();
        this.clicked(ev);
      }
    });
  }

  /** Builds elkjs's input: one compound node per namespace, a card per node, a sized label per edge. */
  elkGraph(nodes, edges, windowSeconds) {
    const nodesById = new Map(nodes.map((n) => [n.identity, n]));
    const groups = new Map();
    const cards = new Map();
    for (const n of nodes) {
      const info = cardInfo(n, edges, nodesById);
      const lines = 2 + (info.reached ? 1 : 0) + (info.fromOutside ? 1 : 0);
      cards.set(n.identity, info);
      const g = groupOf(n);
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push({ id: nodeId(n.identity), width: CARD_W, height: CARD_PAD * 2 + lines * CARD_LINE });
    }
    const large = nodes.length > LARGE_NODES || edges.length > LARGE_EDGES;
    const labels = new Map();
    const elkEdges = edges.map((e) => {
      const lines = edgeLabelLines(e, windowSeconds);
      labels.set(edgeId(e), lines);
      const edge = { id: edgeId(e), sources: [nodeId(e.source)], targets: [nodeId(e.destination)], labels: [] };
      // a large map is read zoomed out, where labels cannot be read: they are left out of its layout (half its
      // time), and each edge's numbers are in its tooltip and a click away in the table
      if (large) return edge;
      const w = Math.max(...lines.map((l) => textWidth(l, SMALL_FONT))) + LABEL_PAD_X * 2;
      edge.labels.push({ id: `l${edgeId(e)}`, text: lines.join('\n'), width: Math.ceil(w / WIDTH_STEP) * WIDTH_STEP, height: lines.length * LABEL_LINE + LABEL_PAD_Y * 2 });
      return edge;
    });
    this.svg.dataset.labels = large ? 'hidden' : 'shown';
    const children = [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([name, members]) => ({
      id: `g:${name}`,
      layoutOptions: GROUP_OPTIONS,
      labels: [{ text: name, width: textWidth(name, CARD_FONT) + 4, height: 16 }],
      children: members,
    }));
    const layoutOptions = large ? { ...this.layoutOptions, ...LARGE_OPTIONS } : this.layoutOptions;
    return { graph: { id: 'root', layoutOptions, children, edges: elkEdges }, cards, labels };
  }

  /** Lays out and draws `graph` (the visible nodes and edges); resolves when drawn. */
  async render(nodes, edges, windowSeconds) {
    const generation = ++this.generation;
    const started = performance.now();
    const { graph, cards, labels } = this.elkGraph(nodes, edges, windowSeconds);
    const structure = nodes.map((n) => n.identity).join(',') + '|' + edges.map(edgeId).join(',');
    // a large graph of the same shape keeps its slow layout a while (labels may then be a little wider than their boxes)
    const reuse = structure === this.structure && this.laid && this.timings.layoutMs > SLOW_LAYOUT_MS && started - this.laidAt < RELAYOUT_MS;
    const laid = reuse ? this.laid : await this.elk.layout(graph);
    // not between a press and its click: the click would land on a card that is gone
    if (this.pointerDown) await new Promise((resolve) => this.afterPointer.push(resolve));
    // a newer render started while this one was laid out or waited: it draws instead
    if (generation !== this.generation) return false;
    const drawStart = performance.now();
    this.draw(laid, nodes, edges, cards, labels);
    const done = performance.now();
    if (!reuse) {
      this.laid = laid;
      this.laidAt = started;
    }
    this.timings = { layoutMs: reuse ? this.timings.layoutMs : drawStart - started, drawMs: done - drawStart, renders: this.timings.renders + 1 };
    if (structure !== this.structure) {
      this.structure = structure;
      this.fitView();
    }
    this.svg.dataset.renders = String(this.timings.renders);
    return true;
  }

  draw(laid, nodes, edges, cards, labels) {
    const byId = new Map(nodes.map((n) => [nodeId(n.identity), n]));
    const edgeById = new Map(edges.map((e) => [edgeId(e), e]));
    const maxRate = Math.max(0, ...edges.map((e) => e.flowsPerSecond));
    const groupParts = [];
    const cardParts = [];
    for (const g of laid.children ?? []) {
      const name = g.id.slice(2);
      groupParts.push(
        `<g class="group" data-namespace="${escapeHtml(name)}"><rect x="${g.x}" y="${g.y}" width="${g.width}" height="${g.height}" rx="8"/>` +
          `<text x="${g.x + 12}" y="${g.y + 18}">${escapeHtml(name)}</text></g>`,
      );
      for (const c of g.children ?? []) {
        const n = byId.get(c.id);
        const info = cards.get(n.identity);
        const cls = ['node', n.reserved ? 'reserved' : '', n.unknownSource ? 'unknown' : '', isWorkloadNode(n) ? 'workload' : '', info.fromOutside ? 'from-outside' : '']
          .filter(Boolean).join(' ');
        const lines = [`<text class="title" x="${CARD_PAD}" y="${CARD_PAD + 12}">${escapeHtml(fit(info.title, CARD_FONT, CARD_W - 2 * CARD_PAD))}</text>`];
        let y = CARD_PAD + 12 + CARD_LINE;
        lines.push(`<text class="sub" x="${CARD_PAD}" y="${y}">${escapeHtml(fit(info.subtitle, SMALL_FONT, CARD_W - 2 * CARD_PAD))}</text>`);
        if (info.reached) {
          y += CARD_LINE;
          lines.push(`<text class="ports" x="${CARD_PAD}" y="${y}">${escapeHtml(fit(`⇢ ${info.reached}`, SMALL_FONT, CARD_W - 2 * CARD_PAD))}</text>`);
        }
        if (info.fromOutside) {
          y += CARD_LINE;
          lines.push(`<text class="mark" x="${CARD_PAD}" y="${y}">⚠ reached from outside</text>`);
        }
        const tip = `${n.name} (identity ${n.identityName})` + Object.entries(n.labels).map(([k, v]) => `\n${k}=${v}`).join('');
        cardParts.push(
          `<g class="${cls}" data-select="node" data-name="${escapeHtml(n.name)}" data-identity="${n.identity}" ` +
            `transform="translate(${c.x},${c.y})" tabindex="0" role="button" aria-label="${escapeHtml(`${n.name}: show its flows`)}">` +
            `<rect width="${c.width}" height="${c.height}" rx="6"/>${lines.join('')}<title>${escapeHtml(tip)}</title></g>`,
        );
      }
    }
    const edgeParts = [];
    const labelParts = [];
    for (const le of laid.edges ?? []) {
      const e = edgeById.get(le.id);
      const s = le.sections?.[0];
      if (!e || !s) continue;
      const src = byId.get(nodeId(e.source));
      const dst = byId.get(nodeId(e.destination));
      const verdict = edgeVerdict(e);
      const dash = EDGE_DASH[verdict];
      const d = routePath([s.startPoint, ...(s.bendPoints ?? []), s.endPoint]);
      const attrs =
        `data-select="edge" data-source="${escapeHtml(src.name)}" data-destination="${escapeHtml(dst.name)}" ` +
        `data-source-identity="${e.source}" data-destination-identity="${e.destination}" ` +
        `data-flows="${e.flows}" data-forwarded="${e.forwarded}" data-dropped="${e.dropped}" data-verdict="${verdict}"`;
      edgeParts.push(
        `<g class="edge${e.dropped ? ' dropped' : ''}" ${attrs}>` +
          `<path class="hit" d="${d}"/>` +
          `<path class="line ${verdict}" d="${d}" stroke-width="${edgeWidth(e.flowsPerSecond, maxRate).toFixed(1)}"` +
          (dash ? ` stroke-dasharray="${dash}"` : '') + ` marker-end="url(#arrow-${verdict})"/>` +
          `<title>${escapeHtml(`${src.name} → ${dst.name}: ${labels.get(le.id).join(' · ')}; ${e.flows} flows (${e.forwarded} forwarded, ${e.dropped} dropped)` +
            (e.ports.length ? `; ports ${e.ports.join(', ')}` : '') +
            (Object.keys(e.dropReasons).length ? `; drop reasons ${Object.entries(e.dropReasons).map(([k, v]) => `${k} ×${v}`).join(', ')}` : ''))}</title></g>`,
      );
      const l = le.labels?.[0];
      if (l) {
        const text = labels.get(le.id).map((line, i) => `<tspan x="${l.x + LABEL_PAD_X}" y="${l.y + LABEL_PAD_Y + 11 + i * LABEL_LINE}">${escapeHtml(line)}</tspan>`).join('');
        labelParts.push(
          `<g class="edge-label ${verdict}" ${attrs} tabindex="0" role="button" aria-label="${escapeHtml(`${src.name} to ${dst.name}: show these flows`)}">` +
            `<rect x="${l.x}" y="${l.y}" width="${l.width}" height="${l.height}" rx="3"/><text>${text}</text></g>`,
        );
      }
    }
    const markers = ['forwarded', 'dropped', 'both']
      .map((v) => `<marker id="arrow-${v}" class="arrow ${v}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="5" markerHeight="5" markerUnits="strokeWidth" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker>`)
      .join('');
    this.size = { width: laid.width ?? 0, height: laid.height ?? 0 };
    // the map is drawn anew every refresh: a card or label that had the keyboard's focus gets it back
    const active = document.activeElement;
    const focused = this.svg.contains(active) && active.dataset.select ? focusKey(active) : undefined;
    this.svg.innerHTML =
      `<defs>${markers}</defs><g id="viewport">${groupParts.join('')}<g class="edges">${edgeParts.join('')}</g>` +
      `<g class="cards">${cardParts.join('')}</g><g class="labels">${labelParts.join('')}</g></g>`;
    this.viewport = this.svg.querySelector('#viewport');
    this.applyView();
    this.markSelection();
    if (focused) [...this.svg.querySelectorAll('[tabindex]')].find((el) => focusKey(el) === focused)?.focus({ preventScroll: true });
  }

  // --- selection ---------------------------------------------------------------

  clicked(ev) {
    if (this.dragged) return;
    const target = ev.target.closest?.('[data-select]');
    if (!target) return;
    const selection = target.dataset.select === 'node'
      ? { kind: 'node', identity: Number(target.dataset.identity) }
      : { kind: 'edge', source: Number(target.dataset.sourceIdentity), destination: Number(target.dataset.destinationIdentity) };
    this.onSelect(selection);
  }

  setSelection(selection) {
    this.selection = selection;
    this.markSelection();
  }

  /** Marks what is selected, and what touches it ("related"); the rest is dimmed by the stylesheet. */
  markSelection() {
    const s = this.selection;
    const touching = new Set(s ? (s.kind === 'node' ? [s.identity] : [s.source, s.destination]) : []);
    if (s?.kind === 'node') {
      // the cards it talks with
      for (const el of this.svg.querySelectorAll('g.edge')) {
        const a = Number(el.dataset.sourceIdentity);
        const b = Number(el.dataset.destinationIdentity);
        if (a === s.identity) touching.add(b);
        if (b === s.identity) touching.add(a);
      }
    }
    for (const el of this.svg.querySelectorAll('[data-select]')) {
      const d = el.dataset;
      const isNode = d.select === 'node';
      const on = !!s && (s.kind === 'node'
        ? isNode && Number(d.identity) === s.identity
        : !isNode && Number(d.sourceIdentity) === s.source && Number(d.destinationIdentity) === s.destination);
      const related = !!s && (isNode
        ? touching.has(Number(d.identity))
        : s.kind === 'node' && (Number(d.sourceIdentity) === s.identity || Number(d.destinationIdentity) === s.identity));
      el.classList.toggle('selected', on);
      el.classList.toggle('related', on || related);
      if (el.getAttribute('role') === 'button') el.setAttribute('aria-pressed', String(on));
    }
    this.svg.classList.toggle('has-selection', !!s);
  }

  // --- pan and zoom ---------------------------------------------------------------

  applyView() {
    if (this.viewport) this.viewport.setAttribute('transform', `translate(${this.view.x},${this.view.y}) scale(${this.view.k})`);
    this.svg.dataset.scale = this.view.k.toFixed(3);
  }

  /** The whole graph in view: at natural size when it fits, else scaled down to fit; centred. */
  fitView() {
    const box = this.svg.getBoundingClientRect();
    const margin = 12;
    const { width, height } = this.size;
    if (!width || !height || !box.width) return;
    const k = Math.max(MIN_SCALE, Math.min(1, (box.width - 2 * margin) / width, (box.height - 2 * margin) / height));
    this.view = { k, x: (box.width - width * k) / 2, y: Math.max(margin, (box.height - height * k) / 2) };
    this.applyView();
  }

  zoomBy(factor, cx, cy) {
    const box = this.svg.getBoundingClientRect();
    cx ??= box.width / 2;
    cy ??= box.height / 2;
    const k = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.view.k * factor));
    // the point under the cursor stays where it is
    this.view.x = cx - ((cx - this.view.x) * k) / this.view.k;
    this.view.y = cy - ((cy - this.view.y) * k) / this.view.k;
    this.view.k = k;
    this.applyView();
  }

  panBy(dx, dy) {
    this.view.x += dx;
    this.view.y += dy;
    this.applyView();
  }

  installPanZoom() {
    const svg = this.svg;
    svg.addEventListener('wheel', (ev) => {
      ev.preventDefault();
      const box = svg.getBoundingClientRect();
      this.zoomBy(Math.exp(-ev.deltaY * 0.0015), ev.clientX - box.left, ev.clientY - box.top);
    }, { passive: false });
    let start = null;
    svg.addEventListener('pointerdown', (ev) => {
      this.pointerDown = true;
      if (ev.button !== 0) return;
      start = { x: ev.clientX, y: ev.clientY, vx: this.view.x, vy: this.view.y };
      this.dragged = false;
    });
    svg.addEventListener('pointermove', (ev) => {
      if (!start) return;
      const dx = ev.clientX - start.x;
      const dy = ev.clientY - start.y;
      // a click that moved a pixel or two is still a click
      if (!this.dragged && Math.hypot(dx, dy) < 4) return;
      if (!this.dragged) svg.setPointerCapture(ev.pointerId);
      this.dragged = true;
      this.view.x = start.vx + dx;
      this.view.y = start.vy + dy;
      this.applyView();
    });
    const end = () => {
      start = null;
      // the click that ends a press comes after pointerup: forget the drag, and draw what waited, once it has passed
      setTimeout(() => {
        this.dragged = false;
        this.pointerDown = false;
        const waiting = this.afterPointer;
        this.afterPointer = [];
        for (const resolve of waiting) resolve();
      }, 0);
    };
    // on the window: a press on the map may be released anywhere
    addEventListener('pointerup', end);
    addEventListener('pointercancel', end);
    svg.addEventListener('keydown', (ev) => {
      if (ev.target !== svg) return;
      const step = 40;
      const moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
      if (moves[ev.key]) this.panBy(...moves[ev.key]);
      else if (ev.key === '+' || ev.key === '=') this.zoomBy(1.2);
      else if (ev.key === '-') this.zoomBy(1 / 1.2);
      else if (ev.key === '0') this.fitView();
      else return;
      ev.preventDefault();
    });
  }
}
