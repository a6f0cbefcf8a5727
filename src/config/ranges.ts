// The accepted range of every numeric setting, read from the config schema
// itself, so that `flowlens run --help` and README's test state the bounds the
// loader enforces and cannot drift from them.

import { z } from 'zod';

export interface NumericRange {
  min: number;
  max: number;
}

/** Wrappers that leave the value's own schema inside: defaults, prefaults, null. */
function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodPrefault || s instanceof z.ZodNullable || s instanceof z.ZodOptional) {
    s = s.unwrap() as z.ZodType;
  }
  return s;
}

/**
 * Every numeric setting under `schema`, by its dotted path
 * (`datapath.mapEntries`), with the bounds its checks enforce. Lists of
 * numbers (ports) are not settings of their own and are left out.
 */
export function numericRanges(schema: z.ZodType, prefix = ''): Map<string, NumericRange> {
  const out = new Map<string, NumericRange>();
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject) {
    for (const [key, child] of Object.entries(inner.shape as Record<string, z.ZodType>)) {
      for (const [path, range] of numericRanges(child, prefix ? `${prefix}.${key}` : key)) out.set(path, range);
    }
  } else if (inner instanceof z.ZodNumber) {
    out.set(prefix, { min: inner.minValue ?? -Infinity, max: inner.maxValue ?? Infinity });
  }
  return out;
}
