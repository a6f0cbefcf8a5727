import { describe, expect, it } from 'vitest';
import { OTHER_NAME } from '../../src/config/dns-query-names.js';
import { queryNameOf, SuffixFolder, TopFolder, TopNames } from '../../src/metrics/dns-name-folders.js';
import { dnsName } from '../common/dns.js';

describe('suffixes', () => {
  it('matches at label boundaries only, the most specific listed suffix first', () => {
    const f = new SuffixFolder(['example.com', 'api.example.com', 'Cluster.Local.']);
    expect(f.fold('example.com')).toBe('example.com');
    expect(f.fold('a.example.com')).toBe('example.com');
    expect(f.fold('a.b.c.example.com')).toBe('example.com');
    expect(f.fold('badexample.com')).toBe(OTHER_NAME);
    expect(f.fold('example.com.evil.net')).toBe(OTHER_NAME);
    expect(f.fold('com')).toBe(OTHER_NAME);
    expect(f.fold('api.example.com')).toBe('api.example.com');
    expect(f.fold('v1.api.example.com')).toBe('api.example.com');
    expect(f.fold('xapi.example.com')).toBe('example.com');
    expect(f.fold('db.svc.cluster.local')).toBe('cluster.local');
    // an escaped dot inside a label is not a boundary
    expect(f.fold('a\\046example.com')).toBe(OTHER_NAME);
    expect(f.fold('.')).toBe(OTHER_NAME);
  });

  it('reads names from the wire in lower case, the root as "."', () => {
    expect(queryNameOf(dnsName('WWW.Example.COM'), dnsName('WWW.Example.COM').length)).toBe('www.example.com');
    expect(queryNameOf(dnsName(''), 1)).toBe('.');
    // a label holding a dot stays one label
    const wire = Buffer.from([3, 0x61, 0x2e, 0x62, 3, 0x63, 0x6f, 0x6d, 0]);
    expect(queryNameOf(wire, wire.length)).toBe('a\\046b.com');
  });
});

describe('top N', () => {
  it('reports nothing before the first ranking, then the N best by guaranteed count', () => {
    const top = new TopNames(2, { capacity: 3, intervalMs: 1000, start: 0 });
    const stream = (name: string, times: number) => {
      for (let i = 0; i < times; i++) top.observe(name);
    };
    stream('a', 5);
    stream('b', 3);
    stream('c', 1);
    // the table is full: d replaces the weakest candidate, c, and inherits its count as error
    stream('d', 1);
    expect(top.tracked).toBe(3);
    expect(top.tick(999)).toBe(false);
    expect(top.reported()).toEqual([]);

    expect(top.tick(1000)).toBe(true);
    // d's guaranteed count is 2 - 1 = 1: third
    expect(top.reported()).toEqual(['a', 'b']);
    expect(top.generation).toBe(0);

    // counts halved at the ranking: a 2.5, b 1.5, d 1 (error 0.5). d now far ahead: it replaces b,
    // the weakest, since 10.5 > 2 * 1.5
    stream('d', 10);
    expect(top.tick(2000)).toBe(true);
    expect(top.reported()).toEqual(['d', 'a']);
    expect(top.isReported('b')).toBe(false);
    expect(top.generation).toBe(1);

    // halved again: a 1.25, b 0.75, d 5.25 (error 0.25). c comes back, replacing b (the weakest),
    // with 2 observations: guaranteed 2, not more than twice a's 1.25, so a stays
    stream('c', 2);
    expect(top.tick(3000)).toBe(false);
    expect(top.reported()).toEqual(['d', 'a']);
    // halved: c 1.375 (error 0.375), a 0.625; two more and c is at 3.375 - 0.375 = 3 > 2 * 0.625,
    // ahead of d (2.625 - 0.125 = 2.5) too
    stream('c', 2);
    expect(top.tick(4000)).toBe(true);
    expect(top.reported()).toEqual(['c', 'd']);
    expect(top.generation).toBe(2);
  });

  it('is bounded by its capacity and finds a heavy hitter in a long tail, the same way every run', () => {
    const run = () => {
      const top = new TopNames(5, { intervalMs: 1000, start: 0 });
      for (let i = 0; i < 20_000; i++) {
        // 10% heavy, 5% warm, the rest 17,000 distinct names seen once
        if (i % 10 === 0) top.observe('heavy.example.com');
        else if (i % 20 === 1) top.observe('warm.example.com');
        else top.observe(`n${i}.tail.example.com`);
      }
      expect(top.capacity).toBe(64);
      expect(top.tracked).toBe(64);
      top.tick(1000);
      return top.reported();
    };
    const first = run();
    expect(first.slice(0, 2)).toEqual(['heavy.example.com', 'warm.example.com']);
    expect(first.length).toBeLessThanOrEqual(5);
    expect(run()).toEqual(first);
  });

  it('a name that stops being asked for fades out; a long gap decays once per interval', () => {
    const top = new TopNames(1, { capacity: 4, intervalMs: 1000, start: 0 });
    for (let i = 0; i < 100; i++) top.observe('old');
    top.tick(1000);
    expect(top.reported()).toEqual(['old']);
    // nine intervals pass without a ranking: old is at 100 / 2^10 < 0.1 after the next one
    for (let i = 0; i < 3; i++) top.observe('new');
    expect(top.tick(10_000)).toBe(false);
    expect(top.reported()).toEqual(['old']);
    for (let i = 0; i < 3; i++) top.observe('new');
    expect(top.tick(11_000)).toBe(true);
    expect(top.reported()).toEqual(['new']);
  });

  it('folds names outside the reported set, and "other" itself', () => {
    const folder = new TopFolder(new TopNames(1, { capacity: 4, intervalMs: 1000, start: 0 }));
    expect(folder.fold('a.example', 0)).toBe(OTHER_NAME);
    expect(folder.fold('a.example', 1)).toBe(OTHER_NAME);
    expect(folder.fold('b.example', 2)).toBe(OTHER_NAME);
    // the ranking at 1000 runs before this observation is folded
    expect(folder.fold('a.example', 1000)).toBe('a.example');
    expect(folder.fold('b.example', 1001)).toBe(OTHER_NAME);
    expect(folder.fold(OTHER_NAME, 1002)).toBe(OTHER_NAME);
    expect(folder.current('a.example')).toBe(true);
    expect(folder.current('b.example')).toBe(false);
  });
});
