// All known identities and the prefixes that map to them, gathered from every
// source (static file, Kubernetes, ...). The store is the single input of the
// ipcache sync and the single place metrics resolve an identity number.

import type { FlowlensError } from '../errors.js';
import type { Cidr } from '../net/cidr.js';
import { IdentityRegistry, identityKey, isReservedIdentity, RESERVED, reservedIdentity, type Identity } from './identity.js';

export type IdentityEntry = {
  identity: Identity;
  prefixes: Cidr[];
};

export type PrefixMapping = { cidr: Cidr; identity: number };

export type IdentityStoreOptions = {
  /** Cluster ranges: addresses inside that belong to no known workload are 'unmanaged'. */
  clusterCidrs?: Cidr[];
  /** Called once per distinct collision, for logging. */
  onCollision?: (error: FlowlensError) => void;
};

export type ChangeListener = (store: IdentityStore) => void;

export class IdentityStore {
  private readonly sources = new Map<string, IdentityEntry[]>();
  private readonly byId = new Map<number, Identity>();
  private readonly registry: IdentityRegistry;
  private readonly listeners = new Set<ChangeListener>();
  private clusterCidrs: Cidr[];
  /** Cluster ranges a source discovered (e.g. Node.spec.podCIDRs), by source. */
  private readonly discoveredCidrs = new Map<string, Cidr[]>();
  private prefixCache: Map<string, PrefixMapping> | undefined;
  private conflictCount = 0;

  constructor(options: IdentityStoreOptions = {}) {
    this.clusterCidrs = [...(options.clusterCidrs ?? [])];
    this.registry = new IdentityRegistry(options.onCollision);
  }

  /** Replaces everything a source knows. Sources keep the order of their first call. */
  setSource(name: string, entries: IdentityEntry[]): void {
    this.sources.set(name, entries.map((e) => ({ identity: e.identity, prefixes: [...e.prefixes] })));
    this.rebuild();
  }

  removeSource(name: string): void {
    if (this.sources.delete(name)) this.rebuild();
  }

  setClusterCidrs(cidrs: Cidr[]): void {
    this.clusterCidrs = [...cidrs];
    this.prefixCache = undefined;
    this.emit();
  }

  /** Cluster ranges a source found by itself; they join the configured ones. */
  setDiscoveredClusterCidrs(source: string, cidrs: Cidr[]): void {
    const before = (this.discoveredCidrs.get(source) ?? []).map((c) => c.text).join(',');
    if (before === cidrs.map((c) => c.text).join(',')) return;
    if (cidrs.length === 0) this.discoveredCidrs.delete(source);
    else this.discoveredCidrs.set(source, [...cidrs]);
    this.prefixCache = undefined;
    this.emit();
  }

  /** Configured cluster ranges, then discovered ones, each once. */
  allClusterCidrs(): Cidr[] {
    const out = new Map<string, Cidr>();
    for (const cidr of this.clusterCidrs) out.set(cidr.text, cidr);
    for (const cidrs of this.discoveredCidrs.values()) for (const cidr of cidrs) if (!out.has(cidr.text)) out.set(cidr.text, cidr);
    return [...out.values()];
  }

  /** Reserved numbers resolve to themselves ('reserved:world', ...); others to the first claimant. */
  resolve(id: number): Identity | undefined {
    return reservedIdentity(id) ?? this.byId.get(id);
  }

  /**
   * Every prefix the ipcache should hold. Cluster CIDRs map to 'unmanaged';
   * an exact prefix from a source replaces that entry. When two sources claim
   * one prefix, the source registered first wins and the clash is counted.
   */
  prefixes(): Map<string, PrefixMapping> {
    if (this.prefixCache) return new Map(this.prefixCache);
    const out = new Map<string, PrefixMapping>();
    for (const cidr of this.allClusterCidrs()) out.set(cidr.text, { cidr, identity: RESERVED.unmanaged });

    const claimedBy = new Map<string, string>();
    let conflicts = 0;
    for (const [source, entries] of this.sources) {
      for (const { identity, prefixes } of entries) {
        for (const cidr of prefixes) {
          const owner = claimedBy.get(cidr.text);
          if (owner !== undefined && owner !== source) {
            conflicts++;
            continue;
          }
          claimedBy.set(cidr.text, source);
          out.set(cidr.text, { cidr, identity: identity.id });
        }
      }
    }
    this.conflictCount = conflicts;
    this.prefixCache = out;
    return new Map(out);
  }

  /**
   * Number of identities each source contributes. Reserved identities a
   * source maps addresses to (host, remote-node, ...) are not its own and
   * are not counted.
   */
  counts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [source, entries] of this.sources) {
      out.set(source, new Set(entries.filter((e) => !isReservedIdentity(e.identity.id)).map((e) => e.identity.id)).size);
    }
    return out;
  }

  /** Every non-reserved identity the store resolves. */
  identities(): Identity[] {
    return [...this.byId.values()];
  }

  sourceNames(): string[] {
    return [...this.sources.keys()];
  }

  /** Distinct identity-number collisions seen since start. */
  get collisions(): number {
    return this.registry.collisions;
  }

  /** Prefixes claimed by more than one source in the current state. */
  get prefixConflicts(): number {
    this.prefixes();
    return this.conflictCount;
  }

  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private rebuild(): void {
    this.registry.reset();
    this.byId.clear();
    for (const entries of this.sources.values()) {
      for (const { identity } of entries) {
        if (isReservedIdentity(identity.id)) continue; // resolves to itself, never claimed
        if (this.registry.claim(identity.id, identityKey(identity.namespace, identity.labels))) {
          if (!this.byId.has(identity.id)) this.byId.set(identity.id, identity);
        }
      }
    }
    this.prefixCache = undefined;
    this.emit();
  }

  private emit(): void {
    for (const listener of this.listeners) listener(this);
  }
}
