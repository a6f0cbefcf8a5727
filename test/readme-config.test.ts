import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultConfig, settingRanges } from '../src/config.js';

/**
 * README's configuration reference against the schema itself: every setting
 * the schema has is documented, and nothing is documented that the schema
 * does not have. A setting is a leaf of the defaults: a value that is not a
 * plain mapping (a mapping the user fills, like traces.headers, is one
 * setting), or an empty mapping.
 */

function settings(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [prefix];
  const entries = Object.entries(value as Record<string, unknown>);
  // mappings whose keys the user chooses: one setting
  if (entries.length === 0 || USER_KEYED.has(prefix)) return [prefix];
  return entries.flatMap(([k, v]) => settings(v, prefix ? `${prefix}.${k}` : k));
}

const USER_KEYED = new Set(['traces.headers', 'drops.reasonClasses']);

/** The rows of README's configuration table, by the settings each documents. */
function rows(): Map<string, string> {
  const readme = readFileSync('README.md', 'utf8');
  const start = readme.indexOf('\n## Configuration');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const out = new Map<string, string>();
  for (const line of section.split('\n')) {
    if (!line.startsWith('| `')) continue;
    for (const m of line.split('|')[1]!.matchAll(/`([A-Za-z.]+)`/g)) out.set(m[1]!, line);
  }
  return out;
}

function documented(): string[] {
  return [...rows().keys()];
}

describe('README configuration reference', () => {
  it('documents exactly the settings the schema has', () => {
    const schema = settings(defaultConfig()).filter((k) => k !== 'config');
    expect([...new Set(documented())].sort()).toEqual(schema.sort());
  });

  it("states each numeric setting's bounds as the schema enforces them", () => {
    const table = rows();
    const ranges = settingRanges();
    expect(ranges.size).toBeGreaterThan(0);
    for (const [setting, { min, max }] of ranges) {
      expect(table.get(setting), setting).toContain(`${min} to ${max}`);
    }
  });
});
