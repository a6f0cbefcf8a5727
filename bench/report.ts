/** Prints one benchmark figure as an aligned line, so `make bench` output reads as a table. */
export function report(what: string, value: string): void {
  process.stdout.write(`BENCH  ${what.padEnd(60)} ${value}\n`);
}

/** One target of an issue, with the figure this run measured for it. */
export interface TargetResult {
  id: string;
  what: string;
  figure: string;
  target: string;
  /** undefined: not measured in this run (its test failed or was filtered out) */
  met?: boolean;
}

/**
 * Prints targets as one BENCH line each (figure, target, met or not), in the
 * order given: the table a closing note copies. A target without a figure
 * says so, rather than dropping out of the table.
 */
export function reportTargets(title: string, targets: TargetResult[]): void {
  report(title, '');
  for (const t of targets) {
    const verdict = t.met === undefined ? 'not measured' : t.met ? 'met' : 'NOT MET';
    // wider than report()'s column: the targets' names are long, and the table must stay aligned
    process.stdout.write(`BENCH  ${`target ${t.id}: ${t.what}`.padEnd(68)} ${t.figure.padEnd(18)} ${t.target.padEnd(26)} ${verdict}\n`);
  }
}
