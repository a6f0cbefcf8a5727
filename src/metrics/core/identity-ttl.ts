// Series of identities that no longer exist. The kernel's counters keep an
// identity pair's totals after its pods are gone (and the ipcache entry has
// left), so without a limit every pod rollout would add series for good.
// An identity no source has known for `ttlMs` is expired: its records are
// left out of every family, and the series they fed release their slots
// under metrics.seriesLimit. Reserved identities never expire; an identity
// that comes back (the same labels, so the same number) is counted again.

import type { IdentityLookup } from '../../identity/contexts.js';

export class IdentityExpiry {
  /** Identity -> when it was first seen unknown. Bounded by the identities in the kernel's maps. */
  private readonly goneSince = new Map<number, number>();

  constructor(
    private readonly lookup: IdentityLookup,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  expired(id: number): boolean {
    if (this.lookup.known === undefined || this.lookup.known(id)) {
      if (this.goneSince.size > 0) this.goneSince.delete(id);
      return false;
    }
    const since = this.goneSince.get(id);
    const now = this.now();
    if (since === undefined) {
      this.goneSince.set(id, now);
      return this.ttlMs <= 0;
    }
    return now - since >= this.ttlMs;
  }

  /** Identities currently unknown (expired or waiting out the TTL). */
  get unknownCount(): number {
    return this.goneSince.size;
  }
}
