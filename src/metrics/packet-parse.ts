// Packets the parser could not attribute. Frames without IP (ARP, LLDP) are
// normal and kept apart from malformed IP packets, which are worth an alert.

import { Counter, type Registry } from 'prom-client';
import type { ScrapeScope } from './core/scrape.js';
import { MALFORMED_PACKETS_TOTAL, NON_IP_PACKETS_TOTAL } from './names.js';

/** Parse reason of frames that carry no IP packet; every other reason is a malformed packet. */
export const NOT_IP = 'not_ip';

export function registerPacketParse(registers: Registry[], scope: ScrapeScope): void {
  new Counter({
    name: MALFORMED_PACKETS_TOTAL,
    help: 'Packets too short or with a bad header to be parsed, by where parsing stopped; they are not counted in flowlens_packets_total.',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const p of scope.current().snapshot.parsePackets) {
        if (p.reason !== NOT_IP) this.inc({ reason: p.reason }, p.count);
      }
    },
  });
  new Counter({
    name: NON_IP_PACKETS_TOTAL,
    help: 'Frames without an IP packet (ARP, LLDP, ...), seen on attached interfaces and not attributed.',
    registers,
    collect() {
      let total = 0;
      for (const p of scope.current().snapshot.parsePackets) {
        if (p.reason === NOT_IP) total += p.count;
      }
      this.reset();
      this.inc(total);
    },
  });
}
