// One datapath snapshot per scrape. prom-client asks every metric for its
// values in one synchronous pass at the start of registry.metrics() (each
// get() reads its values before the first await), so a view cached until
// the next microtask is shared by every family of that scrape and never
// leaks into the next one. Reading the kernel maps once also makes all
// families of a scrape consistent with each other.

import type { IdentityExpiry } from './identity-ttl.js';
import type { ContextName } from '../types.js';
import type { IdentityLookup } from '../../identity/contexts.js';
import type { DatapathSnapshot, DatapathSource } from '../../datapath/records.js';

// Kubernetes names and label values cannot contain NUL, so it separates
// fields of a series key unambiguously.
export const KEY_SEPARATOR = '\u0000';

/** Context label values of one identity, plus a short key that is equal iff the values are. */
export interface RenderedEnd {
  readonly values: readonly string[];
  readonly key: string;
  /** The identity has been unknown to every source for longer than metrics.identityTtlSeconds. */
  readonly expired?: boolean;
}

/**
 * Numbers each distinct rendering of an identity, for the life of the
 * process, so series keys hold a short number instead of every context
 * value: there is one key lookup per kernel record, and short keys hash fast.
 */
export class EndKeys {
  private readonly keys = new Map<string, string>();

  keyOf(values: readonly string[]): string {
    const full = values.join(KEY_SEPARATOR);
    let key = this.keys.get(full);
    if (key === undefined) {
      key = String(this.keys.size);
      this.keys.set(full, key);
    }
    return key;
  }
}

export class ScrapeView {
  private readonly ends = new Map<number, RenderedEnd>();

  constructor(
    readonly snapshot: DatapathSnapshot,
    private readonly identities: IdentityLookup,
    private readonly contexts: readonly ContextName[],
    private readonly endKeys: EndKeys,
    private readonly expiry?: IdentityExpiry,
  ) {}

  /** Identities repeat across records and families, so each is looked up once per scrape. */
  end(id: number): RenderedEnd {
    let end = this.ends.get(id);
    if (end === undefined) {
      const context = this.identities.context(id);
      const values = this.contexts.map((c) => context[c] ?? '');
      end = { values, key: this.endKeys.keyOf(values), expired: this.expiry?.expired(id) ?? false };
      this.ends.set(id, end);
    }
    return end;
  }
}

export class ScrapeScope {
  // A failed read is shared like a good one: the scrape fails once, and
  // the kernel is not asked again by every remaining family.
  private view: { ok: true; view: ScrapeView } | { ok: false; error: unknown } | undefined;
  private readonly endKeys = new EndKeys();

  constructor(
    private readonly datapath: DatapathSource,
    private readonly identities: IdentityLookup,
    private readonly contexts: readonly ContextName[],
    private readonly expiry?: IdentityExpiry,
  ) {}

  current(): ScrapeView {
    if (this.view === undefined) {
      try {
        this.view = { ok: true, view: new ScrapeView(this.datapath.snapshot(), this.identities, this.contexts, this.endKeys, this.expiry) };
      } catch (error) {
        this.view = { ok: false, error };
      }
      queueMicrotask(() => {
        this.view = undefined;
      });
    }
    if (!this.view.ok) throw this.view.error;
    return this.view.view;
  }
}
