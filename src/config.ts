// The exporter's configuration: one YAML file, environment variables and
// command-line flags, merged flags > env > file > defaults and validated by one
// strict schema. A bad value stops start-up with the field's path, the value
// and where it came from; unknown keys are refused so a typo cannot silently
// leave a setting at its default.

import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { interfacePatternProblem, labelKeyProblem, otlpEndpointProblem, parseListen } from './config/validators.js';
import { createError, readTextFile, wrapError } from './errors.js';
import { tryParseCidr } from './net/cidr.js';
import { formatPath, valueAt } from './config/issue-path.js';
import { numericRanges, type NumericRange } from './config/ranges.js';
import { normalizeSuffix, QUERY_NAME_MODES, QUERY_NAMES_MAX } from './config/dns-query-names.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export const ATTACH_MODES = ['auto', 'tcx', 'clsact'] as const;
export const METRIC_CONTEXTS = ['identity', 'namespace', 'workload', 'workload_kind', 'app', 'pod'] as const;
export const KUBERNETES_MODES = ['auto', 'on', 'off'] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];
export type AttachMode = (typeof ATTACH_MODES)[number];
export type MetricContext = (typeof METRIC_CONTEXTS)[number];

/** Classes of the kernel's drop reasons (reason_class); src/datapath/drop-reasons.ts assigns them. */
export const REASON_CLASSES = ['policy', 'no_socket', 'congestion', 'routing', 'malformed', 'socket', 'other'] as const;
export type ReasonClass = (typeof REASON_CLASSES)[number];

// Ports that name a well-known service are reported exactly; the rest are
// folded into ranges to bound the cardinality of destination_port.
export const DEFAULT_DESTINATION_PORTS: readonly number[] = [
  22, 25, 53, 80, 110, 143, 443, 465, 587, 993, 995, 2379, 3000, 3306, 5432, 6379, 6443, 8080, 8443, 9090, 9092,
  9093, 9200, 9965, 10250, 11211, 19965, 27017,
];

// Labels that differ between replicas of one workload (or between its
// rollouts) would give every pod its own identity; they are left out of it.
export const DEFAULT_EXCLUDED_LABELS: readonly string[] = [
  'pod-template-hash',
  'controller-revision-hash',
  'statefulset.kubernetes.io/pod-name',
  'pod-template-generation',
  'job-name',
  'controller-uid',
  'batch.kubernetes.io/job-name',
  'batch.kubernetes.io/controller-uid',
];

const DEFAULT_INTERFACES: readonly string[] = ['lxc*', 'cali*', 'veth*', 'azv*', 'eni*', 'gke*'];

// --- schema -----------------------------------------------------------------

function refined<T extends z.ZodType>(base: T, check: (v: z.output<T>) => string | undefined) {
  return base.superRefine((value, ctx) => {
    const problem = check(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}

// Every numeric setting has a lower and an upper bound, stated in its error
// message, in `flowlens run --help` and in README (both read the bounds from
// this schema): a value beyond what the exporter can hold, such as a
// flows.capacity of 1e12, stops start-up with the setting's name instead of
// failing later with a RangeError or taking the node's memory.
const intRange = (min: number, max: number) => {
  const expected = { error: `expected an integer from ${min} to ${max}` };
  return z.number(expected).int(expected).min(min, expected).max(max, expected);
};

// a BPF ring buffer's size must be a power of two (and a multiple of the page size)
const powerOfTwo = (min: number, max: number) => {
  const expected = { error: `expected a power of two from ${min} to ${max}` };
  return z.number(expected).int(expected).min(min, expected).max(max, expected).refine((v) => (v & (v - 1)) === 0, expected);
};

const numberRange = (min: number, max: number) => {
  const expected = { error: `expected a number from ${min} to ${max}` };
  return z.number(expected).min(min, expected).max(max, expected);
};

/** The largest datapath.mapEntries: each identity-pair map is preallocated at this many entries. */
export const MAP_ENTRIES_MAX = 1_048_576;
/** The largest flows.capacity: 124 bytes a record packed, plus the strings they hold, so about 120 MiB at most. */
export const FLOWS_CAPACITY_MAX = 1_000_000;
/** The largest ring buffer (each of the two programs has one); memory the kernel allocates up front. */
export const RING_BUFFER_BYTES_MAX = 64 * 1024 * 1024;

const path = () => z.string({ error: 'expected a path' }).min(1, { error: 'expected a path' });

const listenSchema = refined(z.string({ error: 'expected HOST:PORT' }), (v) => {
  const r = parseListen(v);
  return r.ok ? undefined : r.reason;
});

const interfacePattern = refined(z.string({ error: 'expected an interface name or pattern' }), interfacePatternProblem);

const cidrSchema = z.string({ error: 'expected a CIDR such as 10.0.0.0/8' }).transform((v, ctx) => {
  const r = tryParseCidr(v);
  if (!r.ok) {
    ctx.addIssue({ code: 'custom', message: r.reason });
    return z.NEVER;
  }
  return r.cidr.text;
});

const patterns = (def: readonly string[]) =>
  z.array(interfacePattern, { error: 'expected a list of interface patterns' }).default([...def]);

const datapathSchema = z.strictObject(
  {
    attachMode: z.enum(ATTACH_MODES, { error: `expected one of ${ATTACH_MODES.join('|')}` }).default('auto'),
    flowIdleTimeoutSeconds: intRange(1, 3600).default(30),
    // a u32 in the kernel; far beyond what a ring read every 100 ms can carry
    eventsPerSecond: intRange(1, 10_000_000).default(1000),
    ringBufferBytes: powerOfTwo(4096, RING_BUFFER_BYTES_MAX).default(262144),
    interfaceScanMilliseconds: intRange(10, 60_000).default(250),
    mapEntries: intRange(1, MAP_ENTRIES_MAX).default(16384),
    tcpUnansweredTimeoutSeconds: intRange(1, 600).default(3),
    // bpf_stats timing is kernel-wide and costs every BPF program two clock
    // reads per run; it measurably slows a busy node, so it is opt-in.
    programStats: z.boolean({ error: 'expected true or false' }).default(false),
  },
  { error: 'expected a mapping' },
);

const dropsSchema = z.strictObject(
  {
    // reason name (e.g. socket_filter) -> class; the rest keep their default class
    reasonClasses: z
      .record(z.string(), z.enum(REASON_CLASSES, { error: `expected one of ${REASON_CLASSES.join('|')}` }), {
        error: 'expected a mapping of drop reason names to classes',
      })
      .default({}),
  },
  { error: 'expected a mapping' },
);

const httpSchema = z.strictObject(
  {
    // HTTP/1.x request and status lines on every TCP port; off leaves one flag test per segment
    enabled: z.boolean({ error: 'expected true or false' }).default(true),
    // regular expressions whose matches in request paths become {redacted} in flows and spans
    redactPaths: z
      .array(
        z.string({ error: 'expected a regular expression' }).refine(
          (p) => {
            try {
              new RegExp(p, 'g');
              return true;
            } catch {
              return false;
            }
          },
          { error: 'expected a valid regular expression' },
        ),
        { error: 'expected a list of regular expressions' },
      )
      .default([]),
  },
  { error: 'expected a mapping' },
);

const portSchema = z
  .number({ error: 'expected a port number from 1 to 65535' })
  .int({ error: 'expected a port number from 1 to 65535' })
  .min(1, { error: 'expected a port number from 1 to 65535' })
  .max(65535, { error: 'expected a port number from 1 to 65535' });

const metricsSchema = z.strictObject(
  {
    contexts: z
      .array(z.enum(METRIC_CONTEXTS, { error: `expected one of ${METRIC_CONTEXTS.join('|')}` }), {
        error: 'expected a list of contexts',
      })
      .min(1, { error: 'expected at least one context' })
      .transform((v) => [...new Set(v)])
      .default(['namespace', 'workload', 'identity']),
    seriesLimit: intRange(1, 100_000).default(10000),
    // Series of an identity no source knows any more go after this long, so
    // cardinality follows the workloads that exist, not every pod ever seen.
    identityTtlSeconds: intRange(1, 86_400).default(300),
    destinationPorts: z
      .array(portSchema, { error: 'expected a list of port numbers' })
      .transform((v) => [...new Set(v)].sort((a, b) => a - b))
      .default([...DEFAULT_DESTINATION_PORTS]),
  },
  { error: 'expected a mapping' },
);

const kubernetesSchema = z.strictObject(
  {
    // auto: on with --kubeconfig, or inside a pod with a service account
    enabled: z.enum(KUBERNETES_MODES, { error: `expected one of ${KUBERNETES_MODES.join('|')}` }).default('auto'),
    // a deleted pod's address keeps its identity this long, for late packets
    staleGraceSeconds: numberRange(0, 3600).default(60),
    // watch NetworkPolicies to explain policy-class drops (needs list/watch on networkpolicies)
    networkPolicies: z.boolean({ error: 'expected true or false' }).default(true),
  },
  { error: 'expected a mapping' },
);

const dnsSuffixSchema = z.string({ error: 'expected a domain name such as example.com' }).transform((v, ctx) => {
  const r = normalizeSuffix(v);
  if (!r.ok) {
    ctx.addIssue({ code: 'custom', message: r.reason });
    return z.NEVER;
  }
  return r.suffix;
});

// Query names as a label of flowlens_dns_queries_by_name_total: off, the
// configured suffixes, or the top N names; everything else is folded into "other".
const queryNamesSchema = refined(
  z.strictObject(
    {
      mode: z.enum(QUERY_NAME_MODES, { error: `expected one of ${QUERY_NAME_MODES.join('|')}` }).default('off'),
      suffixes: z
        .array(dnsSuffixSchema, { error: 'expected a list of domain names' })
        .max(QUERY_NAMES_MAX, { error: `expected at most ${QUERY_NAMES_MAX} suffixes` })
        .transform((v) => [...new Set(v)])
        .default([]),
      top: intRange(1, QUERY_NAMES_MAX).default(10),
    },
    { error: 'expected a mapping' },
  ),
  (v) => (v.mode === 'suffixes' && v.suffixes.length === 0 ? 'mode suffixes needs at least one name in suffixes' : undefined),
);

const dnsSchema = z.strictObject(
  {
    ports: z
      .array(portSchema, { error: 'expected a list of port numbers' })
      .min(1, { error: 'expected 1 to 4 ports' })
      .transform((v) => [...new Set(v)])
      .pipe(z.array(z.number()).max(4, { error: 'expected 1 to 4 distinct ports' }))
      .default([53]),
    unansweredTimeoutSeconds: intRange(1, 300).default(5),
    queryNames: queryNamesSchema.prefault({}),
  },
  { error: 'expected a mapping' },
);

const nullablePath = () => path().nullable().default(null);

const tracesSchema = z.strictObject(
  {
    headers: z.record(z.string(), z.string({ error: 'expected a string' }), { error: 'expected a mapping of header names to values' }).default({}),
    tls: refined(
      z.strictObject(
        { caFile: nullablePath(), certFile: nullablePath(), keyFile: nullablePath() },
        { error: 'expected a mapping' },
      ),
      (v) => ((v.certFile === null) !== (v.keyFile === null) ? 'expected both certFile and keyFile, or neither' : undefined),
    ).prefault({}),
    // null: OTEL_TRACES_SAMPLER(_ARG) decide, else every root; a caller's unsampled traceparent is never sampled
    samplingRatio: numberRange(0, 1).nullable().default(null),
    // labels whose value names a span's service (service.name), the first one a workload has; else its workload name
    serviceNameLabels: z
      .array(refined(z.string({ error: 'expected a label key' }), labelKeyProblem), { error: 'expected a list of label keys' })
      .default([]),
    maxQueueSize: intRange(1, 100_000).default(2048),
    maxExportBatchSize: intRange(1, 100_000).default(512),
    // timers: Node fires a delay above 2^31-1 ms at once, so these stay far below it
    exportIntervalMilliseconds: intRange(10, 600_000).default(1000),
    exportTimeoutMilliseconds: intRange(100, 600_000).default(10000),
  },
  { error: 'expected a mapping' },
);

// every flow record (what /api/flows returns) as an OTLP log record, to the OTLP endpoint
const flowLogsSchema = z.strictObject(
  {
    enabled: z.boolean({ error: 'expected true or false' }).default(false),
    maxQueueSize: intRange(1, 100_000).default(4096),
    maxExportBatchSize: intRange(1, 100_000).default(512),
    exportIntervalMilliseconds: intRange(10, 600_000).default(1000),
    exportTimeoutMilliseconds: intRange(100, 600_000).default(10000),
  },
  { error: 'expected a mapping' },
);

const identityLabelsSchema = z.strictObject(
  {
    exclude: z
      .array(refined(z.string({ error: 'expected a label key' }), labelKeyProblem), {
        error: 'expected a list of label keys',
      })
      .default([...DEFAULT_EXCLUDED_LABELS]),
  },
  { error: 'expected a mapping' },
);

const flowsSchema = z.strictObject(
  {
    // records kept for /api/flows, observe and the UI; 124 bytes each packed, plus the strings they hold
    capacity: intRange(1, FLOWS_CAPACITY_MAX).default(65535),
  },
  { error: 'expected a mapping' },
);

const apiSchema = z.strictObject(
  {
    // per client address, to /api; a burst of twice as many passes; 0 turns the limit off
    requestsPerSecond: numberRange(0, 100_000).default(20),
  },
  { error: 'expected a mapping' },
);

export const configSchema = z.strictObject(
  {
    listen: listenSchema.default('0.0.0.0:19965'),
    interfaces: patterns(DEFAULT_INTERFACES),
    nodeInterfaces: patterns([]),
    identities: path().nullable().default(null),
    clusterCidrs: z.array(cidrSchema, { error: 'expected a list of CIDRs' }).default([]),
    kubeconfig: path().nullable().default(null),
    kubeContext: z.string({ error: 'expected a context name' }).min(1, { error: 'expected a context name' }).nullable().default(null),
    nodeName: z.string({ error: 'expected a node name' }).min(1, { error: 'expected a node name' }).nullable().default(null),
    pinPath: refined(path(), (v) => (isAbsolute(v) ? undefined : 'expected an absolute path (a directory on bpffs)'))
      .nullable()
      .default(null),
    otlpEndpoint: refined(z.string({ error: 'expected a URL' }), otlpEndpointProblem).nullable().default(null),
    logLevel: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join('|')}` }).default('info'),
    apiTokenFile: path().nullable().default(null),
    datapath: datapathSchema.prefault({}),
    metrics: metricsSchema.prefault({}),
    drops: dropsSchema.prefault({}),
    dns: dnsSchema.prefault({}),
    traces: tracesSchema.prefault({}),
    flowLogs: flowLogsSchema.prefault({}),
    http: httpSchema.prefault({}),
    identityLabels: identityLabelsSchema.prefault({}),
    kubernetes: kubernetesSchema.prefault({}),
    flows: flowsSchema.prefault({}),
    api: apiSchema.prefault({}),
  },
  { error: 'expected a mapping' },
);

export type Config = z.output<typeof configSchema>;
export type ConfigKey = keyof Config;

export function defaultConfig(): Config {
  return configSchema.parse({});
}

/** The bounds of every numeric setting, by dotted path, as the schema enforces them. */
export function settingRanges(): Map<string, NumericRange> {
  return numericRanges(configSchema);
}

// --- the settings reachable from the command line and environment ---------

/** Values from command-line flags, keyed by the config key they set. */
export type ConfigFlags = {
  /** Path of the config file (--config). */
  config?: string;
  listen?: string;
  interfaces?: string[];
  nodeInterfaces?: string[];
  identities?: string;
  clusterCidrs?: string[];
  kubeconfig?: string;
  kubeContext?: string;
  nodeName?: string;
  pinPath?: string;
  otlpEndpoint?: string;
  logLevel?: string;
  apiTokenFile?: string;
};

export type OverridableKey = Exclude<keyof ConfigFlags, 'config'>;

export type OptionSpec = {
  /** Config key (or 'config' for the file path itself). */
  key: keyof ConfigFlags;
  /** Long flag without dashes; repeatable when `list`. */
  flag: string;
  env: string;
  /** Placeholder shown in help. */
  value: string;
  list: boolean;
  description: string;
};

/**
 * Every setting a flag or environment variable can set. The CLI parser, the
 * loader and the help text are all driven by this one table, so a new option
 * cannot be parsed without also being documented.
 */
export const OPTIONS: readonly OptionSpec[] = [
  { key: 'config', flag: 'config', env: 'FLOWLENS_CONFIG', value: 'FILE', list: false,
    description: 'YAML configuration file' },
  { key: 'listen', flag: 'listen', env: 'FLOWLENS_LISTEN', value: 'HOST:PORT', list: false,
    description: 'address of the HTTP server (/metrics, /healthz, /api)' },
  { key: 'interfaces', flag: 'interface', env: 'FLOWLENS_INTERFACES', value: 'PATTERN', list: true,
    description: 'pod-side interfaces to attach to (host end of pod veths); glob with * and ?' },
  { key: 'nodeInterfaces', flag: 'node-interface', env: 'FLOWLENS_NODE_INTERFACES', value: 'PATTERN', list: true,
    description: "the node's own interfaces to watch as well; glob with * and ?" },
  { key: 'identities', flag: 'identities', env: 'FLOWLENS_IDENTITIES', value: 'FILE', list: false,
    description: 'static identity file (YAML), reloaded when it changes' },
  { key: 'clusterCidrs', flag: 'cluster-cidr', env: 'FLOWLENS_CLUSTER_CIDRS', value: 'CIDR', list: true,
    description: 'address ranges of the cluster; unknown addresses inside are "unmanaged", outside "world"' },
  { key: 'kubeconfig', flag: 'kubeconfig', env: 'FLOWLENS_KUBECONFIG', value: 'FILE', list: false,
    description: 'kubeconfig for the Kubernetes identity source (default: in-cluster config inside a pod)' },
  { key: 'kubeContext', flag: 'kube-context', env: 'FLOWLENS_KUBE_CONTEXT', value: 'NAME', list: false,
    description: "kubeconfig context to use instead of the file's current-context" },
  { key: 'nodeName', flag: 'node-name', env: 'FLOWLENS_NODE_NAME', value: 'NAME', list: false,
    description: "this node's Kubernetes name: its addresses are reserved:host (default: the host name)" },
  { key: 'pinPath', flag: 'pin-path', env: 'FLOWLENS_PIN_PATH', value: 'DIR', list: false,
    description: 'bpffs directory to pin maps in, so counts survive restarts (e.g. /sys/fs/bpf/flowlens)' },
  { key: 'otlpEndpoint', flag: 'otlp-endpoint', env: 'FLOWLENS_OTLP_ENDPOINT', value: 'URL', list: false,
    description: 'OTLP/gRPC endpoint to send spans (and flow logs) to (e.g. http://otel-collector:4317); else OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT' },
  { key: 'logLevel', flag: 'log-level', env: 'FLOWLENS_LOG_LEVEL', value: 'LEVEL', list: false,
    description: `log level: ${LOG_LEVELS.join('|')}` },
  { key: 'apiTokenFile', flag: 'api-token-file', env: 'FLOWLENS_API_TOKEN_FILE', value: 'FILE', list: false,
    description: 'file holding a bearer token that /api then requires, and that the UI asks for (e.g. a mounted Secret); /metrics is not affected' },
];

// --- loading ------------------------------------------------------------------

export type LoadConfigOptions = {
  flags?: ConfigFlags;
  env?: Record<string, string | undefined>;
  /** Reads the config file; defaults to fs.readFileSync(path, 'utf8'). */
  readFile?: (path: string) => string;
};

type Issue = z.core.$ZodIssue;



function render(value: unknown): string {
  if (value === undefined) return 'nothing';
  // JSON would show YAML's .inf and .nan as null
  if (typeof value === 'number') return String(value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function toError(issue: Issue, input: unknown, prefix: readonly PropertyKey[], origin: string) {
  const fullPath = [...prefix, ...issue.path];
  if (issue.code === 'unrecognized_keys') {
    return createError('FLOWLENS_ERR_CONFIG_UNKNOWN_KEY', formatPath([...fullPath, issue.keys[0]!]), origin);
  }
  // A reason that already quotes the value (CIDRs) does not need it again.
  const got = valueAt(input, issue.path);
  const reason = issue.message.startsWith('"') ? issue.message : `${issue.message}, got ${render(got)}`;
  return createError('FLOWLENS_ERR_CONFIG_INVALID', formatPath(fullPath) || '(top level)', reason, origin);
}

// Schema-level messages cover the expected cases; this phrases whatever is left
// (e.g. a nested type mismatch) in the same "expected ..." style.
const fallbackMessage = (issue: { code?: string; expected?: unknown }) =>
  issue.code === 'invalid_type' ? `expected ${String(issue.expected)}` : undefined;

function check<T extends z.ZodType>(schema: T, input: unknown, prefix: readonly PropertyKey[], origin: string): z.output<T> {
  const result = schema.safeParse(input, { error: fallbackMessage });
  if (!result.success) throw toError(result.error.issues[0]!, input, prefix, origin);
  return result.data;
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}

function readConfigFile(file: string, readFile: (path: string) => string): unknown {
  const text = readTextFile(file, 'FLOWLENS_ERR_CONFIG_FILE_UNREADABLE', readFile);
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw wrapError(err, 'FLOWLENS_ERR_CONFIG_FILE_UNREADABLE', file, `not valid YAML: ${firstLine((err as Error).message)}`);
  }
  if (doc === null || doc === undefined) return {}; // an empty file means "all defaults"
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw createError('FLOWLENS_ERR_CONFIG_FILE_UNREADABLE', file, 'the top level must be a mapping of settings');
  }
  return doc;
}

// Paths written in the file are relative to the file, so a config directory
// can be moved as a whole; paths from flags and env stay relative to the cwd.
function resolveFilePaths(config: Config, dir: string): void {
  if (config.identities !== null) config.identities = resolve(dir, config.identities);
  if (config.kubeconfig !== null) config.kubeconfig = resolve(dir, config.kubeconfig);
  if (config.apiTokenFile !== null) config.apiTokenFile = resolve(dir, config.apiTokenFile);
}

/** Splits a comma-separated environment value; empty items are dropped. */
function splitList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

type Override = { key: OverridableKey; value: string | string[]; origin: string };

function envOverrides(env: Record<string, string | undefined>): Override[] {
  const out: Override[] = [];
  for (const opt of OPTIONS) {
    if (opt.key === 'config') continue;
    const raw = env[opt.env]?.trim();
    // An empty variable (as templating often leaves) means "not set".
    if (raw === undefined || raw === '') continue;
    out.push({ key: opt.key, value: opt.list ? splitList(raw) : raw, origin: opt.env });
  }
  return out;
}

function flagOverrides(flags: ConfigFlags): Override[] {
  const out: Override[] = [];
  for (const opt of OPTIONS) {
    if (opt.key === 'config') continue;
    const value = flags[opt.key];
    if (value === undefined) continue;
    out.push({ key: opt.key, value, origin: `--${opt.flag}` });
  }
  return out;
}

/**
 * Builds the configuration: defaults, then the file (--config or
 * FLOWLENS_CONFIG), then environment variables, then flags. Throws a
 * FlowlensError (CONFIG_INVALID, CONFIG_UNKNOWN_KEY, CONFIG_FILE_UNREADABLE).
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const flags = options.flags ?? {};
  const env = options.env ?? {};
  const readFile = options.readFile ?? ((p: string) => readFileSync(p, 'utf8'));

  // An empty --config= or FLOWLENS_CONFIG= means "no file", like other empty values.
  const file = flags.config?.trim() || env.FLOWLENS_CONFIG?.trim() || undefined;
  const fromFile = file === undefined ? {} : readConfigFile(file, readFile);
  const config = check(configSchema, fromFile, [], file ?? 'defaults');
  if (file !== undefined) resolveFilePaths(config, dirname(file));

  // Later overrides win: flags come after the environment.
  for (const o of [...envOverrides(env), ...flagOverrides(flags)]) {
    const fieldSchema = configSchema.shape[o.key];
    (config as Record<string, unknown>)[o.key] = check(fieldSchema, o.value, [o.key], o.origin);
  }
  return config;
}

/** Where each overridable key's value can come from, for help and docs. */
export function optionDefault(key: OverridableKey, defaults: Config = defaultConfig()): string {
  const value = defaults[key];
  if (value === null) return 'none';
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.join(',');
  return String(value);
}
