// The Kubernetes identity source: pods, namespaces, nodes, services and the
// API server's endpoints, watched cluster-wide, turned into identities and
// prefixes for the identity store (and from there the ipcache), beside the
// static file. Every node derives the same numbers from the same objects.
//
//   pod IPs (status.podIPs)        -> the pod's identity (namespace + labels + namespace labels)
//   host-network pods              -> nothing of their own: the node's address covers them
//   this node's InternalIPs        -> reserved:host
//   other nodes' InternalIPs       -> reserved:remote-node
//   default/kubernetes endpoints   -> reserved:kube-apiserver (over remote-node, never over host)
//   service ClusterIPs             -> the service's identity (default/kubernetes: kube-apiserver)
//   Node.spec.podCIDRs             -> cluster ranges: addresses in them with no pod are 'unmanaged'
//
// With `networkPolicies`, NetworkPolicies are watched as well (not for
// identities: for the explanation of policy drops, see drop-explainer.ts);
// their watch does not hold back the first sync nor count in `up`, so a
// cluster that refuses them (RBAC) still gets its identities.
//
// Nothing is published before every resource has been listed once, so a pod
// never shows briefly without its namespace's labels. After that, changes
// are gathered for `batchMs` and published together. When the API server is
// unreachable the last known identities stay in use.

import type { KubeConfig } from '@kubernetes/client-node';
import type { Cidr } from '../net/cidr.js';
import { formatAddress, tryParseCidr } from '../net/cidr.js';
import type { Identity } from './identity.js';
import { RESERVED } from './identity.js';
import { networkPolicySpec, ownerReader, resourceSpecs } from './kube-client.js';
import {
  endpointSliceAddresses,
  HOST_IDENTITY,
  KUBE_APISERVER_IDENTITY,
  KUBERNETES_SOURCE,
  nodeInternalAddresses,
  podAddresses,
  podIdentity,
  policyPod,
  REMOTE_NODE_IDENTITY,
  serviceIdentity,
  servicePrefixes,
} from './kube-derive.js';
import {
  objectKey,
  type KubeEndpointSlice,
  type KubeNamespace,
  type KubeNode,
  type KubeObject,
  type KubePod,
  type KubeService,
} from './kube-objects.js';
import { StaleAddresses, type AddressClaim } from './kube-stale.js';
import { ResourceWatch, type ChangeType, type ResourceSpec, type ResourceWatchOptions } from './kube-watch.js';
import { WorkloadResolver, type OwnerReader } from './kube-workloads.js';
import type { NetworkPolicy, PolicyPod } from './network-policy.js';
import type { IdentityEntry, IdentityStore } from './store.js';

export { KUBERNETES_SOURCE } from './kube-derive.js';

export type KubernetesSourceOptions = {
  kubeconfig: KubeConfig;
  store: IdentityStore;
  /** This node's name (Node.metadata.name): its addresses are 'host', other nodes' 'remote-node'. */
  nodeName: string;
  /** Label keys left out of identities (config identityLabels.exclude). */
  exclude: readonly string[];
  /** How long a vanished address keeps its identity. */
  staleGraceMs: number;
  /** Clock for grace periods; Date.now by default. */
  now?: () => number;
  /** Quiet time before changes are published together. */
  batchMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  pageSize?: number;
  /** Also watch NetworkPolicies (for drop explanations); off by default. */
  networkPolicies?: boolean;
  /** Overrides for tests: the resources and owner reads (default: from the kubeconfig). */
  resources?: Partial<ReturnType<typeof resourceSpecs>>;
  readOwner?: OwnerReader;
  log?: { info(m: string): void; warn(m: string): void; debug(m: string): void };
};

type Resource = 'pods' | 'namespaces' | 'nodes' | 'services' | 'apiserverEndpoints';

export class KubernetesIdentitySource {
  private readonly pods = new Map<string, KubePod>();
  private readonly namespaces = new Map<string, KubeNamespace>();
  private readonly nodes = new Map<string, KubeNode>();
  private readonly services = new Map<string, KubeService>();
  private readonly apiserverSlices = new Map<string, KubeEndpointSlice>();
  private readonly watches: ResourceWatch[] = [];
  private readonly policies = new Map<string, NetworkPolicy>();
  private readonly policyWatch: ResourceWatch | undefined;
  private policyList: NetworkPolicy[] | undefined;
  /** Policies by namespace, rebuilt on demand after a policy changed. */
  private policyIndex: Map<string, NetworkPolicy[]> | undefined;
  /** Pod key by address, rebuilt on demand after pods change. */
  private podIndex: Map<string, string> | undefined;
  private readonly workloads: WorkloadResolver;
  private readonly stale: StaleAddresses;
  private readonly now: () => number;
  private batchTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private firstSync = false;
  private lastSync: number | undefined;
  private lastSyncWaiters: Array<() => void> = [];
  private published = new Map<string, AddressClaim>();
  private stopped = false;

  constructor(private readonly options: KubernetesSourceOptions) {
    this.now = options.now ?? Date.now;
    this.stale = new StaleAddresses(options.staleGraceMs, this.now);
    this.workloads = new WorkloadResolver({
      read: options.readOwner ?? ownerReader(options.kubeconfig),
      onResolved: () => this.schedule(),
      onError: (owner, err) => options.log?.debug(`kubernetes: looking up ${owner} failed: ${(err as Error).message}`),
      now: this.now,
    });
    const specs = { ...resourceSpecs(options.kubeconfig), ...(options.resources ?? {}) };
    const targets: Record<Resource, Map<string, KubeObject>> = {
      pods: this.pods,
      namespaces: this.namespaces,
      nodes: this.nodes,
      services: this.services,
      apiserverEndpoints: this.apiserverSlices,
    };
    for (const [resource, map] of Object.entries(targets) as Array<[Resource, Map<string, KubeObject>]>) {
      this.watches.push(this.watchOf(specs[resource], map));
    }
    if (options.networkPolicies) this.policyWatch = this.policyWatchOf(networkPolicySpec(options.kubeconfig));
  }

  start(): void {
    this.stopped = false;
    for (const w of this.watches) w.start();
    this.policyWatch?.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.batchTimer) clearTimeout(this.batchTimer);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.batchTimer = this.expiryTimer = undefined;
    await Promise.all([...this.watches, ...(this.policyWatch ? [this.policyWatch] : [])].map((w) => w.stop()));
  }

  /** NetworkPolicies have been listed once (false when they are not watched). */
  get networkPoliciesSynced(): boolean {
    return this.policyWatch?.synced ?? false;
  }

  /** The NetworkPolicy watch stream is open now. */
  get networkPoliciesUp(): boolean {
    return this.policyWatch?.connected ?? false;
  }

  /** Every NetworkPolicy known, as last seen. */
  networkPolicies(): readonly NetworkPolicy[] {
    this.policyList ??= [...this.policies.values()];
    return this.policyList;
  }

  /** The NetworkPolicies of these namespaces (a policy only ever selects pods of its own). */
  networkPoliciesIn(namespaces: readonly string[]): NetworkPolicy[] {
    if (!this.policyIndex) {
      this.policyIndex = new Map();
      for (const p of this.policies.values()) {
        const ns = p.metadata?.namespace ?? '';
        const list = this.policyIndex.get(ns);
        if (list) list.push(p);
        else this.policyIndex.set(ns, [p]);
      }
    }
    return [...new Set(namespaces)].flatMap((ns) => this.policyIndex!.get(ns) ?? []);
  }

  /** The pod (not host-network, not finished) whose address this is, as policies see it. */
  policyPodAt(address: string): PolicyPod | undefined {
    if (!this.podIndex) {
      this.podIndex = new Map();
      for (const [key, pod] of this.pods) for (const cidr of podAddresses(pod)) this.podIndex.set(formatAddress(cidr.addr), key);
    }
    const key = this.podIndex.get(address);
    const pod = key === undefined ? undefined : this.pods.get(key);
    if (!pod) return undefined;
    return policyPod(pod, this.namespaces.get(pod.metadata?.namespace ?? '')?.metadata?.labels);
  }

  /** Every resource has been listed once and the result published. */
  get synced(): boolean {
    return this.firstSync;
  }

  /** Synced, and every watch stream is open now (flowlens_identity_source_up). */
  get up(): boolean {
    return this.firstSync && this.watches.every((w) => w.connected);
  }

  /** Watch requests resumed after a disconnect, a failure or a relist, over all resources. */
  get watchRestarts(): number {
    return this.watches.reduce((n, w) => n + w.watchRestarts, 0);
  }

  get relists(): number {
    return this.watches.reduce((n, w) => n + w.relists, 0);
  }

  /** The resourceVersion each resource's watch would resume from, by resource name. */
  resourceVersions(): Record<string, string> {
    return Object.fromEntries(this.watches.map((w) => [w.name, w.resourceVersion]));
  }

  /** Unix seconds of the last publication after a complete list of every resource. */
  get lastSyncSeconds(): number | undefined {
    return this.lastSync === undefined ? undefined : this.lastSync / 1000;
  }

  /** Resources not listed yet, for /readyz. */
  pendingResources(): string[] {
    return this.watches.filter((w) => !w.synced).map((w) => w.name);
  }

  /** Owner GETs made for workload resolution since start. */
  get ownerLookups(): number {
    return this.workloads.lookupCount;
  }

  /** Vanished addresses still in their grace period. */
  get staleAddresses(): number {
    return this.stale.size;
  }

  /** Resolves once the first complete sync is published. */
  whenSynced(): Promise<void> {
    if (this.firstSync) return Promise.resolve();
    return new Promise((resolve) => this.lastSyncWaiters.push(resolve));
  }

  /** Ends grace periods that are over (the timer calls this; tests with a fake clock too). */
  sweep(): void {
    if (this.stale.expire()) this.publish();
    else this.armExpiry();
  }

  /** Publishes pending changes now instead of after the batch delay. */
  flush(): void {
    if (this.batchTimer) {
      clearTimeout(this.batchTimer);
      this.batchTimer = undefined;
      this.publish();
    }
  }

  /**
   * A watch of one resource with this source's connection settings. Failures
   * are retried by the watch; each is logged with `consequence`, what it means
   * meanwhile.
   */
  private watch(spec: ResourceSpec, consequence: string, handlers: Pick<ResourceWatchOptions, 'onChange' | 'onSynced'>): ResourceWatch {
    return new ResourceWatch({
      kubeconfig: this.options.kubeconfig,
      spec,
      pageSize: this.options.pageSize,
      backoffBaseMs: this.options.backoffBaseMs,
      backoffMaxMs: this.options.backoffMaxMs,
      ...handlers,
      onState: () => undefined,
      onError: (err) => {
        const e = err as { message?: string; statusCode?: number; code?: number | string };
        const status = e.statusCode ?? e.code;
        this.options.log?.warn(`kubernetes: watching ${spec.name} failed${status ? ` (${status})` : ''}: ${e.message ?? String(err)}; ${consequence}`);
      },
    });
  }

  private watchOf(spec: ResourceSpec, map: Map<string, KubeObject>): ResourceWatch {
    return this.watch(spec, 'retrying, the last known identities stay in use', {
      onChange: (type: ChangeType, obj: KubeObject) => {
        if (type === 'delete') map.delete(objectKey(obj));
        else map.set(objectKey(obj), obj);
        if (map === this.pods) this.podIndex = undefined;
        this.schedule();
      },
      onSynced: () => {
        if (this.firstSync) {
          this.options.log?.info(`kubernetes: relisted ${spec.name}`);
          this.lastSync = this.now();
          this.schedule();
        } else if (this.watches.every((w) => w.synced)) {
          this.publish();
          this.firstSync = true;
          this.lastSync = this.now();
          this.options.log?.info(`kubernetes: synced ${this.pods.size} pods, ${this.nodes.size} nodes, ${this.services.size} services`);
          for (const resolve of this.lastSyncWaiters.splice(0)) resolve();
        }
      },
    });
  }

  private policyWatchOf(spec: ResourceSpec): ResourceWatch {
    const consequence = 'retrying; policy drops are explained with the last known policies (or not at all before the first list)';
    return this.watch(spec, consequence, {
      onChange: (type: ChangeType, obj: KubeObject) => {
        if (type === 'delete') this.policies.delete(objectKey(obj));
        else this.policies.set(objectKey(obj), obj as NetworkPolicy);
        this.policyList = undefined;
        this.policyIndex = undefined;
      },
      onSynced: () => this.options.log?.info(`kubernetes: listed ${this.policies.size} NetworkPolicies`),
    });
  }

  private schedule(): void {
    if (!this.firstSync || this.stopped) return;
    if (this.batchTimer) return;
    this.batchTimer = setTimeout(() => {
      this.batchTimer = undefined;
      this.publish();
    }, this.options.batchMs ?? 20);
    this.batchTimer.unref();
  }

  /** Recomputes every claim from the cached objects and hands the result to the store. */
  private publish(): void {
    if (this.stopped) return;
    const live = this.liveClaims();
    this.published = this.stale.update(live);

    const byId = new Map<number, IdentityEntry>();
    for (const { cidr, identity } of this.published.values()) {
      let entry = byId.get(identity.id);
      if (!entry) byId.set(identity.id, (entry = { identity, prefixes: [] }));
      entry.prefixes.push(cidr);
    }
    this.options.store.setDiscoveredClusterCidrs(KUBERNETES_SOURCE, this.podCidrs());
    this.options.store.setSource(KUBERNETES_SOURCE, [...byId.values()]);
    this.workloads.retain(this.pods.values());
    this.armExpiry();
  }

  private liveClaims(): Map<string, AddressClaim> {
    const claims = new Map<string, AddressClaim & { rank: number }>();
    // Higher rank wins an address claimed twice.
    const claim = (cidr: Cidr, identity: Identity, rank: number) => {
      const have = claims.get(cidr.text);
      if (!have || rank > have.rank) claims.set(cidr.text, { cidr, identity, rank });
    };
    for (const node of this.nodes.values()) {
      const local = node.metadata?.name === this.options.nodeName;
      for (const cidr of nodeInternalAddresses(node)) claim(cidr, local ? HOST_IDENTITY : REMOTE_NODE_IDENTITY, local ? 5 : 1);
    }
    for (const slice of this.apiserverSlices.values()) {
      for (const cidr of endpointSliceAddresses(slice)) claim(cidr, KUBE_APISERVER_IDENTITY, 2);
    }
    const podIdentities = new Map<string, Identity>();
    for (const pod of this.pods.values()) {
      const cidrs = podAddresses(pod);
      if (cidrs.length === 0) continue;
      const nsLabels = this.namespaces.get(pod.metadata?.namespace ?? '')?.metadata?.labels;
      let identity = podIdentity(pod, nsLabels, this.options.exclude, this.workloads.resolve(pod));
      // Replicas share one Identity object: the first pod seen names the workload.
      const shared = podIdentities.get(String(identity.id));
      if (shared) identity = shared;
      else podIdentities.set(String(identity.id), identity);
      for (const cidr of cidrs) claim(cidr, identity, 3);
    }
    for (const service of this.services.values()) {
      const isApiserver = service.metadata?.namespace === 'default' && service.metadata?.name === 'kubernetes';
      const identity = isApiserver ? KUBE_APISERVER_IDENTITY : serviceIdentity(service);
      for (const cidr of servicePrefixes(service)) claim(cidr, identity, 4);
    }
    const out = new Map<string, AddressClaim>();
    for (const [text, { cidr, identity }] of claims) out.set(text, { cidr, identity });
    return out;
  }

  private podCidrs(): Cidr[] {
    const out = new Map<string, Cidr>();
    for (const node of this.nodes.values()) {
      const texts = node.spec?.podCIDRs?.length ? node.spec.podCIDRs : node.spec?.podCIDR ? [node.spec.podCIDR] : [];
      for (const text of texts) {
        const r = tryParseCidr(text);
        if (r.ok) out.set(r.cidr.text, r.cidr);
      }
    }
    return [...out.values()].sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  }

  private armExpiry(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    const next = this.stale.nextExpiry();
    if (next === undefined || this.stopped) return;
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = undefined;
      this.sweep();
    }, Math.max(0, next - this.now()) + 5);
    this.expiryTimer.unref();
  }
}

/** The reserved identities this source maps addresses to, for documentation and tests. */
export const KUBERNETES_RESERVED = [RESERVED.host, RESERVED['remote-node'], RESERVED['kube-apiserver']] as const;
