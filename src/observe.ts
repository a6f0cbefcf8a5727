// `flowlens observe`: recent and live flows from one or more exporters, their
// streams merged by time, as a compact table (colours on a terminal) or JSON.
// Filters are the API's (src/flows/filter.ts FILTERS), spelled as flags.

import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { createError, wrapError } from './errors.js';
import { FILTERS, FilterError, filterToQuery, parseFilter } from './flows/filter.js';
import { TimeOrderedMerger, mergeByTime } from './flows/merge.js';
import { endpointName, type FlowEndpoint, type FlowRecord } from './flows/record.js';

export const OUTPUT_FORMATS = ['table', 'json', 'jsonl'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const DEFAULT_SERVER = 'http://127.0.0.1:19965';
/** Records shown without --follow when --last is not given. */
export const DEFAULT_LAST = 20;
/** How long live records from several servers are held to be put in time order. */
export const MERGE_DELAY_MS = 250;

export interface ObserveOptions {
  servers: string[];
  /** Filter values by flag name (from-namespace, verdict, ...), as given. */
  filters: Record<string, string[]>;
  follow: boolean;
  /** Newest N records first; undefined: DEFAULT_LAST without --follow, none with it. */
  last: number | undefined;
  output: OutputFormat;
  token: string | undefined;
}

export type ObserveCli = { help: true; text: string } | { help: false; options: ObserveOptions };

function usage(detail: string) {
  return createError('FLOWLENS_ERR_CLI_USAGE', detail, 'flowlens observe --help');
}

function cliOptions(): NonNullable<ParseArgsConfig['options']> {
  const options: NonNullable<ParseArgsConfig['options']> = {
    server: { type: 'string', multiple: true },
    'token-file': { type: 'string' },
    follow: { type: 'boolean', short: 'f' },
    last: { type: 'string', short: 'n' },
    output: { type: 'string', short: 'o' },
    help: { type: 'boolean', short: 'h' },
  };
  for (const f of FILTERS) options[f.flag] = { type: 'string', multiple: true };
  return options;
}

/** Parses the arguments after `observe`; `env` supplies FLOWLENS_SERVER and FLOWLENS_TOKEN_FILE. */
export function parseObserveArgs(
  argv: readonly string[],
  env: Record<string, string | undefined> = {},
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): ObserveCli {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options: cliOptions(), strict: true, allowPositionals: false }));
  } catch (err) {
    const e = err as { message?: string };
    const quoted = /'([^']+)'/.exec(e.message ?? '')?.[1];
    throw usage(quoted ? `bad option "${quoted}" for "flowlens observe"` : String(e.message));
  }
  if (values.help) return { help: true, text: observeHelpText() };

  const serverText = (values.server as string[] | undefined)?.join(',') ?? env.FLOWLENS_SERVER ?? DEFAULT_SERVER;
  const servers = serverText.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => s.replace(/\/+$/, ''));
  if (servers.length === 0) throw usage('--server needs at least one URL');
  for (const s of servers) {
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      throw usage(`--server: "${s}" is not a URL (e.g. http://10.0.0.5:19965)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usage(`--server: "${s}" is not an http(s) URL`);
  }

  const filters: Record<string, string[]> = {};
  for (const f of FILTERS) {
    const v = values[f.flag] as string[] | undefined;
    if (v) filters[f.flag] = v;
  }
  // check the filters here, so a typo is a usage error and not a server's 400
  try {
    parseFilter(filters, Date.now(), true);
  } catch (err) {
    if (err instanceof FilterError) throw usage(err.message);
    throw err;
  }

  let last: number | undefined;
  if (values.last !== undefined) {
    const text = values.last as string;
    if (!/^\d+$/.test(text)) throw usage(`--last: expected a whole number, got "${text}"`);
    last = Number(text);
  }
  const output = (values.output as string | undefined) ?? 'table';
  if (!(OUTPUT_FORMATS as readonly string[]).includes(output)) throw usage(`-o: expected one of ${OUTPUT_FORMATS.join(', ')}, got "${output}"`);

  const tokenFile = (values['token-file'] as string | undefined) ?? env.FLOWLENS_TOKEN_FILE;
  let token: string | undefined;
  if (tokenFile) {
    try {
      token = readFile(tokenFile).trim();
    } catch (err) {
      throw wrapError(err, 'FLOWLENS_ERR_CLI_USAGE', `--token-file: cannot read ${tokenFile}: ${(err as Error).message}`, 'flowlens observe --help');
    }
  }
  return { help: false, options: { servers, filters, follow: Boolean(values.follow), last, output: output as OutputFormat, token } };
}

export function observeHelpText(): string {
  const filterLines = FILTERS.map((f) => `  --${`${f.flag} ${f.value}`.padEnd(26)} ${f.description}`);
  return [
    'Usage: flowlens observe [--server URL[,URL...]] [filters...] [--follow] [--last N] [-o table|json|jsonl]',
    '',
    'Show recent and live flows, drops, TCP outcomes, DNS and HTTP exchanges from one or more',
    'exporters; with several servers their streams are merged by time.',
    '',
    'Options:',
    `  --server URL[,URL...]      exporters to read (repeatable); env FLOWLENS_SERVER; default ${DEFAULT_SERVER}`,
    '  --token-file FILE          bearer token for exporters that require one; env FLOWLENS_TOKEN_FILE',
    '  -f, --follow               keep printing new records as they happen (Ctrl-C stops)',
    `  -n, --last N               the newest N matching records first (default ${DEFAULT_LAST}; with --follow, none)`,
    '  -o, --output FORMAT        table (one line per record; colours on a terminal), json, jsonl',
    '  -h, --help                 show this help',
    '',
    'Filters (repeat a flag or separate values with commas for alternatives; different flags must all match):',
    ...filterLines,
    '',
    'Examples:',
    '  flowlens observe --verdict DROPPED',
    '  flowlens observe --from-namespace shop --to-port 5432 --follow',
    '  flowlens observe --server http://node-a:19965,http://node-b:19965 --type dns -o jsonl',
    '',
  ].join('\n');
}

// --- output -----------------------------------------------------------------

const COLORS = { reset: '\x1b[0m', dim: '\x1b[2m', red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m', bold: '\x1b[1m' };

function endText(e: FlowEndpoint): string {
  const where = e.ip === '' ? '' : e.port !== 0 ? ` ${e.ip.includes(':') ? `[${e.ip}]` : e.ip}:${e.port}` : ` ${e.ip}`;
  return `${endpointName(e)}${where}`;
}

const isUnknownSource = (e: FlowEndpoint) => e.identity === 2 || e.identity === 3;

/** One compact line: time, node, source -> destination, protocol, direction, type, VERDICT, summary. */
export function formatTableLine(r: FlowRecord, color: boolean): string {
  const paint = (code: string, text: string) => (color ? `${code}${text}${COLORS.reset}` : text);
  const src = isUnknownSource(r.source) ? paint(COLORS.yellow, endText(r.source)) : endText(r.source);
  const dst = isUnknownSource(r.destination) ? paint(COLORS.yellow, endText(r.destination)) : endText(r.destination);
  const verdict = r.verdict.toUpperCase();
  const v = paint(r.verdict === 'dropped' ? COLORS.red : COLORS.green, verdict);
  // millisecond precision reads better on a terminal; JSON keeps nanoseconds
  const time = `${r.time.slice(0, 23)}Z`;
  return `${paint(COLORS.dim, time)} ${r.node} ${src} -> ${dst} ${r.protocol} ${r.direction} ${r.type} ${v} ${r.summary}`;
}

/** Writes records in one format; `json` makes one array unless streaming (then one object after another). */
export class RecordPrinter {
  constructor(
    private readonly output: OutputFormat,
    private readonly write: (text: string) => void,
    private readonly color: boolean,
  ) {}

  all(records: readonly FlowRecord[]): void {
    if (this.output === 'json') {
      this.write(JSON.stringify(records, null, 2) + '\n');
      return;
    }
    for (const r of records) this.one(r);
  }

  one(r: FlowRecord): void {
    switch (this.output) {
      case 'table':
        this.write(formatTableLine(r, this.color) + '\n');
        break;
      case 'json':
        this.write(JSON.stringify(r, null, 2) + '\n');
        break;
      case 'jsonl':
        this.write(JSON.stringify(r) + '\n');
        break;
    }
  }
}

// --- reading ----------------------------------------------------------------

export interface ObserveIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Colours in the table: stdout is a terminal and NO_COLOR is not set. */
  color: boolean;
  fetch?: typeof fetch;
  /** Aborts --follow (SIGINT). */
  signal?: AbortSignal;
}

function flowsUrl(server: string, options: ObserveOptions, params: Record<string, string>): string {
  const q = filterToQuery(options.filters, true);
  for (const [k, v] of Object.entries(params)) q.set(k, v);
  return `${server}/api/flows?${q}`;
}

async function failureText(res: Response): Promise<string> {
  let detail = '';
  try {
    const body = (await res.json()) as { message?: string };
    if (body.message) detail = `: ${body.message}`;
  } catch {
    // not JSON: the status says enough
  }
  return `HTTP ${res.status}${detail}`;
}

/** Splits a Server-Sent Events byte stream into `flow` records. */
export async function* sseRecords(body: ReadableStream<Uint8Array>): AsyncGenerator<FlowRecord> {
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (event === 'flow' && data.length > 0) yield JSON.parse(data.join('\n')) as FlowRecord;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/** Runs observe; resolves with the exit status. */
export async function runObserve(options: ObserveOptions, io: ObserveIo): Promise<number> {
  const doFetch = io.fetch ?? fetch;
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  const printer = new RecordPrinter(options.output, io.stdout, io.color);

  if (!options.follow) {
    const last = options.last ?? DEFAULT_LAST;
    const failures: string[] = [];
    const lists = await Promise.all(
      options.servers.map(async (server) => {
        try {
          const res = await doFetch(flowsUrl(server, options, { limit: String(last) }), { headers });
          if (!res.ok) throw new Error(await failureText(res));
          const body = (await res.json()) as { flows?: FlowRecord[] };
          if (!Array.isArray(body.flows)) throw new Error('the answer has no "flows" list (not a flowlens exporter?)');
          return body.flows;
        } catch (err) {
          failures.push(`${server}: ${(err as Error).message}`);
          return [];
        }
      }),
    );
    reportFailures(options, failures, io);
    const merged = mergeByTime(lists);
    printer.all(last === 0 ? [] : merged.slice(-last));
    return 0;
  }

  const merger = new TimeOrderedMerger({
    delayMs: options.servers.length > 1 ? MERGE_DELAY_MS : 0,
    emit: (r) => printer.one(r),
  });
  const failures: string[] = [];
  const params: Record<string, string> = { follow: 'true' };
  if (options.last !== undefined && options.last > 0) params.limit = String(options.last);
  await Promise.all(
    options.servers.map(async (server) => {
      try {
        const res = await doFetch(flowsUrl(server, options, params), { headers, signal: io.signal });
        if (!res.ok || !res.body) throw new Error(res.ok ? 'empty answer' : await failureText(res));
        for await (const r of sseRecords(res.body)) merger.push(r);
        io.stderr(`flowlens observe: ${server} closed the stream\n`);
      } catch (err) {
        if (io.signal?.aborted) return;
        failures.push(`${server}: ${(err as Error).message}`);
        if (options.servers.length > 1) io.stderr(`flowlens observe: warning: ${server}: ${(err as Error).message}\n`);
      }
    }),
  );
  merger.flush();
  if (!io.signal?.aborted && failures.length === options.servers.length) {
    throw createError('FLOWLENS_ERR_OBSERVE_UNREACHABLE', options.servers.join(', '), failures.join('; '));
  }
  return 0;
}

function reportFailures(options: ObserveOptions, failures: string[], io: ObserveIo): void {
  if (failures.length === 0) return;
  if (failures.length === options.servers.length) {
    throw createError('FLOWLENS_ERR_OBSERVE_UNREACHABLE', options.servers.join(', '), failures.join('; '));
  }
  for (const f of failures) io.stderr(`flowlens observe: warning: ${f}\n`);
}
