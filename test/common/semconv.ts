// Every attribute name OpenTelemetry's semantic conventions define, from the
// @opentelemetry/semantic-conventions package (stable and incubating entry
// points): what flowlens' span attributes are checked against.

import * as stable from '@opentelemetry/semantic-conventions';
import * as incubating from '@opentelemetry/semantic-conventions/incubating';

function attributeNames(module: Record<string, unknown>): Set<string> {
  const out = new Set<string>();
  for (const [name, value] of Object.entries(module)) if (name.startsWith('ATTR_') && typeof value === 'string') out.add(value);
  return out;
}

export const STABLE_ATTRIBUTES: ReadonlySet<string> = attributeNames(stable);
export const CONVENTION_ATTRIBUTES: ReadonlySet<string> = new Set([...STABLE_ATTRIBUTES, ...attributeNames(incubating)]);

/** Attribute names that are neither a convention's nor under flowlens.* (should be none). */
export function unconventional(names: Iterable<string>): string[] {
  return [...names].filter((n) => !CONVENTION_ATTRIBUTES.has(n) && !n.startsWith('flowlens.'));
}

/** flowlens.* names that a convention defines after all (should be none: use the convention's). */
export function shadowing(names: Iterable<string>): string[] {
  return [...names].filter((n) => n.startsWith('flowlens.') && CONVENTION_ATTRIBUTES.has(n.slice('flowlens.'.length)));
}
