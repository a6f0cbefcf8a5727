import { describe, expect, it } from 'vitest';
import { Interner, INTERNED_OVERHEAD_BYTES } from '../../src/flows/interner.js';

describe('Interner', () => {
  it('keeps each string once, by one id, while anything refers to it', () => {
    const strings = new Interner();
    const a = strings.ref('shop');
    expect(strings.ref('shop')).toBe(a);
    const b = strings.ref('api');
    expect(b).not.toBe(a);
    expect([strings.get(a), strings.get(b)]).toEqual(['shop', 'api']);
    expect(strings.size).toBe(2);
    expect(strings.bytes).toBe(7 + 2 * INTERNED_OVERHEAD_BYTES);
    expect(strings.unref(a)).toBe(false);
    expect(strings.get(a)).toBe('shop');
    expect(strings.unref(a)).toBe(true);
    expect(strings.has(a)).toBe(false);
    expect(strings.size).toBe(1);
    expect(strings.bytes).toBe(3 + INTERNED_OVERHEAD_BYTES);
  });

  it('reuses the ids of dropped strings, so a stream of unique strings holds only the live ones', () => {
    const strings = new Interner();
    let last = -1;
    let maxId = 0;
    for (let i = 0; i < 1000; i++) {
      const id = strings.ref(`/path/${i}`);
      maxId = Math.max(maxId, id);
      if (last >= 0) strings.unref(last);
      last = id;
    }
    expect(maxId).toBe(1);
    expect(strings.size).toBe(1);
    expect(strings.get(last)).toBe('/path/999');
  });

  it('again() adds a reference to an id held already', () => {
    const strings = new Interner();
    const id = strings.ref('x');
    expect(strings.again(id)).toBe(id);
    expect(strings.unref(id)).toBe(false);
    expect(strings.unref(id)).toBe(true);
  });
});
