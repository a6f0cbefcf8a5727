import { Counter, Gauge, type Registry } from 'prom-client';
import type { IdentityStatus } from './types.js';

export const IDENTITIES = 'flowlens_identities';
export const IDENTITY_SOURCE_UP = 'flowlens_identity_source_up';
export const IDENTITY_RELOAD_FAILURES_TOTAL = 'flowlens_identity_reload_failures_total';

export function registerIdentitySources(registers: Registry[], status: IdentityStatus): void {
  new Gauge({
    name: IDENTITIES,
    help: 'Identities currently known from an identity source (static file, kubernetes).',
    labelNames: ['source'],
    registers,
    collect() {
      this.reset();
      for (const s of status.sources()) this.set({ source: s.source }, s.identities);
    },
  });
  new Gauge({
    name: IDENTITY_SOURCE_UP,
    help: '1 when an identity source has loaded and is current, 0 when it failed (traffic may then be attributed to world or unmanaged).',
    labelNames: ['source'],
    registers,
    collect() {
      this.reset();
      for (const s of status.sources()) this.set({ source: s.source }, s.up ? 1 : 0);
    },
  });
  new Counter({
    name: IDENTITY_RELOAD_FAILURES_TOTAL,
    help: 'Failed reloads of an identity source; the last good identities stay in use.',
    labelNames: ['source'],
    registers,
    collect() {
      this.reset();
      for (const s of status.sources()) this.inc({ source: s.source }, s.reloadFailures);
    },
  });
}
