// charts/flowlens/values.schema.json against values.yaml: every value that
// values.yaml documents has a comment above it and a schema entry with a
// description, and for every one of them a value of the wrong type is refused
// (table-driven: one case per leaf, built from values.yaml itself).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { isMap, isScalar, parseDocument, type YAMLMap } from 'yaml';
import { CHART_DIR } from '../common/chart.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const VALUES_TEXT = readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8');
const VALUES = parseDocument(VALUES_TEXT).toJS() as Record<string, Json>;
const SCHEMA = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8'));
const validate = new Ajv({ allErrors: true, strict: false }).compile(SCHEMA);

/*
 * A leaf is a documented value: a scalar, a list, or a map that is empty in
 * values.yaml (a free-form map such as podAnnotations). Maps with keys are
 * walked into.
 */
function leaves(value: Json, path: string[] = []): { path: string[]; value: Json }[] {
  // a free-form map (no properties in the schema, e.g. nodeSelector) is one value
  const freeForm = path.length > 0 && schemaAt(path)?.properties === undefined;
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0 && !freeForm) {
    return Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, k]));
  }
  return [{ path, value }];
}

/** A value of another JSON type than the documented one, which no schema for it may accept. */
function wrongTyped(value: Json): Json {
  if (typeof value === 'string') return true;
  if (typeof value === 'number') return 'not-a-number';
  if (typeof value === 'boolean') return 'yes';
  if (Array.isArray(value)) return 'not-a-list';
  return 'not-a-map';
}

/** For a list, an item of another type than its items (an empty list: than the schema's item type). */
function wrongItem(value: Json[], path: string[]): Json {
  const first = value[0];
  if (first === undefined) return (schemaAt(path)?.items as { type?: string } | undefined)?.type === 'object' ? 'not-an-object' : { not: 'a string' };
  if (typeof first === 'string') return { not: 'a string' };
  if (typeof first === 'number') return 'not-a-number';
  return 'not-an-object';
}

function withValue(path: string[], value: Json): Record<string, Json> {
  const copy = structuredClone(VALUES);
  let node = copy as Record<string, Json>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, Json>;
  node[path.at(-1)!] = value;
  return copy;
}

function schemaAt(path: string[]): Record<string, unknown> | undefined {
  let node: Record<string, unknown> | undefined = SCHEMA;
  for (const key of path) node = (node?.properties as Record<string, Record<string, unknown>> | undefined)?.[key];
  return node;
}

const LEAVES = leaves(VALUES);

describe('values.schema.json', () => {
  it('accepts values.yaml as it is', () => {
    expect(validate(VALUES), JSON.stringify(validate.errors)).toBe(true);
    expect(LEAVES.length).toBeGreaterThan(60);
  });

  it.each(LEAVES.map((l) => ({ key: l.path.join('.'), ...l })))('refuses a wrong type for $key', ({ path, value }) => {
    const bad = wrongTyped(value);
    expect(validate(withValue(path, bad)), `${path.join('.')} = ${JSON.stringify(bad)} was accepted`).toBe(false);
    if (Array.isArray(value)) {
      const item = wrongItem(value, path);
      expect(validate(withValue(path, [item])), `${path.join('.')} = [${JSON.stringify(item)}] was accepted`).toBe(false);
    }
  });

  it.each(LEAVES.map((l) => ({ key: l.path.join('.'), ...l })))('documents $key in the schema', ({ path }) => {
    const entry = schemaAt(path);
    expect(entry, `${path.join('.')} has no schema entry`).toBeDefined();
    expect(typeof entry!.description).toBe('string');
    expect((entry!.description as string).length).toBeGreaterThan(5);
  });

  it('refuses keys that values.yaml does not document (a typo must not pass silently)', () => {
    expect(validate({ ...VALUES, prometheusRules: { enabled: true } })).toBe(false);
    expect(validate(withValue(['datapath', 'mapEntrys'], 1))).toBe(false);
    expect(validate(withValue(['apiToken', 'secret'], 'x'))).toBe(false);
  });

  it('has no schema property that values.yaml lacks', () => {
    const walk = (schema: Record<string, unknown>, values: Json, path: string[]): string[] => {
      const props = schema.properties as Record<string, Record<string, unknown>> | undefined;
      if (!props || schema.additionalProperties !== false) return [];
      const obj = values as Record<string, Json>;
      return Object.entries(props).flatMap(([k, s]) =>
        k in obj ? walk(s, obj[k]!, [...path, k]) : [[...path, k].join('.')],
      );
    };
    expect(walk(SCHEMA, VALUES, [])).toEqual([]);
  });

  it('has a comment above every value in values.yaml', () => {
    const missing: string[] = [];
    const walk = (map: YAMLMap, path: string[]) => {
      map.items.forEach((pair, i) => {
        const key = isScalar(pair.key) ? String(pair.key.value) : '?';
        const comment = (isScalar(pair.key) ? pair.key.commentBefore : undefined) ?? (i === 0 ? map.commentBefore : undefined);
        if (!comment?.trim()) missing.push([...path, key].join('.'));
        // keys inside free-form example maps (nodeSelector's default) document themselves
        if (isMap(pair.value) && !['nodeSelector'].includes(key)) walk(pair.value, [...path, key]);
      });
    };
    const doc = parseDocument(VALUES_TEXT);
    if (!isMap(doc.contents)) throw new Error('values.yaml: the top level must be a mapping');
    walk(doc.contents, []);
    expect(missing).toEqual([]);
  });
});
