// Test doubles for the inputs of src/metrics: identities, a datapath whose
// snapshot a test replaces between scrapes, and identity source status.

import type { IdentitySourceStatus, IdentityStatus } from '../../src/metrics/types.js';
import type { IdentityContext, IdentityLookup } from '../../src/identity/contexts.js';
import type { DatapathSnapshot, DatapathSource } from '../../src/datapath/records.js';

export function emptySnapshot(overrides: Partial<DatapathSnapshot> = {}): DatapathSnapshot {
  return {
    traffic: [],
    starts: [],
    tcpFlags: [],
    drops: [],
    connectionAttempts: [],
    httpRequests: [],
    httpResponses: [],
    httpMessages: [],
    parsePackets: [],
    eventsLost: [],
    maps: [],
    programs: [],
    mapUpdateErrors: [],
    attachedInterfaces: 0,
    ...overrides,
  };
}

const RESERVED: Readonly<Record<number, string>> = {
  1: 'reserved:host',
  2: 'reserved:world',
  3: 'reserved:unmanaged',
  4: 'reserved:health',
  6: 'reserved:remote-node',
  7: 'reserved:kube-apiserver',
};

/** Workloads by identity; reserved identities render as the identity store does; unknown ids get only their number. */
export class FakeIdentities implements IdentityLookup {
  readonly lookups: number[] = [];
  private readonly byId = new Map<number, IdentityContext>();

  add(id: number, ctx: Partial<Omit<IdentityContext, 'identity'>>): this {
    this.byId.set(id, { identity: String(id), namespace: '', workload: '', workload_kind: '', app: '', pod: '', ...ctx });
    return this;
  }

  context(id: number): IdentityContext {
    this.lookups.push(id);
    const known = this.byId.get(id);
    if (known) return known;
    const reserved = RESERVED[id];
    if (reserved) return { identity: reserved, namespace: '', workload: reserved, workload_kind: '', app: '', pod: '' };
    return { identity: String(id), namespace: '', workload: '', workload_kind: '', app: '', pod: '' };
  }
}

export class FakeDatapath implements DatapathSource {
  snapshots = 0;
  constructor(public current: DatapathSnapshot = emptySnapshot()) {}

  snapshot(): DatapathSnapshot {
    this.snapshots += 1;
    return this.current;
  }
}

export class FakeIdentityStatus implements IdentityStatus {
  constructor(public current: IdentitySourceStatus[] = []) {}

  sources(): IdentitySourceStatus[] {
    return this.current;
  }
}

/** Lines of a rendered exposition that belong to `family` (samples only, no comments). */
export function samplesOf(text: string, family: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${family}{`) || line.startsWith(`${family} `));
}
