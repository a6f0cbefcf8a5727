// The static identity file: workloads and known external peers by address,
// for hosts without Kubernetes and for peers Kubernetes does not know. It is
// reloaded when it changes; a bad edit never takes identities away, it keeps
// the last good set and is reported (reload failures, source up = 0).

import { statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { createError, FlowlensError, readTextFile, wrapError } from '../errors.js';
import { tryParseCidr, type Cidr } from '../net/cidr.js';
import { deriveIdentityId, identityKey, relevantLabels, type Identity } from './identity.js';
import type { IdentityEntry, IdentityStore } from './store.js';
import { formatPath, valueAt } from '../config/issue-path.js';

export const STATIC_SOURCE = 'static';

// Label values are strings in Kubernetes; YAML reads `version: 2` as a number,
// which is accepted and turned into the string a user meant.
const labelValue = z
  .union([z.string(), z.number(), z.boolean()], { error: 'expected a string label value' })
  .transform((v) => String(v));

const cidr = z.string({ error: 'expected a CIDR such as 10.0.0.0/24' }).transform((v, ctx): Cidr => {
  const r = tryParseCidr(v);
  if (!r.ok) {
    ctx.addIssue({ code: 'custom', message: r.reason });
    return z.NEVER;
  }
  return r.cidr;
});

const nonEmpty = (what: string) => z.string({ error: `expected ${what}` }).min(1, { error: `expected ${what}` });

const entrySchema = z.strictObject(
  {
    namespace: nonEmpty('a namespace').optional(),
    name: nonEmpty('a name').optional(),
    workload: nonEmpty('a workload name').optional(),
    labels: z.record(z.string(), labelValue, { error: 'expected a mapping of labels' }).optional(),
    addresses: z
      .array(cidr, { error: 'expected a list of CIDRs or addresses' })
      .min(1, { error: 'expected at least one address' }),
  },
  { error: 'expected a mapping with addresses and a namespace or name' },
);

const fileSchema = z.strictObject(
  { identities: z.array(entrySchema, { error: 'expected a list of entries' }).default([]) },
  { error: 'expected a mapping with an "identities" list' },
);

type RawEntry = z.output<typeof entrySchema>;



function invalid(path: string, field: string, reason: string): FlowlensError {
  return createError('FLOWLENS_ERR_IDENTITY_FILE_INVALID', path, field, reason);
}

function toEntry(raw: RawEntry, index: number, path: string, exclude: readonly string[]): IdentityEntry {
  const at = `identities[${index}]`;
  if (raw.namespace === undefined && raw.name === undefined) {
    throw invalid(path, at, 'expected a namespace (a workload) or a name (a known external peer)');
  }
  let labels: Record<string, string>;
  let namespace: string;
  if (raw.namespace === undefined) {
    // A known external peer: its own identity, keyed by name, outside any namespace.
    namespace = '';
    labels = { name: raw.name!, ...(raw.labels ?? {}) };
  } else {
    namespace = raw.namespace;
    // Without labels, the workload stands in as app=<workload> so two workloads
    // of one namespace still get different identities.
    const fallback = raw.workload ?? raw.name;
    labels = raw.labels ?? (fallback !== undefined ? { app: fallback } : {});
  }
  const workload = raw.workload ?? labels.app ?? raw.name;
  if (workload === undefined) {
    throw invalid(path, `${at}.workload`, 'expected a workload (or labels.app or name) to show in metrics');
  }
  const identity: Identity = {
    id: deriveIdentityId(namespace, labels, exclude),
    namespace,
    workload,
    labels: relevantLabels(labels, exclude),
    source: STATIC_SOURCE,
  };
  if (raw.name !== undefined) identity.name = raw.name;
  return { identity, prefixes: raw.addresses };
}

/**
 * Parses and validates the file's text. Throws IDENTITY_FILE_INVALID naming
 * the entry and field, or IDENTITY_FILE_UNREADABLE when it is not YAML.
 */
export function parseStaticIdentities(text: string, path: string, exclude: readonly string[] = []): IdentityEntry[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw wrapError(err, 'FLOWLENS_ERR_IDENTITY_FILE_UNREADABLE', path, `not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return []; // an empty file: no identities yet

  const result = fileSchema.safeParse(doc, {
    error: (issue) => (issue.code === 'invalid_type' ? `expected ${String(issue.expected)}` : undefined),
  });
  if (!result.success) {
    const issue = result.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      throw invalid(path, formatPath([...issue.path, issue.keys[0]!]), 'unknown key (expected namespace, name, workload, labels, addresses)');
    }
    const reason = issue.message.startsWith('"')
      ? issue.message
      : `${issue.message}, got ${JSON.stringify(valueAt(doc, issue.path)) ?? 'nothing'}`;
    throw invalid(path, formatPath(issue.path) || '(top level)', reason);
  }

  const entries: IdentityEntry[] = [];
  const prefixOwner = new Map<string, string>();
  const keyOwner = new Map<string, number>();
  result.data.identities.forEach((raw, index) => {
    const entry = toEntry(raw, index, path, exclude);
    const key = identityKey(entry.identity.namespace, entry.identity.labels);
    const twin = keyOwner.get(key);
    if (twin !== undefined) {
      throw invalid(path, `identities[${index}]`,
        `same namespace and labels as identities[${twin}], so the same identity; merge the entries or give them different labels`);
    }
    keyOwner.set(key, index);
    entry.prefixes.forEach((prefix, j) => {
      const field = `identities[${index}].addresses[${j}]`;
      const owner = prefixOwner.get(prefix.text);
      if (owner !== undefined) throw invalid(path, field, `${prefix.text} is already claimed by ${owner}`);
      prefixOwner.set(prefix.text, field);
    });
    entries.push(entry);
  });
  return entries;
}

/** Reads and parses the file. */
export function loadStaticIdentities(path: string, exclude: readonly string[] = []): IdentityEntry[] {
  return parseStaticIdentities(readTextFile(path, 'FLOWLENS_ERR_IDENTITY_FILE_UNREADABLE'), path, exclude);
}

export type StaticIdentitySourceOptions = {
  path: string;
  store: IdentityStore;
  /** Label keys left out of identities (config identityLabels.exclude). */
  exclude?: readonly string[];
  /** Source name in the store and in metrics. */
  name?: string;
  /** Called with each failed reload's error (the last good identities stay). */
  onError?: (error: FlowlensError) => void;
  /** Called after each successful (re)load with the number of identities. */
  onReload?: (count: number) => void;
  /** Quiet time before a reload, so an editor's several writes load once. */
  debounceMs?: number;
  /** Period of the stat() fallback, for filesystems where fs.watch misses events. */
  pollMs?: number;
  /** Use fs.watch (default true); off leaves only the stat() fallback, e.g. on network filesystems. */
  watch?: boolean;
};

type FileStamp = string;

export class StaticIdentitySource {
  private readonly path: string;
  private readonly name: string;
  private readonly debounceMs: number;
  private readonly pollMs: number;
  private watcher: FSWatcher | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private lastStamp: FileStamp | undefined;
  private lastText: string | undefined;
  private lastBadText: string | undefined;
  private failures = 0;
  private ok = false;
  private lastErr: FlowlensError | undefined;

  constructor(private readonly options: StaticIdentitySourceOptions) {
    this.path = options.path;
    this.name = options.name ?? STATIC_SOURCE;
    this.debounceMs = options.debounceMs ?? 100;
    this.pollMs = options.pollMs ?? 2000;
  }

  /** Loads the file (throwing if it is bad: a start-up error) and starts watching it. */
  start(): void {
    this.load(true);
    if (this.options.watch !== false) this.watchDirectory();
    this.pollTimer = setInterval(() => this.poll(), this.pollMs);
    this.pollTimer.unref();
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.pollTimer = undefined;
    this.debounceTimer = undefined;
  }

  /** Reloads now; returns whether the file was good. Never throws. */
  reload(): boolean {
    return this.load(false);
  }

  /** Whether the last load succeeded (flowlens_identity_source_up). */
  get up(): boolean {
    return this.ok;
  }

  /** Failed reloads since start. */
  get reloadFailures(): number {
    return this.failures;
  }

  get lastError(): FlowlensError | undefined {
    return this.lastErr;
  }

  private load(initial: boolean): boolean {
    let text: string;
    let entries: IdentityEntry[];
    try {
      this.lastStamp = this.stamp();
      text = readTextFile(this.path, 'FLOWLENS_ERR_IDENTITY_FILE_UNREADABLE');
      // Unchanged content (a touch, a watch event for a sibling file) is not a reload.
      if (!initial && this.ok && text === this.lastText) return true;
      // The same bad content seen again (a sibling's watch event) is one failure, not two.
      if (!initial && !this.ok && text === this.lastBadText) return false;
      this.lastBadText = undefined;
      entries = parseStaticIdentities(text, this.path, this.options.exclude ?? []);
    } catch (err) {
      this.lastBadText = text!;
      const error = err instanceof FlowlensError ? err : wrapError(err, 'FLOWLENS_ERR_IDENTITY_FILE_UNREADABLE', this.path, String(err));
      this.ok = false;
      this.lastErr = error;
      if (initial) throw error;
      this.failures++;
      this.options.onError?.(error);
      return false;
    }
    this.lastText = text;
    this.ok = true;
    this.lastErr = undefined;
    this.options.store.setSource(this.name, entries);
    this.options.onReload?.(entries.length);
    return true;
  }

  private stamp(): FileStamp | undefined {
    try {
      // stat follows symlinks, so a Kubernetes ConfigMap's "..data" swap changes the stamp.
      const st = statSync(this.path);
      return `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      return undefined;
    }
  }

  // The directory, not the file: editors and ConfigMap updates replace the
  // file by rename, after which a watch on the old inode sees nothing.
  private watchDirectory(): void {
    const file = basename(this.path);
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, changed) => {
        if (changed === null || changed === file || String(changed).startsWith('..')) this.schedule();
      });
      this.watcher.on('error', () => {
        // The periodic stat keeps reloads working without the watcher.
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      this.watcher = undefined;
    }
  }

  private poll(): void {
    const current = this.stamp();
    if (current !== this.lastStamp) this.schedule();
  }

  private schedule(): void {
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      this.load(false);
    }, this.debounceMs);
    this.debounceTimer.unref();
  }
}
