import { describe, expect, it } from 'vitest';
import { compileFilter, FILTERS, FilterError, filterToQuery, parseFilter, type RawFilter } from '../../src/flows/filter.js';
import type { FlowRecord } from '../../src/flows/record.js';
import { API, DB, FRONTEND, rec, T0, WORLD } from '../common/flows.js';

/** Nine records differing in one or two fields each; every filter picks an exact subset. */
const RECORDS: FlowRecord[] = [
  /* 0 */ rec(0),
  /* 1 */ rec(10, { destination: DB(), protocol: 'tcp', verdict: 'dropped', type: 'drop', drop: { reason: 'netfilter_drop', reasonClass: 'policy' } }),
  /* 2 */ rec(20, { source: WORLD(), destination: API(80), direction: 'ingress', node: 'node-b' }),
  /* 3 */ rec(30, { protocol: 'udp', destination: DB(53, '10.0.1.9'), type: 'dns', dns: { qname: 'db.data.', qtype: 'A', rcode: 'NXDOMAIN', latencySeconds: 0.002 } }),
  /* 4 */ rec(40, { type: 'dns', protocol: 'udp', destination: API(53), dns: { qname: 'api.shop.', qtype: 'AAAA', rcode: 'NOERROR' } }),
  /* 5 */ rec(50, { type: 'http', destination: API(8080), http: { method: 'GET', path: '/cart', status: 503, latencySeconds: 0.1 } }),
  /* 6 */ rec(60, { type: 'http', destination: API(8080), http: { method: 'POST', path: '/pay', status: 404 } }),
  /* 7 */ rec(70, { type: 'tcp', verdict: 'dropped', tcp: { outcome: 'refused' }, source: API(33000), destination: FRONTEND(7000) }),
  /* 8 */ rec(80, { type: 'http', destination: API(8080), http: { method: 'GET', path: '/slow' } }),
];

const NOW = T0 + 100_000;

function pick(raw: RawFilter, byFlag = false): number[] {
  const match = compileFilter(parseFilter(raw, NOW, byFlag));
  return RECORDS.flatMap((r, i) => (match(r) ? [i] : []));
}

const ALL = RECORDS.map((_, i) => i);

describe('flow filters, each alone', () => {
  const cases: Array<[string, RawFilter, number[]]> = [
    ['no filter', {}, ALL],
    ['from_namespace', { from_namespace: 'shop' }, [0, 1, 3, 4, 5, 6, 7, 8]],
    ['to_namespace', { to_namespace: 'data' }, [1, 3]],
    ['namespace (either end)', { namespace: 'data' }, [1, 3]],
    ['from_workload', { from_workload: 'api' }, [7]],
    ['to_workload', { to_workload: 'frontend' }, [7]],
    ['workload (either end)', { workload: 'reserved:world' }, [2]],
    ['from_identity by reserved name', { from_identity: 'reserved:world' }, [2]],
    ['from_identity by number', { from_identity: '2' }, [2]],
    ['to_identity', { to_identity: '70003' }, [1, 3]],
    ['identity (either end)', { identity: '70001' }, ALL.filter((i) => i !== 2)],
    ['from_pod (none known)', { from_pod: 'db-0' }, []],
    ['to_pod', { to_pod: 'db-0' }, [1, 3]],
    ['pod (either end)', { pod: 'db-0' }, [1, 3]],
    ['from_ip exact', { from_ip: '192.0.2.7' }, [2]],
    ['to_ip CIDR', { to_ip: '10.0.1.0/24' }, [1, 3]],
    ['to_ip exact', { to_ip: '10.0.1.9' }, [3]],
    ['ip (either end)', { ip: '10.0.0.1' }, ALL.filter((i) => i !== 2)],
    ['from_port', { from_port: '33000' }, [7]],
    ['to_port', { to_port: '53' }, [3, 4]],
    ['port (either end)', { port: '7000' }, [7]],
    ['protocol', { protocol: 'udp' }, [3, 4]],
    ['protocol upper case', { protocol: 'UDP' }, [3, 4]],
    ['protocol by number', { protocol: '17' }, [3, 4]],
    ['protocol ip-N (none such)', { protocol: 'ip-47' }, []],
    ['verdict', { verdict: 'dropped' }, [1, 7]],
    ['verdict upper case', { verdict: 'DROPPED' }, [1, 7]],
    ['type', { type: 'http' }, [5, 6, 8]],
    ['type tcp', { type: 'tcp' }, [7]],
    ['node', { node: 'node-b' }, [2]],
    ['http_status exact', { http_status: '404' }, [6]],
    ['http_status class', { http_status: '5xx' }, [5]],
    ['http_status range', { http_status: '400-599' }, [5, 6]],
    ['dns_rcode by name', { dns_rcode: 'nxdomain' }, [3]],
    ['dns_rcode by number', { dns_rcode: '0' }, [4]],
    ['since (RFC 3339)', { since: new Date(T0 + 60_000).toISOString() }, [6, 7, 8]],
    ['since (duration ago)', { since: '45s' }, [6, 7, 8]],
    ['until', { until: new Date(T0 + 20_000).toISOString() }, [0, 1, 2]],
  ];
  it('covers every filter of the table', () => {
    const params = new Set(cases.flatMap(([, raw]) => Object.keys(raw)));
    expect(FILTERS.map((f) => f.param).filter((p) => !params.has(p))).toEqual([]);
  });
  for (const [name, raw, want] of cases) {
    it(name, () => expect(pick(raw)).toEqual(want));
  }
});

describe('flow filters combined', () => {
  it('alternatives of one filter match any (repeated or comma-separated)', () => {
    expect(pick({ type: ['dns', 'tcp'] })).toEqual([3, 4, 7]);
    expect(pick({ type: 'dns,tcp' })).toEqual([3, 4, 7]);
    expect(pick({ to_port: '53, 7000' })).toEqual([3, 4, 7]);
  });
  it('different filters must all match', () => {
    expect(pick({ verdict: 'dropped', to_namespace: 'data' })).toEqual([1]);
    expect(pick({ type: 'dns', dns_rcode: 'NOERROR', to_workload: 'api' })).toEqual([4]);
    expect(pick({ from_namespace: 'shop', to_namespace: 'shop', verdict: 'forwarded', since: '45s', type: 'http' })).toEqual([6, 8]);
    expect(pick({ verdict: 'dropped', protocol: 'udp' })).toEqual([]);
    expect(pick({ since: '95s', until: '75s' })).toEqual([1, 2]);
  });
  it('flags spell the same filters', () => {
    expect(pick({ 'from-namespace': 'shop', 'to-port': '8080', 'http-status': '5xx' }, true)).toEqual([5]);
    expect(filterToQuery({ 'from-namespace': ['shop'], verdict: ['DROPPED'], limit: ['3'] }).toString()).toBe('from_namespace=shop&verdict=DROPPED');
  });
});

describe('flow filter errors', () => {
  const bad: Array<[RawFilter, string]> = [
    [{ verdict: 'lost' }, 'verdict: "lost" is not one of forwarded, dropped'],
    [{ type: 'l7' }, 'type: "l7" is not one of flow, tcp, drop, dns, http'],
    [{ to_port: '70000' }, 'to_port: "70000" is not a port number (0-65535)'],
    [{ ip: '10.0.0.300' }, 'ip: "10.0.0.300" is not an IP address or CIDR'],
    [{ http_status: '5x' }, 'http_status: "5x" is not an HTTP status (404), class (5xx) or range (400-499)'],
    [{ dns_rcode: '99' }, 'dns_rcode: "99" is not a DNS response code (0-10)'],
    [{ since: 'yesterday' }, 'since: "yesterday" is neither an RFC 3339 time (2024-05-01T10:00:00Z) nor a duration (30s, 5m, 1h)'],
    [{ since: ['1m', '2m'] }, 'since: takes one value'],
    [{ since: '99999999999h' }, 'since: "99999999999h" is longer than the longest duration allowed (365d)'],
    [{ until: '366d' }, 'until: "366d" is longer than the longest duration allowed (365d)'],
    [{ since: `${'9'.repeat(400)}ms` }, `since: a value of 402 characters ("${'9'.repeat(20)}..."), at most 256 are allowed`],
    [{ since: '1969-12-31T23:59:59Z' }, 'since: "1969-12-31T23:59:59Z" is before 1970-01-01T00:00:00Z'],
    [{ protocol: 'tcpp' }, 'protocol: "tcpp" is not a protocol (icmp, tcp, udp, icmpv6, sctp, unknown, ip-N or a number 0-255)'],
    [{ protocol: '256' }, 'protocol: "256" is not a protocol (icmp, tcp, udp, icmpv6, sctp, unknown, ip-N or a number 0-255)'],
    [{ protocol: 'ip-256' }, 'protocol: "ip-256" is not a protocol (icmp, tcp, udp, icmpv6, sctp, unknown, ip-N or a number 0-255)'],
    [{ ip: Array.from({ length: 65 }, (_, i) => `10.0.0.${i}`) }, 'ip: 65 values, at most 64 are allowed'],
    [{ to_ip: Array.from({ length: 900 }, (_, i) => `172.16.${i >> 8}.${i & 255}/32`).join(',') }, 'to_ip: 900 values, at most 64 are allowed'],
    [{ namespace: 'x'.repeat(257) }, `namespace: a value of 257 characters ("${'x'.repeat(20)}..."), at most 256 are allowed`],
  ];
  for (const [raw, message] of bad) {
    it(message, () => {
      const err = (() => {
        try {
          parseFilter(raw, NOW);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(FilterError);
      expect((err as Error).message).toBe(message);
    });
  }
  it('takes 64 values and 256 characters', () => {
    expect(parseFilter({ ip: Array.from({ length: 64 }, (_, i) => `10.0.0.${i}`) }, NOW).ip).toHaveLength(64);
    expect(parseFilter({ pod: 'p'.repeat(256) }, NOW).pod).toEqual(['p'.repeat(256)]);
    expect(parseFilter({ since: '365d' }, NOW).since).toBe(NOW - 365 * 86_400_000);
    expect(parseFilter({ since: '1970-01-01T00:00:00Z' }, NOW).since).toBe(0);
  });
  it('names the flag when parsing flags', () => {
    expect(() => parseFilter({ verdict: 'lost' }, NOW, true)).toThrow('--verdict: "lost" is not one of forwarded, dropped');
    expect(() => parseFilter({ 'from-ip': Array.from({ length: 65 }, () => '10.0.0.1') }, NOW, true)).toThrow('--from-ip: 65 values, at most 64 are allowed');
  });
});
