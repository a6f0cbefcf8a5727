/** Prints one benchmark figure as an aligned line, so `make bench` output reads as a table. */
export function report(what: string, value: string): void {
  process.stdout.write(`BENCH  ${what.padEnd(60)} ${value}\n`);
}
