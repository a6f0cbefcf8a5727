// Packets the parser could not attribute. Frames without IP (ARP, LLDP) are
// normal and kept apart from malformed IP packets, which are worth an alert.

import type { Registry } from 'prom-client';
import { KernelCounter } from './core/kernel-counter.js';
import type { ScrapeScope } from './core/scrape.js';
import { sumByLabels, unlabelled } from './core/series.js';
import { MALFORMED_PACKETS_TOTAL, NON_IP_PACKETS_TOTAL } from './names.js';

/** Parse reason of frames that carry no IP packet; every other reason is a malformed packet. */
export const NOT_IP = 'not_ip';

export function registerPacketParse(registers: Registry[], scope: ScrapeScope): void {
  const parsePackets = () => scope.current().snapshot.parsePackets;
  new KernelCounter({
    name: MALFORMED_PACKETS_TOTAL,
    help: 'Packets too short or with a bad header to be parsed, by where parsing stopped; they are not counted in flowlens_packets_total.',
    labelNames: ['reason'],
    registers,
    read: () => sumByLabels(parsePackets().filter((p) => p.reason !== NOT_IP).map((p) => [{ reason: p.reason }, p.count])),
  });
  new KernelCounter({
    name: NON_IP_PACKETS_TOTAL,
    help: 'Frames without an IP packet (ARP, LLDP, ...), seen on attached interfaces and not attributed.',
    labelNames: [],
    registers,
    read: () => {
      let total = 0;
      for (const p of parsePackets()) if (p.reason === NOT_IP) total += p.count;
      return unlabelled(total);
    },
  });
}
