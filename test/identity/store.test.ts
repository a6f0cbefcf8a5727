import { describe, expect, it } from 'vitest';
import type { FlowlensError } from '../../src/errors.js';
import { parseCidr } from '../../src/net/cidr.js';
import { deriveIdentityId, type Identity } from '../../src/identity/identity.js';
import { IdentityStore, type IdentityEntry } from '../../src/identity/store.js';

function workload(namespace: string, app: string, source = 'static'): Identity {
  return { id: deriveIdentityId(namespace, { app }, []), namespace, workload: app, labels: { app }, source };
}

function entry(identity: Identity, ...prefixes: string[]): IdentityEntry {
  return { identity, prefixes: prefixes.map(parseCidr) };
}

function asObject(store: IdentityStore): Record<string, number> {
  return Object.fromEntries([...store.prefixes()].map(([k, v]) => [k, v.identity]));
}

describe('IdentityStore', () => {
  const frontend = workload('shop', 'frontend');
  const db = workload('shop', 'db');

  it('resolves source identities and reserved numbers', () => {
    const store = new IdentityStore();
    store.setSource('static', [entry(frontend, '10.20.1.5/32', 'fd00::5/128')]);
    expect(store.resolve(frontend.id)).toEqual(frontend);
    expect(store.resolve(2)?.workload).toBe('reserved:world');
    expect(store.resolve(3)?.workload).toBe('reserved:unmanaged');
    expect(store.resolve(db.id)).toBeUndefined();
  });

  it('combines sources with cluster CIDRs as unmanaged, exact source prefixes winning', () => {
    const store = new IdentityStore({ clusterCidrs: [parseCidr('10.20.0.0/16'), parseCidr('10.30.0.0/16')] });
    store.setSource('static', [entry(frontend, '10.20.1.5/32'), entry(db, '10.30.0.0/16')]);
    expect(asObject(store)).toEqual({
      '10.20.0.0/16': 3,
      '10.30.0.0/16': db.id,
      '10.20.1.5/32': frontend.id,
    });
    const mapping = store.prefixes().get('10.20.1.5/32')!;
    expect(mapping.cidr.addr).toEqual(Buffer.from([10, 20, 1, 5]));
  });

  it('replaces a source wholesale and removes it', () => {
    const store = new IdentityStore();
    store.setSource('static', [entry(frontend, '10.0.0.1/32')]);
    store.setSource('static', [entry(db, '10.0.0.2/32')]);
    expect(asObject(store)).toEqual({ '10.0.0.2/32': db.id });
    expect(store.resolve(frontend.id)).toBeUndefined();
    store.removeSource('static');
    expect(store.prefixes().size).toBe(0);
    expect(store.sourceNames()).toEqual([]);
  });

  it('counts identities per source', () => {
    const store = new IdentityStore();
    const k8sFrontend = { ...frontend, source: 'kubernetes' };
    store.setSource('static', [entry(frontend, '10.0.0.1/32'), entry(db, '10.0.0.2/32')]);
    store.setSource('kubernetes', [entry(k8sFrontend, '10.1.0.1/32'), entry(k8sFrontend, '10.1.0.2/32')]);
    expect(store.counts()).toEqual(new Map([['static', 2], ['kubernetes', 1]]));
    expect(store.identities().map((i) => i.id).sort()).toEqual([frontend.id, db.id].sort());
  });

  it('keeps the first source on a prefix two sources claim, and counts the clash', () => {
    const store = new IdentityStore();
    store.setSource('static', [entry(frontend, '10.0.0.1/32')]);
    store.setSource('kubernetes', [entry(db, '10.0.0.1/32', '10.0.0.9/32')]);
    expect(asObject(store)).toEqual({ '10.0.0.1/32': frontend.id, '10.0.0.9/32': db.id });
    expect(store.prefixConflicts).toBe(1);
  });

  it('keeps the first identity on an id collision and reports it once', () => {
    const reported: FlowlensError[] = [];
    const store = new IdentityStore({ onCollision: (e) => reported.push(e) });
    const impostor: Identity = { ...db, id: frontend.id };
    store.setSource('static', [entry(frontend, '10.0.0.1/32'), entry(impostor, '10.0.0.2/32')]);
    expect(store.resolve(frontend.id)?.workload).toBe('frontend');
    expect(store.collisions).toBe(1);
    store.setClusterCidrs([parseCidr('10.0.0.0/8')]);
    store.setSource('static', [entry(frontend, '10.0.0.1/32'), entry(impostor, '10.0.0.2/32')]);
    expect(store.collisions).toBe(1);
    expect(reported.map((e) => e.code)).toEqual(['FLOWLENS_ERR_IDENTITY_COLLISION']);
  });

  it('notifies subscribers of every change until they unsubscribe', () => {
    const store = new IdentityStore();
    const seen: number[] = [];
    const off = store.subscribe((s) => seen.push(s.prefixes().size));
    store.setSource('static', [entry(frontend, '10.0.0.1/32')]);
    store.setClusterCidrs([parseCidr('10.0.0.0/8')]);
    off();
    store.removeSource('static');
    expect(seen).toEqual([1, 2]);
  });
});
