// Addresses that just lost their owner (a deleted pod, a removed node) keep
// their last identity for a grace period, so packets still in flight, and
// connections draining after a pod is gone, are attributed to what sent them
// rather than to 'unmanaged'. A new owner of the address takes it at once.

import type { Cidr } from '../net/cidr.js';
import type { Identity } from './identity.js';

export type AddressClaim = { cidr: Cidr; identity: Identity };

type StaleClaim = AddressClaim & { expiresAt: number };

export class StaleAddresses {
  private previous = new Map<string, AddressClaim>();
  private readonly stale = new Map<string, StaleClaim>();

  constructor(
    private readonly graceMs: number,
    private readonly now: () => number,
  ) {}

  /**
   * Takes the addresses that are live now and returns what to publish: the
   * live ones, plus those that vanished less than the grace period ago and
   * that nothing live claims.
   */
  update(live: Map<string, AddressClaim>): Map<string, AddressClaim> {
    const now = this.now();
    for (const [text, claim] of this.previous) {
      if (!live.has(text) && !this.stale.has(text)) this.stale.set(text, { ...claim, expiresAt: now + this.graceMs });
    }
    for (const text of live.keys()) this.stale.delete(text);
    this.previous = live;
    this.expire(now);
    const out = new Map(live);
    for (const [text, claim] of this.stale) out.set(text, { cidr: claim.cidr, identity: claim.identity });
    return out;
  }

  /** Drops expired entries; true when any went. */
  expire(now = this.now()): boolean {
    let any = false;
    for (const [text, claim] of this.stale) {
      if (claim.expiresAt <= now) {
        this.stale.delete(text);
        any = true;
      }
    }
    return any;
  }

  /** When the next stale address expires, if any does. */
  nextExpiry(): number | undefined {
    let next: number | undefined;
    for (const claim of this.stale.values()) if (next === undefined || claim.expiresAt < next) next = claim.expiresAt;
    return next;
  }

  get size(): number {
    return this.stale.size;
  }
}
