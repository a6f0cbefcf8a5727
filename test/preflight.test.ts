import { describe, expect, it } from 'vitest';
import { effectiveCapabilities, missingCapabilities, preflight } from '../src/preflight.js';

const bit = (n: number) => 1n << BigInt(n);

describe('preflight', () => {
  it('reads the effective capability set from /proc status text', () => {
    expect(effectiveCapabilities('Name:\tnode\nCapEff:\t000001ffffffffff\n')).toBe(0x1ffffffffffn);
    expect(effectiveCapabilities('Name:\tnode\n')).toBe(0n);
  });

  it('names each missing capability', () => {
    expect(missingCapabilities(0n)).toEqual(['CAP_BPF', 'CAP_PERFMON', 'CAP_NET_ADMIN']);
    expect(missingCapabilities(bit(39) | bit(38) | bit(12))).toEqual([]);
    expect(missingCapabilities(bit(21))).toEqual(['CAP_NET_ADMIN']);
  });

  it('refuses to run without privileges, naming them, with exit status 3', () => {
    let caught: any;
    try {
      preflight({ capEff: bit(12) });
    } catch (err) {
      caught = err;
    }
    expect(caught.code).toBe('FLOWLENS_ERR_NOT_ROOT');
    expect(caught.exitStatus).toBe(3);
    expect(caught.message).toContain('missing CAP_BPF, CAP_PERFMON');
  });

  it('refuses to run without kernel BTF, naming the path', () => {
    expect(() => preflight({ capEff: bit(21) | bit(12), btfPath: '/nonexistent/vmlinux' })).toThrow(
      'kernel BTF not found at /nonexistent/vmlinux',
    );
  });

  it('passes on this machine, where CI runs as root on a kernel with BTF', () => {
    expect(() => preflight()).not.toThrow();
  });
});
