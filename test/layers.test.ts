// The layers of src/ (DESIGN.md, "Decisions of the second round"): imports go
// downwards only. Each directory of src/ is one unit, and so is each file
// directly in src/; every unit has a rank, and a module may import only its
// own unit or a unit of lower rank. Units of one rank (datapath | identity;
// metrics | flows | traces) are siblings and do not import each other. A strict
// order cannot hold a cycle, and the test says so separately, with the cycle,
// so that a change of LAYERS that allowed one would still fail.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

/**
 * Bottom first. The leaves (errors, net, config, log) import no layer: only
 * leaves below them in this list. src/native is C (the addon, loaded only by
 * src/bpf/addon.ts); src/ui holds browser files, and model.d.ts, the types of
 * model.js for the tests, which reads the flows' types.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['errors'], // the error registry
  ['net'], // addresses and CIDR prefixes: plain values
  ['config'], // config.ts and config/: the settings, their schema and vocabularies
  ['log'], // the logger (its level type is config's)
  ['bpf'], // the only importer of the native addon
  ['datapath', 'identity'],
  ['metrics', 'flows', 'traces'],
  ['server', 'ui'],
  // run/cli: start-up checks, the process lock, shutdown, the observe command, flag parsing
  ['preflight', 'instance-lock', 'shutdown', 'observe', 'cli-args'],
  ['run'],
  ['cli'],
];

const RANK: ReadonlyMap<string, number> = new Map(LAYERS.flatMap((units, rank) => units.map((u) => [u, rank] as const)));

/** `metrics` for src/metrics/... (src/metrics/core/... too: a subdirectory is part of its unit), `run` for src/run.ts. */
function unitOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  return parts.length > 1 ? parts[0]! : parts[0]!.replace(/\.ts$/, '');
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative module specifiers of every import, export-from and import() in a file. */
function importsOf(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const specifiers: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      specifiers.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteral(arg)) specifiers.push(arg.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const ref = node.moduleReference.expression;
      if (ts.isStringLiteral(ref)) specifiers.push(ref.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specifiers.filter((s) => s.startsWith('.'));
}

interface Edge {
  from: string;
  to: string;
  fromUnit: string;
  toUnit: string;
}

/** Every import between two different units, file by file. */
function crossUnitEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    for (const spec of importsOf(file)) {
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
      const fromUnit = unitOf(file);
      const toUnit = unitOf(target);
      if (fromUnit !== toUnit) edges.push({ from: relative(SRC, file), to: relative(SRC, target), fromUnit, toUnit });
    }
  }
  return edges;
}

const show = (e: Edge) => `${e.from} -> ${e.to} (${e.fromUnit} -> ${e.toUnit})`;

/** A cycle of units, as the list of units along it, or undefined. */
function findCycle(edges: readonly Edge[]): string[] | undefined {
  const next = new Map<string, Set<string>>();
  for (const e of edges) {
    if (!next.has(e.fromUnit)) next.set(e.fromUnit, new Set());
    next.get(e.fromUnit)!.add(e.toUnit);
  }
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (unit: string): string[] | undefined => {
    const at = path.indexOf(unit);
    if (at >= 0) return [...path.slice(at), unit];
    if (done.has(unit)) return undefined;
    path.push(unit);
    for (const to of next.get(unit) ?? []) {
      const cycle = visit(to);
      if (cycle) return cycle;
    }
    path.pop();
    done.add(unit);
    return undefined;
  };
  for (const unit of next.keys()) {
    const cycle = visit(unit);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('layers of src/', () => {
  const edges = crossUnitEdges();

  it('reads the imports it checks', () => {
    // a parser that found nothing would pass every other assertion
    expect(edges.length).toBeGreaterThan(50);
    expect(edges.some((e) => e.fromUnit === 'metrics' && e.toUnit === 'datapath')).toBe(true);
  });

  it('places every directory and file of src/ in a layer', () => {
    const units = new Set(sourceFiles(SRC).map(unitOf));
    const unplaced = [...units].filter((u) => !RANK.has(u)).sort();
    expect(unplaced, `add these to LAYERS in ${relative(process.cwd(), fileURLToPath(import.meta.url))}`).toEqual([]);
  });

  it('imports downwards only', () => {
    const upward = edges.filter((e) => RANK.has(e.fromUnit) && RANK.has(e.toUnit) && RANK.get(e.toUnit)! >= RANK.get(e.fromUnit)!);
    expect(upward.map(show), 'imports that go upwards or sideways').toEqual([]);
  });

  it('keeps src/metrics/names.ts free of imports: alerts/src and dashboards/src compile it alone', () => {
    expect(importsOf(join(SRC, 'metrics/names.ts'))).toEqual([]);
  });

  it('has no cycle between directories', () => {
    const cycle = findCycle(edges);
    const along = cycle?.slice(0, -1).map((unit, i) => edges.filter((e) => e.fromUnit === unit && e.toUnit === cycle[i + 1]).map(show)[0]);
    expect(along ?? [], `cycle ${cycle?.join(' -> ')}`).toEqual([]);
  });
});
