import { Counter, Gauge, type Registry } from 'prom-client';
import type { IdentityStatus } from './types.js';
import { IDENTITIES, IDENTITY_SOURCE_UP, IDENTITY_RELOAD_FAILURES_TOTAL, IDENTITY_WATCH_RESTARTS_TOTAL, IDENTITY_LAST_SYNC_TIMESTAMP_SECONDS } from './names.js';

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
  new Counter({
    name: IDENTITY_WATCH_RESTARTS_TOTAL,
    help: 'Watches of a watching identity source (kubernetes) resumed after a disconnect, a failure or a relist.',
    labelNames: ['source'],
    registers,
    collect() {
      this.reset();
      for (const s of status.sources()) if (s.watchRestarts !== undefined) this.inc({ source: s.source }, s.watchRestarts);
    },
  });
  new Gauge({
    name: IDENTITY_LAST_SYNC_TIMESTAMP_SECONDS,
    help: 'Unix time of the last complete list of every resource a watching identity source (kubernetes) follows.',
    labelNames: ['source'],
    registers,
    collect() {
      this.reset();
      for (const s of status.sources()) if (s.lastSyncSeconds !== undefined) this.set({ source: s.source }, s.lastSyncSeconds);
    },
  });
}
