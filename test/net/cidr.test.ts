import { describe, expect, it } from 'vitest';
import { cidrContains, formatAddress, parseAddress, parseCidr, tryParseCidr } from '../../src/net/cidr.js';

describe('parseCidr', () => {
  it('parses IPv4 prefixes into network-order bytes', () => {
    const c = parseCidr('10.20.0.0/16');
    expect(c.family).toBe(4);
    expect([...c.addr]).toEqual([10, 20, 0, 0]);
    expect(c.prefixLen).toBe(16);
    expect(c.text).toBe('10.20.0.0/16');
  });

  it('treats bare addresses as host prefixes', () => {
    expect(parseCidr('10.20.1.5').text).toBe('10.20.1.5/32');
    expect(parseCidr('fd00::5').text).toBe('fd00::5/128');
    expect(parseCidr('fd00::5').prefixLen).toBe(128);
  });

  it('canonicalises IPv6 text (RFC 5952)', () => {
    expect(parseCidr('FD00:0:0:0:0:0:0:5/128').text).toBe('fd00::5/128');
    expect(parseCidr('2001:db8:0:0:1:0:0:1/128').text).toBe('2001:db8::1:0:0:1/128');
    expect(parseCidr('::/0').text).toBe('::/0');
    expect(parseCidr('1:2:3:4:5:6:7:8').text).toBe('1:2:3:4:5:6:7:8/128');
    expect(parseCidr('1:0:3:4:5:6:7:8').text).toBe('1:0:3:4:5:6:7:8/128');
    expect(parseCidr('::ffff:192.0.2.1').text).toBe('::ffff:c000:201/128');
    const c = parseCidr('fd00:10::/32');
    expect(c.addr.toString('hex')).toBe('fd000010000000000000000000000000');
  });

  it('rejects malformed input with a message naming the value', () => {
    for (const bad of ['10.0.0.300/32', '10.0.0/24', '010.0.0.1', '10.0.0.1/33', '10.0.0.1/', 'fd00::5/129',
      'fd00:::5', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0', 'gggg::', '', 'hello', '10.0.0.1/-1', '1::2::3']) {
      const r = tryParseCidr(bad);
      expect(r.ok, bad).toBe(false);
      if (!r.ok) expect(r.reason).toContain(`"${bad}" is not a valid CIDR`);
    }
    expect(() => parseCidr('10.0.0.300/32')).toThrow('"10.0.0.300/32" is not a valid CIDR (bad IPv4 address)');
  });

  it('rejects host bits beyond the prefix and suggests the network', () => {
    expect(() => parseCidr('10.0.0.1/8')).toThrow('host bits set; did you mean 10.0.0.0/8?');
    expect(() => parseCidr('fd00::1/64')).toThrow('did you mean fd00::/64?');
    expect(parseCidr('10.128.0.0/9').text).toBe('10.128.0.0/9');
  });
});

describe('cidrContains', () => {
  it('compares whole and partial bytes of the prefix', () => {
    const net = parseCidr('10.128.0.0/9');
    expect(cidrContains(net, parseCidr('10.200.1.0/24'))).toBe(true);
    expect(cidrContains(net, parseCidr('10.127.255.255'))).toBe(false);
    expect(cidrContains(net, parseCidr('10.0.0.0/8'))).toBe(false); // wider than net
    expect(cidrContains(net, net)).toBe(true);
  });

  it('accepts bare addresses and never matches across families', () => {
    const all4 = parseCidr('0.0.0.0/0');
    expect(cidrContains(all4, parseAddress('192.0.2.1')!)).toBe(true);
    expect(cidrContains(all4, parseAddress('::1')!)).toBe(false);
    expect(cidrContains(parseCidr('fd00::/8'), parseAddress('fd12::1')!)).toBe(true);
    expect(cidrContains(parseCidr('fd00::/8'), parseAddress('fe00::1')!)).toBe(false);
  });
});

describe('formatAddress', () => {
  it('formats both families', () => {
    expect(formatAddress(Buffer.from([192, 0, 2, 1]))).toBe('192.0.2.1');
    expect(formatAddress(Buffer.alloc(16))).toBe('::');
    expect(() => formatAddress(Buffer.alloc(5))).toThrow(RangeError);
  });
});
