// State of each identity source: what it knows, whether it is current, and
// how often it failed or restarted its watch. Totals are the sources' own,
// read at scrape time.

import type { Registry } from 'prom-client';
import { KernelCounter } from './core/kernel-counter.js';
import { KernelGauge } from './core/kernel-gauge.js';
import { sumByLabels } from './core/series.js';
import type { IdentityStatus } from './types.js';
import { IDENTITIES, IDENTITY_SOURCE_UP, IDENTITY_RELOAD_FAILURES_TOTAL, IDENTITY_WATCH_RESTARTS_TOTAL, IDENTITY_LAST_SYNC_TIMESTAMP_SECONDS } from './names.js';

export function registerIdentitySources(registers: Registry[], status: IdentityStatus): void {
  // Source names are unique, so each source is one series.
  new KernelGauge({
    name: IDENTITIES,
    help: 'Identities currently known from an identity source (static file, kubernetes).',
    labelNames: ['source'],
    registers,
    read: () => sumByLabels(status.sources().map((s) => [{ source: s.source }, s.identities])),
  });
  new KernelGauge({
    name: IDENTITY_SOURCE_UP,
    help: '1 when an identity source has loaded and is current, 0 when it failed (traffic may then be attributed to world or unmanaged).',
    labelNames: ['source'],
    registers,
    read: () => sumByLabels(status.sources().map((s) => [{ source: s.source }, s.up ? 1 : 0])),
  });
  new KernelCounter({
    name: IDENTITY_RELOAD_FAILURES_TOTAL,
    help: 'Failed reloads of an identity source; the last good identities stay in use.',
    labelNames: ['source'],
    registers,
    read: () => sumByLabels(status.sources().map((s) => [{ source: s.source }, s.reloadFailures])),
  });
  new KernelCounter({
    name: IDENTITY_WATCH_RESTARTS_TOTAL,
    help: 'Watches of a watching identity source (kubernetes) resumed after a disconnect, a failure or a relist.',
    labelNames: ['source'],
    registers,
    read: () => sumByLabels(status.sources().flatMap((s) => (s.watchRestarts === undefined ? [] : [[{ source: s.source }, s.watchRestarts] as const]))),
  });
  new KernelGauge({
    name: IDENTITY_LAST_SYNC_TIMESTAMP_SECONDS,
    help: 'Unix time of the last complete list of every resource a watching identity source (kubernetes) follows.',
    labelNames: ['source'],
    registers,
    read: () => sumByLabels(status.sources().flatMap((s) => (s.lastSyncSeconds === undefined ? [] : [[{ source: s.source }, s.lastSyncSeconds] as const]))),
  });
}
