// charts/flowlens/values.schema.json against values.yaml: every value that
// values.yaml documents has a comment above it and a schema entry with a
// description, and for every one of them a value of the wrong type is refused
// (table-driven: one case per leaf, built from values.yaml itself). The
// configuration part of the schema is generated from the exporter's own config
// schema (tools/values-schema.ts): the file must be what it generates, and the
// chart's defaults must be values the exporter's schema takes.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { isMap, isScalar, parseDocument, type YAMLMap } from 'yaml';
import { CHART_DIR } from '../common/chart.js';
import { configSchema } from '../../src/config.js';
import { CONFIG_VALUES, exporterJsonSchema, generateValuesSchema, NOT_OFFERED } from '../../tools/values-schema.js';

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
      // extraConfig takes any key of the exporter's configuration file, none of which values.yaml sets
      if (path.join('.') === 'extraConfig') return [];
      // a CPU limit may be set, but there is none by default (it throttles a node agent)
      if (path.join('.') === 'resources.limits') return Object.keys(props ?? {}).filter((k) => k !== 'cpu' && !(k in (values as object)));
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
        // keys inside free-form example maps (nodeSelector's default), inside
        // Kubernetes objects (the security contexts, documented by Kubernetes)
        // and of each alert's {enabled, severity} document themselves
        const self = [...path, key].join('.');
        const documented = ['nodeSelector', 'securityContext', 'podSecurityContext.seccompProfile', 'podSecurityContext.appArmorProfile'].includes(self) || path.join('.') === 'prometheusRule.alerts';
        if (isMap(pair.value) && !documented) walk(pair.value, [...path, key]);
      });
    };
    const doc = parseDocument(VALUES_TEXT);
    if (!isMap(doc.contents)) throw new Error('values.yaml: the top level must be a mapping');
    walk(doc.contents, []);
    expect(missing).toEqual([]);
  });
});

describe('the configuration part of values.schema.json', () => {
  it('is what tools/values-schema.ts generates from src/config.ts (run `make values-schema`)', () => {
    expect(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')).toBe(generateValuesSchema(SCHEMA, VALUES_TEXT));
  });

  it('is the exporter\'s own schema for every value passed to the exporter as it is', () => {
    const exporter = exporterJsonSchema().properties!;
    const strip = (x: unknown): unknown =>
      Array.isArray(x)
        ? x.map(strip)
        : x !== null && typeof x === 'object'
          ? Object.fromEntries(Object.entries(x).filter(([k]) => !['default', 'description', '$comment'].includes(k)).map(([k, v]) => [k, strip(v)]))
          : x;
    const offered = (schema: unknown, key: string): unknown => {
      const copy = structuredClone(schema) as { properties?: Record<string, unknown> };
      for (const path of Object.keys(NOT_OFFERED)) if (path.startsWith(`${key}.`)) delete copy.properties?.[path.slice(key.length + 1)];
      return copy;
    };
    for (const key of CONFIG_VALUES) expect(strip(SCHEMA.properties[key]), key).toEqual(strip(offered(exporter[key], key)));
    expect(Object.keys(NOT_OFFERED)).toEqual(['datapath.programStats']);
    // e.g. the exporter's contexts include workload_kind, and its limits are the schema's
    expect(SCHEMA.properties.metrics.properties.contexts.items.enum).toContain('workload_kind');
    expect(SCHEMA.properties.datapath.properties.mapEntries.maximum).toBe(1_048_576);
  });

  it('takes what the exporter takes and refuses what it refuses', () => {
    const exporterTakes = (key: string, value: unknown): boolean => configSchema.safeParse({ [key]: value }).success;
    const cases: [string, unknown][] = [
      ['metrics', { contexts: ['workload_kind'] }],
      ['metrics', { seriesLimit: 100_001 }],
      ['metrics', { identityTtlSeconds: 60 }],
      ['datapath', { mapEntries: 2_000_000 }],
      ['datapath', { attachMode: 'xdp' }],
      ['drops', { reasonClasses: { socket_filter: 'policy' } }],
      ['drops', { reasonClasses: { socket_filter: 'firewall' } }],
      ['logLevel', 'trace'],
      ['interfaces', ['eth*']],
    ];
    for (const [key, value] of cases) {
      const merged = { ...VALUES, [key]: typeof value === 'object' && !Array.isArray(value) ? { ...(VALUES[key] as object), ...(value as object) } : value };
      expect(validate(merged), `${key}: ${JSON.stringify(value)}`).toBe(exporterTakes(key, value));
    }
    // extraConfig: any key of the configuration file, checked as the exporter checks it
    expect(validate({ ...VALUES, extraConfig: { flows: { capacity: 100000 } } })).toBe(true);
    expect(validate({ ...VALUES, extraConfig: { flows: { capacty: 100000 } } })).toBe(false);
    expect(validate({ ...VALUES, extraConfig: { kubernetes: { enabled: 'maybe' } } })).toBe(false);
    // not offered by the chart: the pod lacks CAP_SYS_ADMIN for bpf_stats
    expect(configSchema.safeParse({ datapath: { programStats: true } }).success).toBe(true);
    expect(validate({ ...VALUES, datapath: { ...(VALUES.datapath as object), programStats: true } })).toBe(false);
    expect(validate({ ...VALUES, extraConfig: { datapath: { programStats: true } } })).toBe(false);
  });
});
