import { describe, expect, it } from 'vitest';
import { normalizeSuffix, OTHER_NAME } from '../../src/config/dns-query-names.js';

describe('dns.queryNames suffixes', () => {
  it('normalises configured suffixes and refuses what cannot be one', () => {
    expect(normalizeSuffix('Example.COM.')).toEqual({ ok: true, suffix: 'example.com' });
    expect(normalizeSuffix('svc.cluster.local')).toEqual({ ok: true, suffix: 'svc.cluster.local' });
    expect(normalizeSuffix('_tcp.example.com')).toEqual({ ok: true, suffix: '_tcp.example.com' });
    for (const bad of ['', '.', 'a..b', '.example.com', 'exa mple.com', 'a\\b', OTHER_NAME, `${'x'.repeat(64)}.com`, `${'abcdefghi.'.repeat(26)}com`]) {
      expect(normalizeSuffix(bad).ok, bad).toBe(false);
    }
  });
});
