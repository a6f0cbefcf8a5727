import { readdirSync, readFileSync } from 'node:fs';

/** A network interface of the exporter's network namespace. */
export interface NetInterface {
  name: string;
  ifindex: number;
}

/**
 * Lists the interfaces of this network namespace from sysfs. Reading
 * /sys/class/net is cheap (a directory of symlinks), which is what lets the
 * attach manager poll it often enough to follow pods that come and go.
 */
export function listInterfaces(sysClassNet = '/sys/class/net'): NetInterface[] {
  const out: NetInterface[] = [];
  for (const name of readdirSync(sysClassNet)) {
    try {
      const ifindex = Number(readFileSync(`${sysClassNet}/${name}/ifindex`, 'utf8').trim());
      if (Number.isInteger(ifindex) && ifindex > 0) out.push({ name, ifindex });
    } catch {
      // the interface vanished between readdir and read: it is simply not there
    }
  }
  return out;
}

/** True when a pattern names one interface literally (no wildcard). */
export function isLiteralPattern(pattern: string): boolean {
  return !/[*?]/.test(pattern);
}

/** Compiles a glob pattern (`*` any run, `?` one character) into an anchored RegExp. */
export function globToRegExp(pattern: string): RegExp {
  let re = '^';
  for (const ch of pattern) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

/** Matches interface names against a list of glob patterns. */
export class InterfaceMatcher {
  private readonly regexps: RegExp[];

  constructor(readonly patterns: string[]) {
    this.regexps = patterns.map(globToRegExp);
  }

  matches(name: string): boolean {
    return this.regexps.some((re) => re.test(name));
  }
}
