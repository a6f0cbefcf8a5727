// Workload resolution: the workload a pod belongs to, found by following its
// controller's ownerReferences (Pod -> ReplicaSet -> Deployment, Pod -> Job
// -> CronJob; StatefulSet, DaemonSet and other owners directly). Only the
// owners pods actually point at are fetched, once each, and cached: listing
// every ReplicaSet of a cluster would cost more than all the pods.
//
// Until a lookup answers (or when it fails, e.g. without RBAC for it), a
// provisional answer stands: a ReplicaSet named "<deployment>-<pod-template-hash>"
// is taken for its Deployment, a Job for itself.

import type { KubeObject, KubePod, OwnerReference } from './kube-objects.js';
import type { Workload } from './kube-derive.js';

/** Reads one owner object (GET); undefined when it does not exist. */
export type OwnerReader = (kind: string, namespace: string, name: string) => Promise<KubeObject | undefined>;

/** Kinds whose own controller decides the workload, and so are looked up. */
const LOOKED_UP: ReadonlySet<string> = new Set(['ReplicaSet', 'Job']);

type CacheEntry = {
  /** Where the lookup stands; 'failed' entries are retried after retryAt. */
  state: 'pending' | 'done' | 'failed';
  workload?: Workload;
  retryAt?: number;
};

export type WorkloadResolverOptions = {
  read: OwnerReader;
  /** Called when a lookup finished and changed what resolve() returns for some pod. */
  onResolved: () => void;
  /** Called with each failed lookup (e.g. for a debug log). */
  onError?: (owner: string, error: unknown) => void;
  now?: () => number;
  retryMs?: number;
};

/** The owner that controls an object: the one marked controller, else the first. */
export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  const refs = obj.metadata?.ownerReferences ?? [];
  return refs.find((r) => r.controller) ?? refs[0];
}

/** What a pod's owner stands for before (or without) a lookup. */
export function provisionalWorkload(pod: KubePod, owner: OwnerReference | undefined): Workload {
  if (!owner) return { name: pod.metadata?.name ?? '', kind: 'Pod' };
  if (owner.kind === 'ReplicaSet') {
    const hash = pod.metadata?.labels?.['pod-template-hash'];
    if (hash && owner.name.endsWith(`-${hash}`)) return { name: owner.name.slice(0, -hash.length - 1), kind: 'Deployment' };
  }
  return { name: owner.name, kind: owner.kind };
}

export class WorkloadResolver {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly now: () => number;
  private readonly retryMs: number;
  private lookups = 0;

  constructor(private readonly options: WorkloadResolverOptions) {
    this.now = options.now ?? Date.now;
    this.retryMs = options.retryMs ?? 60_000;
  }

  /** The pod's workload as known now; starts a lookup of its owner when one is needed. */
  resolve(pod: KubePod): Workload {
    const owner = controllerOf(pod);
    const provisional = provisionalWorkload(pod, owner);
    if (!owner || !LOOKED_UP.has(owner.kind)) return provisional;
    const namespace = pod.metadata?.namespace ?? '';
    const key = cacheKey(owner, namespace);
    const entry = this.cache.get(key);
    if (entry?.state === 'done') return entry.workload!;
    if (entry === undefined || (entry.state === 'failed' && this.now() >= entry.retryAt!)) {
      this.lookup(key, owner, namespace);
    }
    return provisional;
  }

  /** Forgets owners no current pod points at, so the cache follows the cluster, not its history. */
  retain(pods: Iterable<KubePod>): void {
    const used = new Set<string>();
    for (const pod of pods) {
      const owner = controllerOf(pod);
      if (owner && LOOKED_UP.has(owner.kind)) used.add(cacheKey(owner, pod.metadata?.namespace ?? ''));
    }
    for (const key of this.cache.keys()) if (!used.has(key)) this.cache.delete(key);
  }

  /** Owner GETs made since start. */
  get lookupCount(): number {
    return this.lookups;
  }

  get size(): number {
    return this.cache.size;
  }

  private lookup(key: string, owner: OwnerReference, namespace: string): void {
    const entry: CacheEntry = { state: 'pending' };
    this.cache.set(key, entry);
    this.lookups++;
    this.options
      .read(owner.kind, namespace, owner.name)
      .then((obj) => {
        if (this.cache.get(key) !== entry) return; // forgotten meanwhile
        entry.state = 'done';
        entry.workload = obj === undefined ? { name: owner.name, kind: owner.kind } : workloadOfOwner(owner, obj);
        this.options.onResolved();
      })
      .catch((error: unknown) => {
        if (this.cache.get(key) !== entry) return;
        entry.state = 'failed';
        entry.retryAt = this.now() + this.retryMs;
        this.options.onError?.(`${owner.kind} ${namespace}/${owner.name}`, error);
      });
  }
}

/** ReplicaSet -> its Deployment (or any other controller, e.g. an Argo Rollout); Job -> its CronJob. */
function workloadOfOwner(owner: OwnerReference, obj: KubeObject): Workload {
  const parent = controllerOf(obj);
  if (parent) return { name: parent.name, kind: parent.kind };
  return { name: owner.name, kind: owner.kind };
}

function cacheKey(owner: OwnerReference, namespace: string): string {
  return `${owner.kind}/${namespace}/${owner.name}/${owner.uid ?? ''}`;
}
