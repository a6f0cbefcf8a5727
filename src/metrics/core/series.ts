// The series of one flow family, with its cardinality limit. Admission is
// sticky: the first `limit` distinct label sets keep their series for the
// life of the process, so a series never flips between its own labels and
// the overflow series from one scrape to the next (which would break rate()).

import type { LabelValues } from 'prom-client';

export type Labels = Readonly<LabelValues<string>>;

export interface Series {
  readonly labels: Labels;
  value: number;
  /** Scrape in which value was last reset; lets a scrape start without clearing every series. */
  epoch: number;
}

/** What prom-client renders: a value line of a metric family. */
export interface SeriesValue {
  labels: Labels;
  // Same object as labels: prom-client caches the rendered text of shared
  // labels per object, so a series' label text is built once, not per scrape.
  sharedLabels: Labels;
  value: number;
}

export class SeriesTable {
  private readonly byKey = new Map<string, Series>();
  private admitted = 0;
  private refused = 0;
  private readonly overflow: Series;
  private epoch = 0;
  private active: Series[] = [];

  constructor(
    readonly family: string,
    readonly labelNames: readonly string[],
    readonly limit: number,
    overflowValue: string,
  ) {
    this.overflow = {
      labels: Object.freeze(Object.fromEntries(labelNames.map((n) => [n, overflowValue]))),
      value: 0,
      epoch: 0,
    };
  }

  /** Distinct label sets refused so far (each counted once). */
  get refusedCount(): number {
    return this.refused;
  }

  get admittedCount(): number {
    return this.admitted;
  }

  /** The series every refused label set is summed into. */
  get overflowSeries(): Series {
    return this.overflow;
  }

  /**
   * Counts label sets refused before they reached this table (a caller that
   * bounds its own keys, as the DNS name counts do); their values go to overflowSeries.
   */
  refuseOutside(count: number): void {
    this.refused += count;
  }

  beginScrape(): void {
    this.epoch += 1;
    this.active = [];
  }

  /**
   * The series `key` renders to, if the key was seen before (admitted or
   * refused). A refused key is forgotten (and so admitted next) once
   * releaseInactive() has made room, which is the only way room appears.
   */
  find(key: string): Series | undefined {
    const series = this.byKey.get(key);
    if (series === this.overflow && this.admitted < this.limit) {
      this.byKey.delete(key);
      return undefined;
    }
    return series;
  }

  /**
   * Admits a key never seen before if there is room, else sends it to the
   * overflow series. Refused keys are remembered, so each is counted once
   * and later records with that key go straight to the overflow series.
   */
  admit(key: string, labels: Labels): Series {
    let series: Series;
    if (this.admitted < this.limit) {
      series = { labels: Object.freeze(labels), value: 0, epoch: 0 };
      this.admitted += 1;
    } else {
      series = this.overflow;
      this.refused += 1;
    }
    this.byKey.set(key, series);
    return series;
  }

  add(series: Series, value: number): void {
    if (series.epoch !== this.epoch) {
      series.epoch = this.epoch;
      series.value = 0;
      if (series !== this.overflow) this.active.push(series);
    }
    series.value += value;
  }

  /**
   * Forgets the admitted series that got no record in this scrape, freeing
   * their slots under the limit; a label set seen again later is admitted
   * anew, and keys refused so far get a freed slot from the next scrape on.
   */
  releaseInactive(): number {
    let released = 0;
    for (const [key, series] of this.byKey) {
      if (series === this.overflow || series.epoch === this.epoch) continue;
      this.byKey.delete(key);
      this.admitted -= 1;
      released += 1;
    }
    return released;
  }

  /** The series present in this scrape, overflow last. */
  values(): SeriesValue[] {
    const out: SeriesValue[] = new Array<SeriesValue>(this.active.length);
    for (let i = 0; i < this.active.length; i++) {
      const s = this.active[i]!;
      out[i] = { labels: s.labels, sharedLabels: s.labels, value: s.value };
    }
    if (this.overflow.epoch === this.epoch) {
      out.push({ labels: this.overflow.labels, sharedLabels: this.overflow.labels, value: this.overflow.value });
    }
    return out;
  }
}

/**
 * The values of a family built afresh each scrape from a short list (by map,
 * by reason, by source). Rows with equal labels are summed into the first
 * one's place, as prom-client's inc() summed them; each row's labels must
 * list the family's label names in one order.
 */
export function sumByLabels(rows: Iterable<readonly [labels: Labels, value: number]>): SeriesValue[] {
  const byKey = new Map<string, SeriesValue>();
  for (const [labels, value] of rows) {
    const key = Object.values(labels).join('\u0000');
    const found = byKey.get(key);
    if (found) found.value += value;
    else byKey.set(key, { labels, sharedLabels: labels, value });
  }
  return [...byKey.values()];
}

/** The values of an unlabelled family: its one series. */
export function unlabelled(value: number): SeriesValue[] {
  const labels = {};
  return [{ labels, sharedLabels: labels, value }];
}
