// Generates src/bpf/layouts.generated.ts: the byte layout of every struct of
// bpf/flowlens.h, read from the BTF of the built objects (bpf/.output), and
// every plain number #defined there, so that user space never retypes either.
// `make layouts` writes the file; test/bpf/codecs.test.ts runs generateLayouts()
// and fails when the committed file differs from what the objects give.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export const LAYOUTS_FILE = 'src/bpf/layouts.generated.ts';
export const HEADER = 'bpf/flowlens.h';
const OBJECT_DIR = 'bpf/.output';

interface BtfMember {
  name: string;
  type_id: number;
  bits_offset: number;
  bitfield_size?: number;
}

interface BtfType {
  id: number;
  kind: string;
  name: string;
  size?: number;
  type_id?: number;
  nr_elems?: number;
  members?: BtfMember[];
}

interface Field {
  name: string;
  offset: number;
  size: number;
  /** The C type as written in the header, for the generated comment. */
  ctype: string;
}

interface Struct {
  name: string;
  size: number;
  fields: Field[];
}

/** The exporter's objects: one per bpf/*.bpf.c, as the Makefile builds them (fixtures and benchmarks excluded). */
export function objectPaths(): string[] {
  return readdirSync('bpf')
    .filter((f) => f.endsWith('.bpf.c'))
    .sort()
    .map((f) => `${OBJECT_DIR}/${f.replace(/\.c$/, '.o')}`);
}

/** `struct NAME {` declarations of the header, in header order. */
export function headerStructNames(header: string): string[] {
  return [...header.matchAll(/^struct (\w+) \{/gm)].map((m) => m[1]!);
}

/**
 * `#define FLOWLENS_X <integer>` and `#define FLOWLENS_X <integer>, <integer>, ...`
 * (an initializer list, such as histogram bounds) of the header, in header
 * order. Macros with parameters or expressions are the kernel's own business
 * and are left out.
 */
export function headerDefines(header: string): Map<string, number | number[]> {
  const joined = header.replace(/\\\n/g, ' ').replace(/\/\*[\s\S]*?\*\//g, ' ');
  const integer = /^(0x[0-9a-fA-F]+|\d+)(?:ULL|UL|U)?$/;
  const defines = new Map<string, number | number[]>();
  for (const m of joined.matchAll(/^#define (FLOWLENS_\w+)[ \t]+([^\n]+)$/gm)) {
    const parts = m[2]!.split(',').map((p) => p.trim());
    if (!parts.every((p) => integer.test(p))) continue;
    const values = parts.map((p) => {
      const n = Number(p.replace(/U?L?L?$/, ''));
      if (!Number.isSafeInteger(n)) throw new Error(`${HEADER}: ${m[1]} = ${p} is not a safe integer`);
      return n;
    });
    defines.set(m[1]!, parts.length === 1 ? values[0]! : values);
  }
  return defines;
}

function loadBtf(object: string): Map<number, BtfType> {
  const json = execFileSync('bpftool', ['btf', 'dump', 'file', object, 'format', 'raw', '-j'], { encoding: 'utf8' });
  return new Map((JSON.parse(json) as { types: BtfType[] }).types.map((t) => [t.id, t]));
}

/** Byte size and C spelling of a BTF type, following typedefs, qualifiers and arrays. */
function resolve(btf: Map<number, BtfType>, id: number): { size: number; ctype: string } {
  const t = btf.get(id);
  if (!t) throw new Error(`BTF type ${id} missing`);
  switch (t.kind) {
    case 'TYPEDEF':
      return { size: resolve(btf, t.type_id!).size, ctype: t.name };
    case 'CONST':
    case 'VOLATILE':
    case 'RESTRICT':
      return resolve(btf, t.type_id!);
    case 'ARRAY': {
      const elem = resolve(btf, t.type_id!);
      return { size: t.nr_elems! * elem.size, ctype: `${elem.ctype}[${t.nr_elems}]` };
    }
    case 'INT':
      return { size: t.size!, ctype: t.name };
    default:
      // flowlens.h holds fixed-width integers and arrays of them only
      throw new Error(`BTF type ${id} is a ${t.kind}: flowlens.h structs hold integers and arrays only`);
  }
}

function structFromBtf(btf: Map<number, BtfType>, t: BtfType, object: string): Struct {
  const fields = t.members!.map((m) => {
    if (m.bits_offset % 8 !== 0 || m.bitfield_size) throw new Error(`${object}: ${t.name}.${m.name} is a bit field`);
    return { name: m.name, offset: m.bits_offset / 8, ...resolve(btf, m.type_id) };
  });
  return { name: t.name, size: t.size!, fields };
}

/**
 * Every header struct from the objects that hold it. An object without a
 * struct is fine (drop.bpf.o has no DNS); a struct in no object, or laid out
 * differently in two objects, stops the generator.
 */
function structsFromObjects(names: string[], objects: string[]): { struct: Struct; objects: string[] }[] {
  const found = new Map<string, { struct: Struct; objects: string[] }>();
  for (const object of objects) {
    const btf = loadBtf(object);
    for (const t of btf.values()) {
      if (t.kind !== 'STRUCT' || !names.includes(t.name)) continue;
      const struct = structFromBtf(btf, t, object);
      const seen = found.get(t.name);
      if (!seen) found.set(t.name, { struct, objects: [object] });
      else if (JSON.stringify(seen.struct) !== JSON.stringify(struct)) {
        throw new Error(`struct ${t.name} differs between ${seen.objects[0]} and ${object}: rebuild with make bpf`);
      } else seen.objects.push(object);
    }
  }
  return names.map((name) => {
    const entry = found.get(name);
    if (!entry) throw new Error(`struct ${name} of ${HEADER} is in no object's BTF (${objects.join(', ')}): is it used by a map or an event?`);
    return entry;
  });
}

function constName(struct: string): string {
  return struct.toUpperCase();
}

/** The generated file's text, from the header and the objects as they are now. */
export function generateLayouts(header: string = readFileSync(HEADER, 'utf8'), objects: string[] = objectPaths()): string {
  const structs = structsFromObjects(headerStructNames(header), objects);
  const out: string[] = [
    `// Generated by \`make layouts\` (tools/layouts.ts) from ${HEADER} and the BTF of`,
    `// ${objects.join(', ')}.`,
    '// Do not edit: change the header, then run `make bpf layouts`.',
    '// test/bpf/codecs.test.ts fails while this file differs from what the objects give.',
    '',
    '/** Where a field lies in its struct, in bytes. */',
    'export interface FieldLayout {',
    '  offset: number;',
    '  size: number;',
    '}',
    '',
    'export interface StructLayout {',
    '  /** The C name, without `struct`. */',
    '  name: string;',
    '  size: number;',
    '  fields: Readonly<Record<string, FieldLayout>>;',
    '}',
    '',
    `// Numbers #defined in ${HEADER}`,
    '',
  ];
  for (const [name, value] of headerDefines(header)) {
    out.push(Array.isArray(value) ? `export const ${name}: readonly number[] = [${value.join(', ')}];` : `export const ${name} = ${value};`);
  }
  out.push('', `// Structs of ${HEADER}, in header order`);
  for (const { struct, objects: holders } of structs) {
    out.push(
      '',
      `/** struct ${struct.name}, in ${holders.map((o) => o.replace(`${OBJECT_DIR}/`, '')).join(', ')} */`,
      `export const ${constName(struct.name)}: StructLayout = {`,
      `  name: '${struct.name}',`,
      `  size: ${struct.size},`,
      '  fields: {',
      ...struct.fields.map((f) => `    ${f.name}: { offset: ${f.offset}, size: ${f.size} }, // ${f.ctype}`),
      '  },',
      '};',
    );
  }
  out.push('', 'export const STRUCT_LAYOUTS: readonly StructLayout[] = [', ...structs.map(({ struct }) => `  ${constName(struct.name)},`), '];', '');
  return out.join('\n');
}
