// Flow filters, shared by GET /api/flows, GET /api/graph, `flowlens observe`
// and the UI. One table (FILTERS) names each filter's query parameter and
// command-line flag, so the API, the CLI, the OpenAPI description and the help
// text cannot disagree. Several values of one filter (repeated, or
// comma-separated) match any of them; different filters must all match.

import { cidrContains, parseAddress, tryParseCidr, type Cidr } from '../identity/cidr.js';
import { FLOW_TYPES, VERDICTS, formatTimeNs, type FlowEndpoint, type FlowRecord, type FlowType, type VerdictName } from './record.js';

export type FilterKey =
  | 'fromNamespace' | 'toNamespace' | 'namespace'
  | 'fromWorkload' | 'toWorkload' | 'workload'
  | 'fromIdentity' | 'toIdentity' | 'identity'
  | 'fromPod' | 'toPod' | 'pod'
  | 'fromIp' | 'toIp' | 'ip'
  | 'fromPort' | 'toPort' | 'port'
  | 'protocol' | 'verdict' | 'type' | 'node'
  | 'httpStatus' | 'dnsRcode'
  | 'since' | 'until';

export interface FilterSpec {
  key: FilterKey;
  /** Query parameter of /api/flows and /api/graph. */
  param: string;
  /** `flowlens observe` flag, without dashes. */
  flag: string;
  /** Placeholder in help. */
  value: string;
  description: string;
}

const ends = (
  stem: 'namespace' | 'workload' | 'identity' | 'pod' | 'ip' | 'port',
  value: string,
  what: string,
): FilterSpec[] => {
  const cap = (stem[0]!.toUpperCase() + stem.slice(1)) as Capitalize<typeof stem>;
  return [
    { key: `from${cap}`, param: `from_${stem}`, flag: `from-${stem}`, value, description: `source ${what}` },
    { key: `to${cap}`, param: `to_${stem}`, flag: `to-${stem}`, value, description: `destination ${what}` },
    { key: stem, param: stem, flag: stem, value, description: `${what} of either end` },
  ];
};

export const FILTERS: readonly FilterSpec[] = [
  ...ends('namespace', 'NAMESPACE', 'namespace'),
  ...ends('workload', 'WORKLOAD', 'workload name (reserved:world for the reserved identities)'),
  ...ends('identity', 'IDENTITY', 'identity: the number or its reserved name (reserved:world)'),
  ...ends('pod', 'POD', 'pod name'),
  ...ends('ip', 'IP|CIDR', 'address, or a CIDR containing it'),
  ...ends('port', 'PORT', 'port'),
  { key: 'protocol', param: 'protocol', flag: 'protocol', value: 'PROTO', description: 'tcp, udp, icmp, icmpv6, sctp' },
  { key: 'verdict', param: 'verdict', flag: 'verdict', value: 'VERDICT', description: 'forwarded or dropped (any case)' },
  { key: 'type', param: 'type', flag: 'type', value: 'TYPE', description: `record type: ${FLOW_TYPES.join(', ')}` },
  { key: 'node', param: 'node', flag: 'node', value: 'NODE', description: 'node (host name) that saw it' },
  { key: 'httpStatus', param: 'http_status', flag: 'http-status', value: 'STATUS', description: 'HTTP status: 404, a class (5xx) or a range (400-499)' },
  { key: 'dnsRcode', param: 'dns_rcode', flag: 'dns-rcode', value: 'RCODE', description: 'DNS response code: a name (NXDOMAIN) or number (3)' },
  { key: 'since', param: 'since', flag: 'since', value: 'TIME', description: 'not before: RFC 3339 time, or a duration ago (30s, 5m, 1h)' },
  { key: 'until', param: 'until', flag: 'until', value: 'TIME', description: 'not after: RFC 3339 time, or a duration ago' },
];

/** DNS response codes by number (RFC 1035, 2136, 2845). */
export const DNS_RCODES: readonly string[] = [
  'NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE',
];

type StatusRange = { min: number; max: number };

/** A parsed filter: every field absent or a non-empty list of alternatives. */
export interface FlowFilter {
  fromNamespace?: string[]; toNamespace?: string[]; namespace?: string[];
  fromWorkload?: string[]; toWorkload?: string[]; workload?: string[];
  fromIdentity?: string[]; toIdentity?: string[]; identity?: string[];
  fromPod?: string[]; toPod?: string[]; pod?: string[];
  fromIp?: Cidr[]; toIp?: Cidr[]; ip?: Cidr[];
  fromPort?: number[]; toPort?: number[]; port?: number[];
  protocol?: string[];
  verdict?: VerdictName[];
  type?: FlowType[];
  node?: string[];
  httpStatus?: StatusRange[];
  dnsRcode?: string[];
  /** Epoch milliseconds. */
  since?: number;
  until?: number;
}

export class FilterError extends Error {
  constructor(readonly param: string, detail: string) {
    super(`${param}: ${detail}`);
    this.name = 'FilterError';
  }
}

export type RawFilter = Readonly<Record<string, string | readonly string[] | undefined>>;

function values(raw: string | readonly string[] | undefined): string[] {
  if (raw === undefined) return [];
  const list = typeof raw === 'string' ? [raw] : raw;
  return list.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

function parseIpOrCidr(param: string, text: string): Cidr {
  const addr = parseAddress(text);
  const withPrefix = addr ? `${text}/${addr.family === 4 ? 32 : 128}` : text;
  const r = tryParseCidr(withPrefix);
  if (!r.ok) throw new FilterError(param, `"${text}" is not an IP address or CIDR`);
  return r.cidr;
}

function parsePort(param: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new FilterError(param, `"${text}" is not a port number (0-65535)`);
  return n;
}

function parseStatus(param: string, text: string): StatusRange {
  let m = /^([1-5])xx$/i.exec(text);
  if (m) return { min: Number(m[1]) * 100, max: Number(m[1]) * 100 + 99 };
  m = /^(\d{3})-(\d{3})$/.exec(text);
  if (m && Number(m[1]) <= Number(m[2])) return { min: Number(m[1]), max: Number(m[2]) };
  if (/^\d{3}$/.test(text)) return { min: Number(text), max: Number(text) };
  throw new FilterError(param, `"${text}" is not an HTTP status (404), class (5xx) or range (400-499)`);
}

function parseRcode(param: string, text: string): string {
  if (/^\d+$/.test(text)) {
    const name = DNS_RCODES[Number(text)];
    if (name === undefined) throw new FilterError(param, `"${text}" is not a DNS response code (0-${DNS_RCODES.length - 1})`);
    return name;
  }
  const upper = text.toUpperCase();
  if (!DNS_RCODES.includes(upper)) throw new FilterError(param, `"${text}" is not a DNS response code (${DNS_RCODES.join(', ')})`);
  return upper;
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** RFC 3339 time, or a duration ago ("30s", "1.5h"), in epoch milliseconds. */
export function parseTime(param: string, text: string, nowMs: number): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text);
  if (m) return nowMs - Number(m[1]) * DURATION_UNITS[m[2]!]!;
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new FilterError(param, `"${text}" is neither an RFC 3339 time (2024-05-01T10:00:00Z) nor a duration (30s, 5m, 1h)`);
}

function oneOf<T extends string>(param: string, text: string, allowed: readonly T[]): T {
  const lower = text.toLowerCase() as T;
  if (!allowed.includes(lower)) throw new FilterError(param, `"${text}" is not one of ${allowed.join(', ')}`);
  return lower;
}

/**
 * Parses filter values keyed by query parameter (`byFlag` false) or by flag
 * name (true). Unknown keys are ignored here: the caller owns other parameters
 * (limit, follow, ...). Throws FilterError naming the parameter.
 */
export function parseFilter(raw: RawFilter, nowMs: number = Date.now(), byFlag = false): FlowFilter {
  const out: FlowFilter = {};
  for (const spec of FILTERS) {
    const name = byFlag ? spec.flag : spec.param;
    const list = values(raw[name]);
    if (list.length === 0) continue;
    const label = byFlag ? `--${name}` : name;
    switch (spec.key) {
      case 'fromIp': case 'toIp': case 'ip':
        out[spec.key] = list.map((v) => parseIpOrCidr(label, v));
        break;
      case 'fromPort': case 'toPort': case 'port':
        out[spec.key] = list.map((v) => parsePort(label, v));
        break;
      case 'verdict':
        out.verdict = list.map((v) => oneOf(label, v, VERDICTS));
        break;
      case 'type':
        out.type = list.map((v) => oneOf(label, v, FLOW_TYPES));
        break;
      case 'protocol':
        out.protocol = list.map((v) => v.toLowerCase());
        break;
      case 'httpStatus':
        out.httpStatus = list.map((v) => parseStatus(label, v));
        break;
      case 'dnsRcode':
        out.dnsRcode = list.map((v) => parseRcode(label, v));
        break;
      case 'since': case 'until':
        if (list.length > 1) throw new FilterError(label, 'takes one value');
        out[spec.key] = parseTime(label, list[0]!, nowMs);
        break;
      default:
        out[spec.key] = list;
    }
  }
  return out;
}

/** The filter as query parameters (the inverse of parseFilter for the API). */
export function filterToQuery(raw: RawFilter, byFlag = true): URLSearchParams {
  const q = new URLSearchParams();
  for (const spec of FILTERS) {
    for (const v of values(raw[byFlag ? spec.flag : spec.param])) q.append(spec.param, v);
  }
  return q;
}

type EndField<T> = (e: FlowEndpoint) => T;

function endMatcher<T>(
  from: T[] | undefined,
  to: T[] | undefined,
  either: T[] | undefined,
  pick: EndField<string | number>,
  eq: (want: T, e: FlowEndpoint, got: string | number) => boolean,
): ((r: FlowRecord) => boolean) | undefined {
  if (!from && !to && !either) return undefined;
  const any = (wants: T[], e: FlowEndpoint) => wants.some((w) => eq(w, e, pick(e)));
  return (r) =>
    (!from || any(from, r.source)) &&
    (!to || any(to, r.destination)) &&
    (!either || any(either, r.source) || any(either, r.destination));
}

const same = (want: string | number, _e: FlowEndpoint, got: string | number) => want === got;

function ipIn(cidr: Cidr, e: FlowEndpoint): boolean {
  if (e.ip === '') return false;
  const addr = parseAddress(e.ip);
  return addr !== undefined && cidrContains(cidr, addr);
}

/** Compiles a filter into a predicate; an empty filter accepts everything. */
export function compileFilter(f: FlowFilter): (r: FlowRecord) => boolean {
  const tests: Array<(r: FlowRecord) => boolean> = [];
  const add = (t: ((r: FlowRecord) => boolean) | undefined) => {
    if (t) tests.push(t);
  };
  add(endMatcher(f.fromNamespace, f.toNamespace, f.namespace, (e) => e.namespace, same));
  add(endMatcher(f.fromWorkload, f.toWorkload, f.workload, (e) => e.workload, same));
  add(endMatcher(f.fromIdentity, f.toIdentity, f.identity, (e) => e.identityName,
    (want, e) => want === e.identityName || want === String(e.identity)));
  add(endMatcher(f.fromPod, f.toPod, f.pod, (e) => e.pod, (want, _e, got) => got !== '' && want === got));
  add(endMatcher(f.fromIp, f.toIp, f.ip, (e) => e.ip, (want, e) => ipIn(want, e)));
  add(endMatcher(f.fromPort, f.toPort, f.port, (e) => e.port, same));
  if (f.protocol) {
    const set = new Set(f.protocol);
    tests.push((r) => set.has(r.protocol));
  }
  if (f.verdict) {
    const set = new Set<string>(f.verdict);
    tests.push((r) => set.has(r.verdict));
  }
  if (f.type) {
    const set = new Set<string>(f.type);
    tests.push((r) => set.has(r.type));
  }
  if (f.node) {
    const set = new Set(f.node);
    tests.push((r) => set.has(r.node));
  }
  if (f.httpStatus) {
    const ranges = f.httpStatus;
    tests.push((r) => {
      const status = r.http?.status;
      return status !== undefined && ranges.some((x) => status >= x.min && status <= x.max);
    });
  }
  if (f.dnsRcode) {
    const set = new Set(f.dnsRcode);
    tests.push((r) => r.dns?.rcode !== undefined && set.has(r.dns.rcode));
  }
  // record times are fixed-width RFC 3339: compared as text, without parsing each
  if (f.since !== undefined) {
    const since = formatTimeNs(BigInt(Math.floor(f.since)) * 1_000_000n);
    tests.push((r) => r.time >= since);
  }
  if (f.until !== undefined) {
    const until = formatTimeNs(BigInt(Math.floor(f.until)) * 1_000_000n + 999_999n);
    tests.push((r) => r.time <= until);
  }
  if (tests.length === 0) return () => true;
  return (r) => tests.every((t) => t(r));
}
