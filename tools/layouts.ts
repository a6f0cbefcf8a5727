// Generates src/bpf/layouts.generated.ts: the byte layout of every struct of
// bpf/flowlens.h, read from the BTF of the built objects (bpf/.output), the
// TypeScript interface of each struct as src/bpf/codecs.ts decodes it, the
// reader that decodes it (one object literal per struct), and
// every plain number #defined there, so that user space never retypes any.
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

/**
 * How a field decodes: u8, u16 and u32 to a number, u64 to a bigint, an array
 * of u64 to bigint[], an array of bytes (addresses, names, ids) to a Buffer.
 */
type Kind = 'u8' | 'u16' | 'u32' | 'u64' | 'u64[]' | 'u8[]';

const INT_KINDS: Readonly<Record<number, Kind>> = { 1: 'u8', 2: 'u16', 4: 'u32', 8: 'u64' };
const ARRAY_KINDS: Readonly<Record<string, Kind>> = { u8: 'u8[]', u64: 'u64[]' };

const TS_TYPES: Readonly<Record<Kind, string>> = { u8: 'number', u16: 'number', u32: 'number', u64: 'bigint', 'u64[]': 'bigint[]', 'u8[]': 'Buffer' };

interface Field {
  name: string;
  offset: number;
  size: number;
  /** The C type as written in the header, for the generated comment. */
  ctype: string;
  kind: Kind;
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

/** Byte size, C spelling and decoding of a BTF type, following typedefs, qualifiers and arrays. */
function resolve(btf: Map<number, BtfType>, id: number): { size: number; ctype: string; kind: Kind } {
  const t = btf.get(id);
  if (!t) throw new Error(`BTF type ${id} missing`);
  switch (t.kind) {
    case 'TYPEDEF':
      return { ...resolve(btf, t.type_id!), ctype: t.name };
    case 'CONST':
    case 'VOLATILE':
    case 'RESTRICT':
      return resolve(btf, t.type_id!);
    case 'ARRAY': {
      const elem = resolve(btf, t.type_id!);
      const kind = ARRAY_KINDS[elem.kind];
      if (!kind) throw new Error(`BTF type ${id}: arrays of ${elem.ctype} are not decoded (flowlens.h arrays hold bytes or u64 counters)`);
      return { size: t.nr_elems! * elem.size, ctype: `${elem.ctype}[${t.nr_elems}]`, kind };
    }
    case 'INT': {
      const kind = INT_KINDS[t.size!];
      if (!kind) throw new Error(`BTF type ${id}: a ${t.size}-byte integer`);
      return { size: t.size!, ctype: t.name, kind };
    }
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

/** flow_key -> FlowKey: the interface of a struct. */
function interfaceName(struct: string): string {
  return struct.replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());
}

/** src_identity -> srcIdentity: the property of a field in the decoded object. */
export function propertyName(field: string): string {
  return field.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function commentText(comment: string): string {
  return comment
    .trim()
    .replace(/^\/\*+/, '')
    .replace(/\*+\/$/, '')
    .split('\n')
    .map((l) => l.replace(/^\s*\*?\s?/, '').trim())
    .filter((l) => l !== '')
    .join(' ');
}

/**
 * The header's comments on each struct and its fields: the block comment just
 * above `struct NAME {`, and for a field the comment on its line or the block
 * just above it. They become the generated interfaces' doc comments.
 */
export function headerComments(header: string): Map<string, { doc?: string; fields: Map<string, string> }> {
  const out = new Map<string, { doc?: string; fields: Map<string, string> }>();
  for (const m of header.matchAll(/(\/\*(?:(?!\*\/)[\s\S])*\*\/\n)?struct (\w+) \{\n([\s\S]*?)\n\};/g)) {
    const fields = new Map<string, string>();
    let block: string[] | undefined; // a comment being read, line by line
    let above: string | undefined; // the comment just read, for the field below it
    for (const line of m[3]!.split('\n')) {
      if (block || /^\s*\/\*/.test(line)) {
        (block ??= []).push(line);
        if (line.includes('*/')) {
          above = commentText(block.join('\n'));
          block = undefined;
        }
        continue;
      }
      const field = /(\w+)(?:\[[^\]]*\])?;\s*(\/\*.*\*\/)?/.exec(line);
      if (!field) continue;
      const text = [above, field[2] ? commentText(field[2]) : undefined].filter((t) => t).join(' ');
      if (text) fields.set(field[1]!, text);
      above = undefined;
    }
    out.set(m[2]!, { doc: m[1] ? commentText(m[1]) : undefined, fields });
  }
  return out;
}

/** A JSDoc comment: one line when it fits in 120 columns, else wrapped at 100. */
function docComment(text: string, indent: string): string[] {
  if (indent.length + text.length + 7 <= 120) return [`${indent}/** ${text} */`];
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && indent.length + 3 + line.length + 1 + word.length > 100) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return [`${indent}/**`, ...lines.map((l) => `${indent} * ${l}`), `${indent} */`];
}

/** The decoded object of a struct: every field but padding, by its property name, typed by how it decodes. */
function structInterface(struct: Struct, comments: { doc?: string; fields: Map<string, string> } | undefined): string[] {
  const doc = comments?.doc ? `struct ${struct.name}: ${comments.doc}` : `struct ${struct.name}`;
  const out = [...docComment(doc, ''), `export interface ${interfaceName(struct.name)} {`];
  for (const f of struct.fields) {
    if (f.name.startsWith('_')) continue;
    const comment = comments?.fields.get(f.name);
    if (comment) out.push(...docComment(comment, '  '));
    // family bytes hold FLOWLENS_FAMILY_*; what else they may hold the struct's comment says
    const type = f.name === 'family' ? 'AddressFamily' : TS_TYPES[f.kind];
    out.push(`  ${propertyName(f.name)}: ${type};`);
  }
  out.push('}');
  return out;
}

/**
 * The struct's reader: one object literal of every field but padding, read at
 * its offset, so that each decoded struct has one shape and no field is looked
 * up at run time (events are decoded by the thousand per second). Fields named
 * *addr hold an address of the struct's family: 4 bytes for IPv4, else all 16.
 */
function structReader(struct: Struct): string[] {
  const type = interfaceName(struct.name);
  const hasFamily = struct.fields.some((f) => f.name === 'family');
  const out = [`/** Reads struct ${struct.name} at o (the caller has checked that buf holds it). */`, `export function read${type}(buf: Buffer, o: number): ${type} {`];
  const family = struct.fields.find((f) => f.name === 'family');
  if (family) out.push(`  const family = readU8(buf, o + ${family.offset}) as AddressFamily;`);
  out.push('  return {');
  for (const f of struct.fields) {
    if (f.name.startsWith('_')) continue;
    const at = `o + ${f.offset}`;
    let value: string;
    if (f.name === 'family') {
      out.push('    family,');
      continue;
    }
    if (f.name.endsWith('addr') && f.kind === 'u8[]')
      value = hasFamily ? `copyBytes(buf, ${at}, family === FLOWLENS_FAMILY_IPV4 ? 4 : ${f.size})` : `copyBytes(buf, ${at}, ${f.size})`;
    else if (f.kind === 'u8[]') value = `copyBytes(buf, ${at}, ${f.size})`;
    else if (f.kind === 'u64[]') value = `readU64s(buf, ${at}, ${f.size / 8})`;
    else value = `read${f.kind.toUpperCase()}(buf, ${at})`;
    out.push(`    ${propertyName(f.name)}: ${value},`);
  }
  out.push('  };', '}');
  return out;
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
    "import { copyBytes, readU8, readU16, readU32, readU64, readU64s } from './bytes.js';",
    '',
    '/** How a field decodes: u8, u16, u32 to a number, u64 to a bigint, u64[] to bigint[], u8[] to a Buffer. */',
    `export type FieldKind = ${Object.keys(TS_TYPES).map((k) => `'${k}'`).join(' | ')};`,
    '',
    '/** Where a field lies in its struct, in bytes, and how it decodes. */',
    'export interface FieldLayout {',
    '  offset: number;',
    '  size: number;',
    '  kind: FieldKind;',
    '  /** The property of the decoded object (the C name in camelCase). */',
    '  property: string;',
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
      ...struct.fields.map(
        (f) => `    ${f.name}: { offset: ${f.offset}, size: ${f.size}, kind: '${f.kind}', property: '${propertyName(f.name)}' }, // ${f.ctype}`,
      ),
      '  },',
      '};',
    );
  }
  out.push('', 'export const STRUCT_LAYOUTS: readonly StructLayout[] = [', ...structs.map(({ struct }) => `  ${constName(struct.name)},`), '];');
  out.push(
    '',
    `// The structs as src/bpf/codecs.ts decodes them: C names in camelCase,`,
    '// padding left out, types by FieldKind; comments from the header.',
    '',
    `/** FLOWLENS_FAMILY_*: the address family of keys and events. */`,
    'export type AddressFamily = typeof FLOWLENS_FAMILY_IPV4 | typeof FLOWLENS_FAMILY_IPV6;',
  );
  const comments = headerComments(header);
  for (const { struct } of structs) out.push('', ...structInterface(struct, comments.get(struct.name)));
  out.push('', '// Readers of the structs, each building its interface in one object literal (src/bpf/codecs.ts decodes through them)');
  for (const { struct } of structs) out.push('', ...structReader(struct));
  out.push(
    '',
    '/** The reader of each struct, by C name. */',
    'export const STRUCT_READERS: Readonly<Record<string, (buf: Buffer, o: number) => object>> = {',
    ...structs.map(({ struct }) => `  ${struct.name}: read${interfaceName(struct.name)},`),
    '};',
  );
  out.push('');
  return out.join('\n');
}
