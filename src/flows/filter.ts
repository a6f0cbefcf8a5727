// Flow filters, shared by GET /api/flows, GET /api/graph, `flowlens observe`
// and the UI. One table (FILTERS) names each filter's query parameter and
// command-line flag, so the API, the CLI, the OpenAPI description and the help
// text cannot disagree. Several values of one filter (repeated, or
// comma-separated) match any of them; different filters must all match.

import { parseAddress, tryParseCidr, type Cidr } from '../net/cidr.js';
import { protocolLabel } from '../datapath/code-names.js';
import { AddressSet } from './address-set.js';
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
  { key: 'protocol', param: 'protocol', flag: 'protocol', value: 'PROTO', description: 'tcp, udp, icmp, icmpv6, sctp, ip-N or a protocol number (0-255), unknown' },
  { key: 'verdict', param: 'verdict', flag: 'verdict', value: 'VERDICT', description: 'forwarded or dropped (any case)' },
  { key: 'type', param: 'type', flag: 'type', value: 'TYPE', description: `record type: ${FLOW_TYPES.join(', ')}` },
  { key: 'node', param: 'node', flag: 'node', value: 'NODE', description: 'node (host name) that saw it' },
  { key: 'httpStatus', param: 'http_status', flag: 'http-status', value: 'STATUS', description: 'HTTP status: 404, a class (5xx) or a range (400-499)' },
  { key: 'dnsRcode', param: 'dns_rcode', flag: 'dns-rcode', value: 'RCODE', description: 'DNS response code: a name (NXDOMAIN) or number (3)' },
  { key: 'since', param: 'since', flag: 'since', value: 'TIME', description: 'not before: RFC 3339 time (1970 on), or a duration ago (30s, 5m, 1h; at most 365d)' },
  { key: 'until', param: 'until', flag: 'until', value: 'TIME', description: 'not after: RFC 3339 time (1970 on), or a duration ago (at most 365d)' },
];

// What one query may ask for. Every record of a query is tested against its
// filter, so the filter's size is part of the query's cost; these bounds keep
// the cost of matching one record small whatever the URL says (the time
// budget in src/flows/scan.ts bounds the number of records).
/** Values of one filter (repeated and comma-separated together). */
export const MAX_FILTER_VALUES = 64;
/** Characters of one value (a pod name is at most 253). */
export const MAX_FILTER_VALUE_LENGTH = 256;
/** The longest duration ago (since, until, the graph's window): past it no exporter holds records. */
export const MAX_DURATION_MS = 365 * 86_400_000;

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

/** values(), refused beyond MAX_FILTER_VALUES values or MAX_FILTER_VALUE_LENGTH characters a value. */
function boundedValues(param: string, raw: string | readonly string[] | undefined): string[] {
  const list = values(raw);
  if (list.length > MAX_FILTER_VALUES) {
    throw new FilterError(param, `${list.length} values, at most ${MAX_FILTER_VALUES} are allowed`);
  }
  const long = list.find((v) => v.length > MAX_FILTER_VALUE_LENGTH);
  if (long !== undefined) {
    throw new FilterError(param, `a value of ${long.length} characters ("${long.slice(0, 20)}..."), at most ${MAX_FILTER_VALUE_LENGTH} are allowed`);
  }
  return list;
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
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** A duration ("30s", "1.5h") in milliseconds; undefined when `text` is not one. At most MAX_DURATION_MS. */
export function parseDuration(param: string, text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m) return undefined;
  const ms = Number(m[1]) * DURATION_UNITS[m[2]!]!;
  // a time that far back would not even be a Date (since=99999999999h once answered 500)
  if (!(ms <= MAX_DURATION_MS)) {
    throw new FilterError(param, `"${text}" is longer than the longest duration allowed (${MAX_DURATION_MS / DURATION_UNITS.d!}d)`);
  }
  return ms;
}

/** RFC 3339 time from 1970 on, or a duration ago ("30s", "1.5h", at most 365d), in epoch milliseconds. */
export function parseTime(param: string, text: string, nowMs: number): number {
  const ago = parseDuration(param, text);
  if (ago !== undefined) return nowMs - ago;
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const ms = Date.parse(text);
    // record times are formatted from epoch nanoseconds: nothing is before 1970
    if (ms < 0) throw new FilterError(param, `"${text}" is before 1970-01-01T00:00:00Z`);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new FilterError(param, `"${text}" is neither an RFC 3339 time (2024-05-01T10:00:00Z) nor a duration (30s, 5m, 1h)`);
}

/** Protocol names a record can carry (protocolLabel of every IP protocol number, and 'unknown'). */
const PROTOCOL_LABELS: ReadonlySet<string> = new Set([...Array.from({ length: 256 }, (_, n) => protocolLabel(n)), 'unknown']);
const NAMED_PROTOCOLS = [...PROTOCOL_LABELS].filter((p) => !p.startsWith('ip-'));

/** A protocol as records name it: a name (any case), ip-N, or an IP protocol number (6 is tcp). */
function parseProtocol(param: string, text: string): string {
  if (/^\d{1,3}$/.test(text) && Number(text) <= 255) return protocolLabel(Number(text));
  const lower = text.toLowerCase();
  if (!PROTOCOL_LABELS.has(lower)) {
    throw new FilterError(param, `"${text}" is not a protocol (${NAMED_PROTOCOLS.join(', ')}, ip-N or a number 0-255)`);
  }
  return lower;
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
    const label = byFlag ? `--${name}` : name;
    const list = boundedValues(label, raw[name]);
    if (list.length === 0) continue;
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
        out.protocol = list.map((v) => parseProtocol(label, v));
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

type EndTest = (e: FlowEndpoint) => boolean;

/**
 * The test of one endpoint field over its three filters (from_X, to_X, X).
 * `prepare` turns a list of wanted values into one test, built once per
 * query (a Set, an address table), so a record costs the same whatever the
 * number of values.
 */
function endMatcher<T>(
  from: T[] | undefined,
  to: T[] | undefined,
  either: T[] | undefined,
  prepare: (wants: T[]) => EndTest,
): ((r: FlowRecord) => boolean) | undefined {
  if (!from && !to && !either) return undefined;
  const fromTest = from && prepare(from);
  const toTest = to && prepare(to);
  const eitherTest = either && prepare(either);
  return (r) =>
    (!fromTest || fromTest(r.source)) &&
    (!toTest || toTest(r.destination)) &&
    (!eitherTest || eitherTest(r.source) || eitherTest(r.destination));
}

const inSet = <T>(pick: (e: FlowEndpoint) => T) => (wants: T[]): EndTest => {
  const set = new Set(wants);
  return (e) => set.has(pick(e));
};

/** Compiles a filter into a predicate; an empty filter accepts everything. */
export function compileFilter(f: FlowFilter): (r: FlowRecord) => boolean {
  const tests: Array<(r: FlowRecord) => boolean> = [];
  const add = (t: ((r: FlowRecord) => boolean) | undefined) => {
    if (t) tests.push(t);
  };
  add(endMatcher(f.fromNamespace, f.toNamespace, f.namespace, inSet((e) => e.namespace)));
  add(endMatcher(f.fromWorkload, f.toWorkload, f.workload, inSet((e) => e.workload)));
  // an identity is asked for by its name (reserved:world) or its number
  add(endMatcher(f.fromIdentity, f.toIdentity, f.identity, (wants) => {
    const set = new Set(wants);
    return (e) => set.has(e.identityName) || set.has(String(e.identity));
  }));
  // '' is "no pod known", never a pod name
  add(endMatcher(f.fromPod, f.toPod, f.pod, (wants) => {
    const set = new Set(wants);
    return (e) => e.pod !== '' && set.has(e.pod);
  }));
  add(endMatcher(f.fromIp, f.toIp, f.ip, (wants) => {
    const set = new AddressSet(wants);
    return (e) => set.has(e.ip);
  }));
  add(endMatcher(f.fromPort, f.toPort, f.port, inSet((e) => e.port)));
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
