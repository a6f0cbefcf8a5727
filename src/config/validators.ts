// Value checks shared by the configuration schema and the command line. Each
// returns a reason (phrased "expected ...") instead of throwing, so the caller
// can put the field's path and origin in front of it.

import { parseAddress } from '../net/cidr.js';

export type ListenAddress = {
  /** Host without brackets: "0.0.0.0", "::", "localhost". */
  host: string;
  port: number;
};

const LISTEN_EXPECTED = 'expected HOST:PORT (e.g. 0.0.0.0:19965, [::]:19965, localhost:19965)';

const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Splits "HOST:PORT" / "[V6]:PORT"; port 0 is allowed (an ephemeral port, useful in tests). */
export function parseListen(text: string): { ok: true; value: ListenAddress } | { ok: false; reason: string } {
  const fail = { ok: false as const, reason: LISTEN_EXPECTED };
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return fail;
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    const addr = parseAddress(host);
    if (!addr || addr.family !== 6) return fail;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon <= 0) return fail;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    // A bare IPv6 address without brackets would be ambiguous.
    if (host.includes(':')) return fail;
    if (!parseAddress(host) && (/^[0-9.]+$/.test(host) || !HOSTNAME_RE.test(host))) return fail;
  }
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535) {
    return { ok: false, reason: 'expected a port from 0 to 65535 after the colon' };
  }
  return { ok: true, value: { host, port: Number(portText) } };
}

/**
 * Checks an interface glob. Linux names are 1-15 bytes without '/', ':' or
 * whitespace (dev_valid_name); a literal name longer than that could never match.
 */
export function interfacePatternProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'expected an interface name or pattern, got an empty string';
  if (/[/:\s]/.test(pattern)) return 'expected an interface name or pattern (no "/", ":" or whitespace)';
  if (!/[*?]/.test(pattern) && Buffer.byteLength(pattern) > 15) {
    return 'expected an interface name of at most 15 characters (or a pattern with * or ?)';
  }
  if (pattern === '.' || pattern === '..') return 'expected an interface name or pattern';
  return undefined;
}

/** Checks an OTLP endpoint URL: http(s) with a host. */
export function otlpEndpointProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'expected a URL such as http://otel-collector:4317';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'expected an http:// or https:// URL';
  if (!url.hostname) return 'expected a URL with a host';
  return undefined;
}

/** Label keys as Kubernetes accepts them: optional DNS-subdomain prefix, then a name of up to 63 characters. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const nameOk = /^(?=.{1,63}$)[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?$/.test(name);
  const prefixOk = prefix === undefined || /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(prefix);
  return nameOk && prefixOk ? undefined : 'expected a Kubernetes label key (e.g. app or example.com/tier)';
}
