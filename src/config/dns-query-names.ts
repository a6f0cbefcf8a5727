// The dns.queryNames setting: how query names become a metric label (off, a
// suffix list, or the top N names) and the check of each listed suffix. The
// counting itself is src/metrics/dns-name-folders.ts and src/metrics/dns-names.ts.

/** The one label value every name outside the suffix list or the top N folds into. */
export const OTHER_NAME = 'other';

export const QUERY_NAME_MODES = ['off', 'suffixes', 'top'] as const;
export type QueryNameMode = (typeof QUERY_NAME_MODES)[number];

/** Upper bound of dns.queryNames.top, and of the suffix list's length. */
export const QUERY_NAMES_MAX = 1000;

export interface QueryNamesConfig {
  mode: QueryNameMode;
  suffixes: readonly string[];
  top: number;
}

/**
 * A configured suffix in the form names are compared in: lower case, without
 * a trailing dot. Returns why it is not a usable suffix instead, for the
 * config schema.
 */
export function normalizeSuffix(text: string): { ok: true; suffix: string } | { ok: false; reason: string } {
  const suffix = text.trim().toLowerCase().replace(/\.$/, '');
  const expected = 'expected a domain name such as example.com';
  if (suffix === '') return { ok: false, reason: `${expected} (the root matches every name: use mode top)` };
  if (suffix === OTHER_NAME) return { ok: false, reason: `"${OTHER_NAME}" is the label of the names outside the list` };
  if (!/^[\x21-\x7e]+$/.test(suffix) || suffix.includes('\\')) {
    return { ok: false, reason: `${expected} (printable ASCII without spaces or backslashes)` };
  }
  const labels = suffix.split('.');
  if (labels.some((l) => l === '')) return { ok: false, reason: `${expected} (an empty label)` };
  if (labels.some((l) => l.length > 63)) return { ok: false, reason: `${expected} (a label over 63 characters)` };
  if (suffix.length > 253) return { ok: false, reason: `${expected} (over 253 characters)` };
  return { ok: true, suffix };
}

