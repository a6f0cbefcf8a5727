import { describe, expect, it } from 'vitest';
import type { FlowlensError } from '../../src/errors.js';
import {
  deriveIdentityId,
  hashIdentityKey,
  IdentityRegistry,
  identityKey,
  isReservedIdentity,
  MAX_DERIVED_IDENTITY,
  MIN_DERIVED_IDENTITY,
  reservedIdentity,
  reservedName,
} from '../../src/identity/identity.js';

// Computed independently: python3 -c "import hashlib;d=hashlib.sha256(b'[\"shop\",[[\"app\",\"frontend\"]]]').digest();print(65536+int.from_bytes(d[:6],'big')%16711680)"
const FIXED_VECTOR = 2438139;

describe('reserved identities', () => {
  it("use Cilium's numbers and names", () => {
    expect([0, 1, 2, 3, 4, 6, 7].map(reservedName)).toEqual([
      'reserved:unknown', 'reserved:host', 'reserved:world', 'reserved:unmanaged', 'reserved:health',
      'reserved:remote-node', 'reserved:kube-apiserver',
    ]);
    expect(reservedName(5)).toBeUndefined();
    expect(reservedName(65536)).toBeUndefined();
    expect(isReservedIdentity(2)).toBe(true);
    expect(isReservedIdentity(8)).toBe(false);
  });

  it('resolve to identities named after themselves', () => {
    expect(reservedIdentity(2)).toEqual({
      id: 2, namespace: '', workload: 'reserved:world', name: 'reserved:world', labels: {}, source: 'reserved',
    });
    expect(reservedIdentity(100)).toBeUndefined();
  });
});

describe('deriveIdentityId', () => {
  const exclude = ['pod-template-hash'];

  it('is independent of label order', () => {
    const a = deriveIdentityId('shop', { app: 'frontend', tier: 'web', zone: 'a' }, exclude);
    const b = deriveIdentityId('shop', { zone: 'a', tier: 'web', app: 'frontend' }, exclude);
    expect(a).toBe(b);
  });

  it('ignores excluded labels', () => {
    const base = deriveIdentityId('shop', { app: 'frontend' }, exclude);
    expect(deriveIdentityId('shop', { app: 'frontend', 'pod-template-hash': '7d9f' }, exclude)).toBe(base);
    expect(deriveIdentityId('shop', { app: 'frontend', 'pod-template-hash': 'abcd' }, exclude)).toBe(base);
    // without the exclusion the hash label would count
    expect(deriveIdentityId('shop', { app: 'frontend', 'pod-template-hash': '7d9f' }, [])).not.toBe(base);
  });

  it('depends on the namespace and on every relevant label', () => {
    const base = deriveIdentityId('shop', { app: 'frontend' }, []);
    expect(deriveIdentityId('shop2', { app: 'frontend' }, [])).not.toBe(base);
    expect(deriveIdentityId('shop', { app: 'frontend2' }, [])).not.toBe(base);
    expect(deriveIdentityId('shop', { app: 'frontend', tier: 'web' }, [])).not.toBe(base);
  });

  it('encodes unambiguously', () => {
    expect(identityKey('a', { 'b=c': 'd' })).not.toBe(identityKey('a', { b: 'c=d' }));
    expect(identityKey('a,b', {})).not.toBe(identityKey('a', { b: '' }));
    expect(identityKey('shop', { tier: 'web', app: 'x' })).toBe('["shop",[["app","x"],["tier","web"]]]');
  });

  it('is stable across releases (fixed vector) and lands in the derived range', () => {
    // sha256('["shop",[["app","frontend"]]]') -> first 6 bytes mod range + 65536.
    const id = deriveIdentityId('shop', { app: 'frontend' }, []);
    expect(id).toBe(hashIdentityKey('["shop",[["app","frontend"]]]'));
    expect(id).toBe(FIXED_VECTOR);
    for (let i = 0; i < 2000; i++) {
      const v = deriveIdentityId(`ns${i}`, { app: `a${i}` }, []);
      expect(v).toBeGreaterThanOrEqual(MIN_DERIVED_IDENTITY);
      expect(v).toBeLessThanOrEqual(MAX_DERIVED_IDENTITY);
    }
    expect(MIN_DERIVED_IDENTITY).toBe(65536);
    expect(MAX_DERIVED_IDENTITY).toBe(16777215);
  });
});

describe('IdentityRegistry', () => {
  it('keeps the first claimant and reports each collision once', () => {
    const reported: FlowlensError[] = [];
    const reg = new IdentityRegistry((e) => reported.push(e));
    expect(reg.claim(70000, 'first')).toBe(true);
    expect(reg.claim(70000, 'first')).toBe(true);
    expect(reg.claim(70000, 'second')).toBe(false);
    expect(reg.keyOf(70000)).toBe('first');
    expect(reg.collisions).toBe(1);
    expect(reported).toHaveLength(1);
    expect(reported[0]!.code).toBe('FLOWLENS_ERR_IDENTITY_COLLISION');
    expect(reported[0]!.message).toContain('identity 70000');
    expect(reported[0]!.message).toContain('keeping first, ignoring second');

    // the same collision after a rebuild is not counted again; a new one is
    reg.reset();
    expect(reg.size).toBe(0);
    reg.claim(70000, 'first');
    reg.claim(70000, 'second');
    reg.claim(70000, 'third');
    expect(reg.collisions).toBe(2);
    expect(reported).toHaveLength(2);
  });
});
