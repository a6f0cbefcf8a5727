import { describe, expect, it } from 'vitest';
import { AddressSet } from '../../src/flows/address-set.js';
import { cidrContains, formatAddress, makeCidr, parseAddress, parseCidr, type Cidr } from '../../src/net/cidr.js';

/** A small deterministic generator (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An address near a few bases, so prefixes nest, touch and miss. */
function address(next: () => number, family: 4 | 6): Buffer {
  const out = Buffer.alloc(family === 4 ? 4 : 16);
  out[0] = family === 4 ? 10 : 0xfd;
  for (let i = 1; i < out.length; i++) out[i] = next() < 0.7 ? 0 : Math.floor(next() * 256);
  return out;
}

function prefix(next: () => number, family: 4 | 6): Cidr {
  const bits = family === 4 ? 32 : 128;
  const len = Math.floor(next() * (bits + 1));
  const addr = address(next, family);
  for (let bit = len; bit < bits; bit++) addr[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return makeCidr(family, addr, len);
}

describe('AddressSet', () => {
  it('answers exactly like testing every prefix in turn (random nested and disjoint prefixes, both families)', () => {
    const next = random(14);
    const answers = { true: 0, false: 0 };
    for (let round = 0; round < 200; round++) {
      const cidrs = Array.from({ length: 1 + Math.floor(next() * 20) }, () => prefix(next, next() < 0.5 ? 4 : 6));
      const set = new AddressSet(cidrs);
      for (let i = 0; i < 50; i++) {
        const family = next() < 0.5 ? 4 : 6;
        const ip = formatAddress(address(next, family));
        const want = cidrs.some((c) => cidrContains(c, parseAddress(ip)!));
        answers[`${want}`]++;
        expect([cidrs.map((c) => c.text), ip, set.has(ip)]).toEqual([cidrs.map((c) => c.text), ip, want]);
      }
    }
    // the cases are worth something only if both answers are common
    expect(Math.min(answers.true, answers.false)).toBeGreaterThan(2000);
  });

  it('handles the edges: /0, host prefixes, the last address of a range, the other family, no address', () => {
    const v4 = new AddressSet(['10.1.0.0/16', '10.1.2.3/32', '192.0.2.255/32'].map(parseCidr));
    expect(['10.1.0.0', '10.1.2.3', '10.1.255.255', '10.0.255.255', '10.2.0.0', '192.0.2.255', '192.0.2.254'].map((ip) => v4.has(ip))).toEqual([
      true, true, true, false, false, true, false,
    ]);
    const all = new AddressSet([parseCidr('0.0.0.0/0')]);
    expect(['0.0.0.0', '255.255.255.255', 'fd00::1'].map((ip) => all.has(ip))).toEqual([true, true, false]);
    const v6 = new AddressSet(['fd00::/120', 'fd00::1:0/127'].map(parseCidr));
    expect(['fd00::', 'fd00::ff', 'fd00::100', 'fd00::1:1', 'fd00::1:2', '10.0.0.1', '', 'not-an-ip'].map((ip) => v6.has(ip))).toEqual([
      true, true, false, true, false, false, false, false,
    ]);
    expect(new AddressSet([]).has('10.0.0.1')).toBe(false);
    // what is not an address is in no prefix, even /0
    expect(['1.2.3', '1.2.3.4.5', '256.0.0.1', '1..2.3', '1.2.3.', '.1.2.3', '1.2.3.1000', '1.2.3.x', ' 1.2.3.4'].map((ip) => all.has(ip))).toEqual(
      Array(9).fill(false),
    );
  });
});
