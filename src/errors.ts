// One registry of every error flowlens reports to its user. Each entry has a
// stable code (documented in docs/errors.md, checked by a test), a message
// that says what to do about it, and the process exit status it maps to, so
// scripts and orchestrators can tell a bad config from a kernel without BTF.

import { readFileSync } from 'node:fs';

/** Exit statuses, grouped by what the operator has to fix. */
export const EXIT = {
  /** Something failed while running (not a startup precondition). */
  RUNTIME: 1,
  /** Bad command line, configuration or identity file. */
  CONFIG: 2,
  /** Not root and missing capabilities. */
  PRIVILEGES: 3,
  /** The kernel rejected (or could not be given) the BPF objects. */
  BPF_LOAD: 4,
  /** Programs loaded but could not be attached to an interface. */
  ATTACH: 5,
  /** The kernel lacks a feature flowlens needs (BTF, bpffs). */
  KERNEL: 6,
  /** The installation is incomplete (native addon not built). */
  INSTALL: 7,
  /** Another exporter already runs on this node. */
  ALREADY_RUNNING: 8,
} as const;

export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];

type Definition<A extends unknown[]> = {
  exitStatus: ExitStatus;
  message: (...args: A) => string;
};

function def<A extends unknown[]>(exitStatus: ExitStatus, message: (...args: A) => string): Definition<A> {
  return { exitStatus, message };
}

function list(items: readonly string[]): string {
  return items.join(', ');
}

export const ERRORS = {
  FLOWLENS_ERR_CLI_USAGE: def(EXIT.CONFIG, (detail: string, helpCommand = 'flowlens --help') =>
    `${detail}. Run "${helpCommand}" for the list of commands and options.`),

  FLOWLENS_ERR_CONFIG_INVALID: def(EXIT.CONFIG, (field: string, reason: string, origin?: string) =>
    `invalid configuration${origin ? ` (from ${origin})` : ''}: ${field}: ${reason}. ` +
    'Fix the value; see "flowlens run --help" for the accepted values and defaults.'),

  FLOWLENS_ERR_CONFIG_FILE_UNREADABLE: def(EXIT.CONFIG, (path: string, reason: string) =>
    `cannot read configuration file ${path}: ${reason}. ` +
    'Check the path given with --config or FLOWLENS_CONFIG, its permissions, and that it is valid YAML.'),

  FLOWLENS_ERR_CONFIG_UNKNOWN_KEY: def(EXIT.CONFIG, (key: string, origin?: string) =>
    `unknown configuration key "${key}"${origin ? ` in ${origin}` : ''}. ` +
    'Remove it or correct its spelling (keys are camelCase, e.g. seriesLimit).'),

  FLOWLENS_ERR_IDENTITY_FILE_INVALID: def(EXIT.CONFIG, (path: string, field: string, reason: string) =>
    `invalid identity file ${path}: ${field}: ${reason}. ` +
    'Fix the entry; the file needs "identities:" with a list of entries, each with addresses (CIDRs) and either namespace or name.'),

  FLOWLENS_ERR_IDENTITY_FILE_UNREADABLE: def(EXIT.CONFIG, (path: string, reason: string) =>
    `cannot read identity file ${path}: ${reason}. ` +
    'Check the path given with --identities or FLOWLENS_IDENTITIES and its permissions.'),

  FLOWLENS_ERR_IDENTITY_COLLISION: def(EXIT.RUNTIME, (id: number, kept: string, rejected: string) =>
    `identity ${id} derived for two different label sets: keeping ${kept}, ignoring ${rejected}. ` +
    'Traffic of the ignored workload is attributed to the kept one; add or change a label on one of them so they differ.'),

  FLOWLENS_ERR_KUBECONFIG_UNREADABLE: def(EXIT.CONFIG, (path: string, reason: string) =>
    `cannot read kubeconfig ${path}: ${reason}. ` +
    'Check the path given with --kubeconfig or FLOWLENS_KUBECONFIG, its permissions, and that it is a kubeconfig (YAML).'),

  FLOWLENS_ERR_KUBECONFIG_INVALID: def(EXIT.CONFIG, (path: string, reason: string) =>
    `unusable Kubernetes configuration ${path}: ${reason}. ` +
    'Fix the kubeconfig (its contexts must name defined clusters with a server), or run in a pod with a service account for the in-cluster configuration.'),

  FLOWLENS_ERR_KUBE_CONTEXT_UNKNOWN: def(EXIT.CONFIG, (context: string, path: string, known: readonly string[]) =>
    `context "${context}" is not defined in kubeconfig ${path} (it has: ${known.length ? list(known) : 'no contexts'}). ` +
    'Pass one of those with --kube-context or FLOWLENS_KUBE_CONTEXT, or fix current-context in the file.'),

  FLOWLENS_ERR_NOT_ROOT: def(EXIT.PRIVILEGES, (missing: readonly string[]) =>
    `insufficient privileges: missing ${list(missing)}. ` +
    'Run flowlens as root, or grant CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON ' +
    '(e.g. securityContext.capabilities.add in Kubernetes, or setcap/AmbientCapabilities).'),

  FLOWLENS_ERR_NO_BTF: def(EXIT.KERNEL, (path: string) =>
    `kernel BTF not found at ${path}. ` +
    'flowlens needs a kernel built with CONFIG_DEBUG_INFO_BTF=y (most distribution kernels since 5.4 have it); ' +
    'use such a kernel, or make sure /sys is mounted in the container.'),

  FLOWLENS_ERR_BPFFS_UNAVAILABLE: def(EXIT.KERNEL, (path: string, reason: string) =>
    `BPF filesystem not usable at ${path}: ${reason}. ` +
    'Mount it (mount -t bpf bpf /sys/fs/bpf), mount it into the container, or run without --pin-path.'),

  FLOWLENS_ERR_BPF_LOAD_FAILED: def(EXIT.BPF_LOAD, (object: string, reason: string) =>
    `loading BPF object ${object} failed: ${reason}. ` +
    'Check the verifier log above; make sure the kernel is 5.8 or newer and the object was built for it (make bpf).'),

  FLOWLENS_ERR_PINNED_MAP_MISMATCH: def(EXIT.BPF_LOAD, (pinned: string) =>
    `the map pinned at ${pinned} does not match this version's layout (key, value, type or size). ` +
    'Remove it (its counts restart from zero) or use another --pin-path; datapath.mapEntries must match the pinned maps.'),

  FLOWLENS_ERR_ATTACH_FAILED: def(EXIT.ATTACH, (iface: string, hook: string, reason: string) =>
    `attaching to ${iface} (${hook}) failed: ${reason}. ` +
    'Another program may own the hook; try datapath.attachMode: clsact or tcx, or exclude the interface from the patterns.'),

  FLOWLENS_ERR_INTERFACE_NOT_FOUND: def(EXIT.ATTACH, (name: string) =>
    `interface "${name}" does not exist. ` +
    'Check the name with "ip link"; use a pattern with * or ? to attach to interfaces as they appear.'),

  FLOWLENS_ERR_LISTEN_FAILED: def(EXIT.RUNTIME, (address: string, reason: string) =>
    `cannot listen on ${address}: ${reason}. ` +
    'Pick a free address with --listen or FLOWLENS_LISTEN, or stop the process using it.'),

  FLOWLENS_ERR_API_TOKEN_UNREADABLE: def(EXIT.CONFIG, (path: string, reason: string) =>
    `cannot read the API token from ${path}: ${reason}. ` +
    'Check the path given with --api-token-file or FLOWLENS_API_TOKEN_FILE; the file must hold one token of visible characters (no spaces).'),

  FLOWLENS_ERR_ALREADY_RUNNING: def(EXIT.ALREADY_RUNNING, (holder: string) =>
    `another flowlens exporter is already running on this node: ${holder}. ` +
    'Two would both attach and count every packet twice: stop that one first (SIGTERM), or keep it and do not start this one.'),

  FLOWLENS_ERR_SHUTDOWN_INCOMPLETE: def(EXIT.RUNTIME, (deadlineMs: number, pending: string, open: string) =>
    `shutdown did not finish within ${deadlineMs} ms (still ${pending}; open: ${open}); exiting anyway. ` +
    'Attachments are released with the process; if this repeats, report the step named here.'),

  FLOWLENS_ERR_OBSERVE_UNREACHABLE: def(EXIT.RUNTIME, (servers: string, reason: string) =>
    `cannot read flows from ${servers}: ${reason}. ` +
    'Check that the exporter runs and listens there (flowlens run --listen), the URL (--server or FLOWLENS_SERVER), and the token (--token-file or FLOWLENS_TOKEN_FILE) if it requires one.'),

  FLOWLENS_ERR_ADDON_MISSING: def(EXIT.INSTALL, (path: string, reason: string) =>
    `native addon not loadable from ${path}: ${reason}. ` +
    'Build it with "make addon" (needs libbpf-dev, g++ and make).'),

  FLOWLENS_ERR_EVENT_READER_FAILED: def(EXIT.INSTALL, (reason: string) =>
    `the thread that reads the programs' events (dist/bpf/ring-reader-thread.js) did not start: ${reason}. ` +
    'Build the exporter with "make build", which compiles it with the rest.'),
} as const;

export type ErrorCode = keyof typeof ERRORS;
export type ErrorArgs<C extends ErrorCode> = Parameters<(typeof ERRORS)[C]['message']>;

export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

export class FlowlensError extends Error {
  readonly code: ErrorCode;
  readonly exitStatus: ExitStatus;

  constructor(code: ErrorCode, message: string, exitStatus: ExitStatus, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FlowlensError';
    this.code = code;
    this.exitStatus = exitStatus;
  }
}

/** Builds the registered error for `code`; the arguments fill its message. */
export function createError<C extends ErrorCode>(code: C, ...args: ErrorArgs<C>): FlowlensError {
  const entry = ERRORS[code] as Definition<ErrorArgs<C>>;
  return new FlowlensError(code, entry.message(...args), entry.exitStatus);
}

/** Like createError, but keeps the underlying error as `cause`. */
export function wrapError<C extends ErrorCode>(cause: unknown, code: C, ...args: ErrorArgs<C>): FlowlensError {
  const entry = ERRORS[code] as Definition<ErrorArgs<C>>;
  return new FlowlensError(code, entry.message(...args), entry.exitStatus, { cause });
}

/** The codes whose message takes (path, reason): a file that could not be read. */
type FileErrorCode = { [C in ErrorCode]: ErrorArgs<C> extends [path: string, reason: string] ? C : never }[ErrorCode];

/**
 * A text file's content, or the registered error `code` for it: reason "no
 * such file" when it is missing, else the system's message. `read` defaults
 * to fs.readFileSync(path, 'utf8').
 */
export function readTextFile(path: string, code: FileErrorCode, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): string {
  try {
    return read(path);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw wrapError(err, code, path, reason);
  }
}

export function isFlowlensError(value: unknown, code?: ErrorCode): value is FlowlensError {
  return value instanceof FlowlensError && (code === undefined || value.code === code);
}

/** Exit status for anything thrown: registered errors carry their own, the rest are runtime failures. */
export function exitStatusOf(value: unknown): number {
  return value instanceof FlowlensError ? value.exitStatus : EXIT.RUNTIME;
}
