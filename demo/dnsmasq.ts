/**
 * dnsmasq (Debian's dnsmasq-base) as a small authoritative DNS server: in the
 * foreground, reading no system files, answering `zone` from host records and
 * NXDOMAIN for every other name in it, logging queries to stderr. Shared by
 * the demo and the end-to-end tests' DNS server (test/common/dnsmasq.ts).
 */
export function dnsmasqArgs(opts: { address: string; port: number; zone: string; records: Record<string, string[]> }): string[] {
  return [
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--no-resolv',
    '--no-hosts',
    '--no-poll',
    '--pid-file',
    '--user=root',
    '--bind-interfaces',
    `--listen-address=${opts.address}`,
    `--port=${opts.port}`,
    `--local=/${opts.zone}/`,
    ...Object.entries(opts.records).map(([name, addresses]) => `--host-record=${name},${addresses.join(',')}`),
    '--log-facility=-',
  ];
}
