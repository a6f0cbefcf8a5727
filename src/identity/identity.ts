// Security identities: the number every metric and kernel map uses for "who".
// A workload's identity is derived from its namespace and identity-relevant
// labels only, with a hash, so every node computes the same number without
// talking to the others or to an allocator.

import { createHash } from 'node:crypto';
import { createError, type FlowlensError } from '../errors.js';

/** Reserved identities, numbered as Cilium numbers them (bpf/flowlens.h mirrors these). */
export const RESERVED = {
  unknown: 0,
  host: 1,
  world: 2,
  unmanaged: 3,
  health: 4,
  'remote-node': 6,
  'kube-apiserver': 7,
} as const;

export type ReservedName = keyof typeof RESERVED;

const RESERVED_BY_ID = new Map<number, ReservedName>(
  Object.entries(RESERVED).map(([name, id]) => [id, name as ReservedName]),
);

/**
 * Derived identities live in [65536, 16777215]: above every reserved number and
 * Cilium's cluster-local range (1..65535), below the 2^24 where Cilium starts
 * node-local CIDR identities, so the two numbering schemes never meet.
 */
export const MIN_DERIVED_IDENTITY = 65536;
export const MAX_DERIVED_IDENTITY = 16777215;
const DERIVED_RANGE = MAX_DERIVED_IDENTITY - MIN_DERIVED_IDENTITY + 1;

export type Identity = {
  id: number;
  /** '' for reserved identities and known external peers. */
  namespace: string;
  /** What metrics show as the workload: a workload name or 'reserved:world' style names. */
  workload: string;
  /** Kind of the workload (Deployment, StatefulSet, ..., Pod, Service) where a source knows it. */
  workloadKind?: string;
  name?: string;
  /** Identity-relevant labels (excluded keys already removed). */
  labels: Record<string, string>;
  /** Which source produced it: 'static', 'kubernetes', 'reserved', ... */
  source: string;
};

export function isReservedIdentity(id: number): boolean {
  return RESERVED_BY_ID.has(id);
}

/** 'reserved:world' for 2, and so on; undefined for identities that are not reserved. */
export function reservedName(id: number): string | undefined {
  const name = RESERVED_BY_ID.get(id);
  return name === undefined ? undefined : `reserved:${name}`;
}

/** The identity a reserved number stands for, in the same shape as any other. */
export function reservedIdentity(id: number): Identity | undefined {
  const name = reservedName(id);
  if (name === undefined) return undefined;
  return { id, namespace: '', workload: name, name, labels: {}, source: 'reserved' };
}

/** Labels that decide the identity: everything but the excluded keys. */
export function relevantLabels(labels: Record<string, string>, exclude: readonly string[]): Record<string, string> {
  const skip = new Set(exclude);
  const out: Record<string, string> = {};
  for (const key of Object.keys(labels).sort(compareCodeUnits)) {
    if (!skip.has(key)) out[key] = labels[key]!;
  }
  return out;
}

// Code-unit order, not localeCompare: the encoding must not depend on the
// node's locale or ICU version, or nodes would disagree on ids.
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Canonical text of an identity: JSON of the namespace and the sorted
 * relevant label pairs. JSON quoting keeps it unambiguous ("a=b","c" and
 * "a","b=c" encode differently), which a plain "k=v,k=v" join would not.
 */
export function identityKey(namespace: string, labels: Record<string, string>, exclude: readonly string[] = []): string {
  const pairs = Object.entries(relevantLabels(labels, exclude));
  return JSON.stringify([namespace, pairs]);
}

/** Maps a canonical key into the derived-identity range. */
export function hashIdentityKey(key: string): number {
  const digest = createHash('sha256').update(key, 'utf8').digest();
  // 48 bits modulo a 24-bit range: the bias is below 2^-24, negligible.
  return MIN_DERIVED_IDENTITY + (digest.readUIntBE(0, 6) % DERIVED_RANGE);
}

/** The identity number of a workload; the same on every node. */
export function deriveIdentityId(namespace: string, labels: Record<string, string>, exclude: readonly string[]): number {
  return hashIdentityKey(identityKey(namespace, labels, exclude));
}

/**
 * Which canonical key owns each derived number. Two label sets that hash to
 * one number cannot both be told apart in the kernel, so the first claimant
 * keeps the number and the other is reported. Collision history survives
 * reset(), so rebuilding the claims on every change reports each collision
 * once rather than once per rebuild.
 */
export class IdentityRegistry {
  private readonly owners = new Map<number, string>();
  private readonly seenCollisions = new Set<string>();
  private collisionCount = 0;

  constructor(private readonly onCollision?: (error: FlowlensError) => void) {}

  /** True when `key` owns `id` (newly or already); false when another key has it. */
  claim(id: number, key: string): boolean {
    const owner = this.owners.get(id);
    if (owner === undefined) {
      this.owners.set(id, key);
      return true;
    }
    if (owner === key) return true;

    const pair = JSON.stringify([id, owner, key]);
    if (!this.seenCollisions.has(pair)) {
      this.seenCollisions.add(pair);
      this.collisionCount++;
      this.onCollision?.(createError('FLOWLENS_ERR_IDENTITY_COLLISION', id, owner, key));
    }
    return false;
  }

  keyOf(id: number): string | undefined {
    return this.owners.get(id);
  }

  /** Forgets every claim (before a rebuild); the collision count is kept. */
  reset(): void {
    this.owners.clear();
  }

  /** Distinct collisions seen since start. */
  get collisions(): number {
    return this.collisionCount;
  }

  get size(): number {
    return this.owners.size;
  }
}
