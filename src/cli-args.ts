// Command-line parsing and help. Options come from the table in config.ts, so
// parsing, the environment variables and the help text cannot disagree.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  type Config,
  type ConfigFlags,
  defaultConfig,
  OPTIONS,
  type OptionSpec,
  optionDefault,
  settingRanges,
} from './config.js';
import { createError } from './errors.js';

export type CliCommand = 'run' | 'help' | 'version' | 'observe';

export type CliResult = {
  command: CliCommand;
  /** Settings from `run` flags, keyed by config key; empty for other commands. */
  flags: ConfigFlags;
  /** Arguments after `observe`, left for its own parser. */
  args: string[];
  /** Text to print for `help`. */
  helpText?: string;
};

const COMMANDS: Record<Exclude<CliCommand, 'help' | 'version'>, string> = {
  run: 'attach to the interfaces and serve metrics, flows and the service map',
  observe: 'show flows from one or more running exporters',
};

function runOptions(): NonNullable<ParseArgsConfig['options']> {
  const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const opt of OPTIONS) options[opt.flag] = { type: 'string', multiple: opt.list };
  return options;
}

function usageError(detail: string, helpCommand?: string) {
  return createError('FLOWLENS_ERR_CLI_USAGE', detail, helpCommand);
}

// parseArgs' own messages mention its API ("place it at the end after '--'");
// these say what the user typed wrong instead.
function translateParseError(err: unknown, command: string) {
  const e = err as { code?: string; message?: string };
  const message = e.message ?? String(err);
  const quoted = /'([^']+)'/.exec(message)?.[1];
  const hint = `flowlens ${command} --help`;
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return usageError(`unknown option "${quoted ?? '?'}" for "flowlens ${command}"`, hint);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      // quoted is "--listen <value>" or "-h, --help": the long form is last.
      const flag = quoted?.replace(/ <value>$/, '').split(', ').pop() ?? '?';
      if (message.includes('does not take an argument')) return usageError(`option "${flag}" does not take a value`, hint);
      return usageError(`option "${flag}" needs a value (use ${flag}=VALUE for values starting with "-")`, hint);
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return usageError(`unexpected argument "${quoted ?? '?'}" for "flowlens ${command}"`, hint);
    default:
      return usageError(message, hint);
  }
}

function parseRun(argv: string[]): CliResult {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options: runOptions(), strict: true, allowPositionals: false }));
  } catch (err) {
    throw translateParseError(err, 'run');
  }
  if (values.help) return { command: 'help', flags: {}, args: [], helpText: runHelpText() };

  const flags: Record<string, string | string[]> = {};
  for (const opt of OPTIONS) {
    const value = values[opt.flag];
    if (value === undefined) continue;
    flags[opt.key] = opt.list ? (value as string[]) : (value as string);
  }
  return { command: 'run', flags: flags as ConfigFlags, args: [] };
}

/** Parses the arguments after the program name (process.argv.slice(2)). */
export function parseCli(argv: readonly string[]): CliResult {
  const [first, ...rest] = argv;
  const help = (text: string): CliResult => ({ command: 'help', flags: {}, args: [], helpText: text });

  if (first === undefined || first === '--help' || first === '-h') return help(mainHelpText());
  if (first === '--version' || first === '-V' || first === 'version') return { command: 'version', flags: {}, args: [] };
  if (first === 'help') {
    const topic = rest[0];
    if (topic === undefined) return help(mainHelpText());
    if (topic === 'run') return help(runHelpText());
    if (topic === 'observe') return { command: 'observe', flags: {}, args: ['--help'] };
    throw usageError(`unknown command "${topic}"`);
  }
  if (first === 'run') return parseRun([...rest]);
  // observe has its own options (filters, output formats); its module parses them.
  if (first === 'observe') return { command: 'observe', flags: {}, args: [...rest] };
  if (first.startsWith('-')) throw usageError(`unknown option "${first}"; options follow a command, e.g. "flowlens run ${first}"`);
  throw usageError(`unknown command "${first}"`);
}

// --- help ---------------------------------------------------------------------

function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines.map((l) => indent + l).join('\n');
}

function optionHelp(opt: OptionSpec, defaults: Config): string {
  const head = `  --${opt.flag} ${opt.value}${opt.list ? ' (repeatable)' : ''}`;
  const def = opt.key === 'config' ? 'none' : optionDefault(opt.key, defaults);
  const listNote = opt.list ? ' (comma-separated)' : '';
  return [
    head,
    wrap(opt.description, 72, '      '),
    `      env ${opt.env}${listNote}; default ${def}`,
  ].join('\n');
}

function fileOnlySettings(defaults: Config): string[] {
  const flagKeys = new Set<string>(OPTIONS.map((o) => o.key));
  const lines: string[] = [];
  // a numeric setting's default is followed by the range it accepts
  const ranges = settingRanges();
  const shown = (path: string, value: unknown) => {
    const range = ranges.get(path);
    return range ? `${String(value)} (${range.min} to ${range.max})` : String(value);
  };
  const add = (path: string, value: unknown) => {
    const text = Array.isArray(value)
      ? `[${value.join(', ')}]`
      : value !== null && typeof value === 'object'
        ? `{${Object.entries(value).map(([k, v]) => `${k}: ${shown(`${path}.${k}`, v)}`).join(', ')}}`
        : shown(path, value);
    lines.push(wrap(`${path}: ${text}`, 76, '  ').replace(/\n {2}/g, '\n      '));
  };
  for (const [key, value] of Object.entries(defaults)) {
    if (flagKeys.has(key)) continue;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [sub, subValue] of Object.entries(value)) add(`${key}.${sub}`, subValue);
    } else {
      add(key, value);
    }
  }
  return lines;
}

/** Help for `flowlens run`: every option with its environment variable and default. */
export function runHelpText(defaults: Config = defaultConfig()): string {
  return [
    'Usage: flowlens run [options]',
    '',
    COMMANDS.run[0]!.toUpperCase() + COMMANDS.run.slice(1) + '.',
    'Precedence: flags > environment variables > config file > defaults.',
    'Options that take a value accept "--flag value" and "--flag=value".',
    '',
    'Options:',
    ...OPTIONS.map((opt) => optionHelp(opt, defaults)),
    '  -h, --help',
    '      show this help',
    '',
    'Config file only (YAML, camelCase keys; shown with defaults):',
    ...fileOnlySettings(defaults),
    '',
    'Exit statuses: 0 ok, 1 runtime failure, 2 bad usage or configuration,',
    '3 missing privileges, 4 BPF load failed, 5 attach failed, 6 kernel lacks BTF/bpffs,',
    '7 native addon missing, 8 another exporter already runs on this node. See docs/errors.md.',
    '',
  ].join('\n');
}

/** Help for `flowlens` without a command. */
export function mainHelpText(): string {
  return [
    'Usage: flowlens <command> [options]',
    '',
    'eBPF network observability by workload identity: flows, drops, DNS and HTTP',
    'as Prometheus metrics, OTLP spans and a service map.',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, text]) => `  ${name.padEnd(10)}${text}`),
    `  ${'help'.padEnd(10)}show help for a command (flowlens help run)`,
    '',
    'Options:',
    '  -h, --help     show this help',
    '  -V, --version  print the version',
    '',
    'Run "flowlens run --help" for the exporter options.',
    '',
  ].join('\n');
}
