// Where a schema problem is, in the words a user sees in their YAML:
// `metrics.seriesLimit`, `identities[2].addresses[0]`. Shared by the config
// loader and the identity file, so both name fields the same way.

/** `a.b[2].c` for the segments of a zod issue path; '' for the top level. */
export function formatPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : out === '' ? String(s) : `.${String(s)}`;
  return out;
}

/** The value found at a zod issue path in the parsed document, if any. */
export function valueAt(input: unknown, segments: readonly PropertyKey[]): unknown {
  let cur = input;
  for (const s of segments) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[s];
  }
  return cur;
}
