// The flows table: the records the stream brought (history, then live), newest
// on top, narrowed in the browser by what was clicked on the map and by the
// noise toggle; paused, it holds new records back; a row opens the detail pane.

import { detailFields, endName, escapeHtml, isNoiseRecord, selectionMatches } from './model.js';

/** Records kept in memory: what a click or the noise toggle can show again. */
const MAX_RECORDS = 5000;
/** Rows in the DOM at once. */
export const MAX_ROWS = 500;

function row(r) {
  const port = r.destination.port ? String(r.destination.port) : '';
  const src = `${endName(r.source)}${r.source.ip ? ` ${r.source.ip}` : ''}`;
  const dst = `${endName(r.destination)}${r.destination.ip ? ` ${r.destination.ip}` : ''}`;
  return (
    `<tr class="${r.verdict}" data-seq="${r.seq}" data-verdict="${r.verdict}" data-type="${r.type}" ` +
    `data-source-identity="${r.source.identity}" data-destination-identity="${r.destination.identity}" tabindex="0">` +
    `<td>${escapeHtml(r.time.slice(11, 23))}</td><td>${escapeHtml(r.node)}</td>` +
    `<td class="source">${escapeHtml(src)}</td><td class="destination">${escapeHtml(dst)}</td>` +
    `<td class="port">${port}</td><td>${escapeHtml(r.protocol)}</td><td>${escapeHtml(r.type)}</td>` +
    `<td class="verdict"><span class="verdict-mark" aria-hidden="true">${r.verdict === 'dropped' ? '✕' : '✓'}</span> ${r.verdict}</td>` +
    `<td class="summary">${escapeHtml(r.summary)}</td></tr>`
  );
}

export class FlowsTable {
  constructor({ tbody, detail, onCounts }) {
    this.tbody = tbody;
    this.detail = detail;
    this.onCounts = onCounts;
    this.records = [];
    this.bySeq = new Map();
    /** Records that arrived since the last frame. */
    this.incoming = [];
    /** Records that arrived while paused. */
    this.held = [];
    this.paused = false;
    this.showNoise = false;
    this.selection = null;
    this.frameQueued = false;
    this.noise = 0;
    tbody.addEventListener('click', (ev) => this.openRow(ev.target.closest('tr')));
    tbody.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') this.openRow(ev.target.closest('tr'));
    });
  }

  visible(r) {
    return (this.showNoise || !isNoiseRecord(r)) && selectionMatches(r, this.selection);
  }

  clear() {
    this.records = [];
    this.bySeq.clear();
    this.incoming = [];
    this.held = [];
    this.noise = 0;
    this.tbody.replaceChildren();
    this.counts();
  }

  /** A record from the stream; drawn with the others of this animation frame. */
  add(r) {
    this.incoming.push(r);
    if (!this.frameQueued) {
      this.frameQueued = true;
      requestAnimationFrame(() => this.flush());
    }
  }

  // Rows are added once per animation frame, newest on top: a hundred
  // records a second cost one DOM update a frame, not one each.
  flush() {
    this.frameQueued = false;
    const batch = this.incoming;
    this.incoming = [];
    if (this.paused) {
      this.held.push(...batch);
      this.counts();
      return;
    }
    this.append(batch);
  }

  append(batch) {
    if (batch.length === 0) return;
    for (const r of batch) {
      this.records.push(r);
      this.bySeq.set(r.seq, r);
      if (isNoiseRecord(r)) this.noise++;
    }
    if (this.records.length > MAX_RECORDS) {
      for (const r of this.records.splice(0, this.records.length - MAX_RECORDS)) {
        this.bySeq.delete(r.seq);
        if (isNoiseRecord(r)) this.noise--;
      }
    }
    const shown = batch.filter((r) => this.visible(r)).slice(-MAX_ROWS).reverse();
    if (shown.length) this.tbody.insertAdjacentHTML('afterbegin', shown.map(row).join(''));
    while (this.tbody.rows.length > MAX_ROWS) this.tbody.deleteRow(-1);
    this.counts();
  }

  /** Draws every kept record that passes the filters again (after a click on the map or a toggle). */
  redraw() {
    const shown = [];
    for (let i = this.records.length - 1; i >= 0 && shown.length < MAX_ROWS; i--) {
      if (this.visible(this.records[i])) shown.push(this.records[i]);
    }
    this.tbody.innerHTML = shown.map(row).join('');
    this.counts();
  }

  setSelection(selection) {
    this.selection = selection;
    this.redraw();
  }

  setShowNoise(show) {
    this.showNoise = show;
    this.redraw();
  }

  setPaused(paused) {
    this.paused = paused;
    if (!paused) {
      const held = this.held;
      this.held = [];
      this.append(held);
    }
    this.counts();
  }

  counts() {
    this.onCounts({ rows: this.tbody.rows.length, hiddenNoise: this.showNoise ? 0 : this.noise, noise: this.noise, held: this.held.length });
  }

  // --- detail pane ---------------------------------------------------------------

  openRow(tr) {
    if (!tr) return;
    const r = this.bySeq.get(Number(tr.dataset.seq));
    if (!r) return;
    for (const other of this.tbody.querySelectorAll('tr.open')) other.classList.remove('open');
    tr.classList.add('open');
    const fields = detailFields(r).map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('');
    this.detail.querySelector('dl').innerHTML = fields;
    this.detail.querySelector('h2').textContent = `${r.type} · ${r.verdict}`;
    this.detail.dataset.seq = String(r.seq);
    this.detail.hidden = false;
    this.detail.querySelector('button.close').focus();
  }

  closeDetail() {
    this.detail.hidden = true;
    for (const other of this.tbody.querySelectorAll('tr.open')) other.classList.remove('open');
  }
}
