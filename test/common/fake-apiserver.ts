// A stand-in kube-apiserver for tests. No Kubernetes cluster can run on the
// test machine, so tests point @kubernetes/client-node at this server on
// loopback. It speaks the parts of the API the identity source uses, as the
// real server does:
//   - lists: JSON with metadata.resourceVersion, paged by limit/continue;
//   - watches (?watch=true&resourceVersion=N): a chunked stream of one JSON
//     event per line (ADDED, MODIFIED, DELETED, BOOKMARK when asked for with
//     allowWatchBookmarks), starting after N;
//   - a resourceVersion older than the compacted history: an ERROR event
//     with a 410 Status, then the stream ends (or an HTTP 410, if chosen);
//   - GETs of single objects (replicasets, jobs, ...), 404 when absent.
// Tests drive it: add/modify/remove objects, compact the history, drop every
// watch connection, stop the server and start it again on the same port.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { writeFileSync } from 'node:fs';

type Obj = { metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; [k: string]: unknown }; [k: string]: unknown };

type Collection = {
  kind: string;
  apiVersion: string;
  namespaced: boolean;
  objects: Map<string, Obj>;
  log: Array<{ rv: number; type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: Obj }>;
};

type Watcher = { res: ServerResponse; resource: string; selector?: [string, string]; namespace?: string; bookmarks: boolean };

const RESOURCES: Record<string, { kind: string; apiVersion: string; group: string; namespaced: boolean }> = {
  pods: { kind: 'Pod', apiVersion: 'v1', group: '/api/v1', namespaced: true },
  namespaces: { kind: 'Namespace', apiVersion: 'v1', group: '/api/v1', namespaced: false },
  nodes: { kind: 'Node', apiVersion: 'v1', group: '/api/v1', namespaced: false },
  services: { kind: 'Service', apiVersion: 'v1', group: '/api/v1', namespaced: true },
  endpointslices: { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', group: '/apis/discovery.k8s.io/v1', namespaced: true },
  replicasets: { kind: 'ReplicaSet', apiVersion: 'apps/v1', group: '/apis/apps/v1', namespaced: true },
  deployments: { kind: 'Deployment', apiVersion: 'apps/v1', group: '/apis/apps/v1', namespaced: true },
  statefulsets: { kind: 'StatefulSet', apiVersion: 'apps/v1', group: '/apis/apps/v1', namespaced: true },
  daemonsets: { kind: 'DaemonSet', apiVersion: 'apps/v1', group: '/apis/apps/v1', namespaced: true },
  jobs: { kind: 'Job', apiVersion: 'batch/v1', group: '/apis/batch/v1', namespaced: true },
  cronjobs: { kind: 'CronJob', apiVersion: 'batch/v1', group: '/apis/batch/v1', namespaced: true },
  networkpolicies: { kind: 'NetworkPolicy', apiVersion: 'networking.k8s.io/v1', group: '/apis/networking.k8s.io/v1', namespaced: true },
};

export type RequestRecord = { method: string; path: string; query: Record<string, string> };

export class FakeApiServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly watchers = new Set<Watcher>();
  private readonly collections = new Map<string, Collection>();
  private rv = 100;
  /** Watches from a resourceVersion below this get 410 Gone. */
  private compactedBelow = 0;
  /** 'event': 200 then an ERROR event with a 410 Status (what the API server does); 'http': an HTTP 410. */
  goneMode: 'event' | 'http' = 'event';
  readonly requests: RequestRecord[] = [];
  /** Resources answered with 403 Forbidden, as without RBAC for them. */
  readonly forbidden = new Set<string>();
  port = 0;

  constructor() {
    for (const [name, r] of Object.entries(RESOURCES)) {
      this.collections.set(name, { kind: r.kind, apiVersion: r.apiVersion, namespaced: r.namespaced, objects: new Map(), log: [] });
    }
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens on loopback: a random port the first time, the same port after stop(). */
  async start(): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** The server goes away: every connection is cut and nothing listens on the port. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.dropWatches();
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  /** A kubeconfig for this server (plain HTTP needs insecure-skip-tls-verify in the client). */
  writeKubeconfig(path: string, contexts: string[] = ['fake']): void {
    const ctx = contexts.map((c) => `- name: ${c}\n  context: { cluster: fake, user: fake }\n`).join('');
    writeFileSync(
      path,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster: { server: "${this.url}", insecure-skip-tls-verify: true }\n` +
        `users:\n- name: fake\n  user: { token: fake-token }\ncontexts:\n${ctx}current-context: ${contexts[0]}\n`,
    );
  }

  // --- the cluster's state -------------------------------------------------

  /** Creates or replaces an object (ADDED or MODIFIED) and tells the watchers. */
  apply(resource: string, object: Obj): Obj {
    const c = this.collection(resource);
    const key = this.keyOf(c, object);
    const type = c.objects.has(key) ? 'MODIFIED' : 'ADDED';
    const stored = structuredClone(object);
    stored.metadata.resourceVersion = String(++this.rv);
    c.objects.set(key, stored);
    this.emit(resource, c, type, stored);
    return stored;
  }

  remove(resource: string, name: string, namespace?: string): void {
    const c = this.collection(resource);
    const key = namespace ? `${namespace}/${name}` : name;
    const old = c.objects.get(key);
    if (!old) throw new Error(`fake apiserver: no ${resource} ${key}`);
    c.objects.delete(key);
    const gone = structuredClone(old);
    gone.metadata.resourceVersion = String(++this.rv);
    this.emit(resource, c, 'DELETED', gone);
  }

  get(resource: string, name: string, namespace?: string): Obj | undefined {
    const c = this.collection(resource);
    return c.objects.get(namespace ? `${namespace}/${name}` : name);
  }

  /** Forgets the event history: a watch resuming from before now gets 410 Gone. */
  compact(): void {
    this.compactedBelow = this.rv + 1;
    for (const c of this.collections.values()) c.log.length = 0;
  }

  /** Sends a BOOKMARK with the current resourceVersion to every watch that asked for bookmarks. */
  bookmark(): number {
    let sent = 0;
    for (const w of this.watchers) {
      if (!w.bookmarks) continue;
      const c = this.collection(w.resource);
      this.send(w, { type: 'BOOKMARK', object: { kind: c.kind, apiVersion: c.apiVersion, metadata: { resourceVersion: String(this.rv) } } });
      sent++;
    }
    return sent;
  }

  /** Cuts every open watch connection (as a load balancer or an API server restart would). */
  dropWatches(): number {
    const n = this.watchers.size;
    for (const w of this.watchers) w.res.socket?.destroy();
    this.watchers.clear();
    return n;
  }

  openWatches(resource?: string): number {
    return [...this.watchers].filter((w) => resource === undefined || w.resource === resource).length;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** Requests seen, e.g. to count lists, watches and owner GETs. */
  count(filter: { resource: string; watch?: boolean; get?: boolean }): number {
    return this.requests.filter((r) => {
      const resource = this.parsePath(r.path)?.resource;
      if (resource !== filter.resource) return false;
      const isGet = this.parsePath(r.path)?.name !== undefined;
      if (filter.get !== undefined) return filter.get === isGet;
      return (r.query.watch === 'true') === (filter.watch ?? false) && !isGet;
    }).length;
  }

  // --- HTTP ------------------------------------------------------------------

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(url.searchParams.entries());
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, query });
    const target = this.parsePath(url.pathname);
    if (!target || req.method !== 'GET') return this.status(res, 404, 'NotFound', `no route for ${req.method} ${url.pathname}`);
    if (this.forbidden.has(target.resource)) {
      return this.status(res, 403, 'Forbidden', `${target.resource} is forbidden: User "fake" cannot list resource "${target.resource}"`);
    }
    const c = this.collection(target.resource);
    if (target.name !== undefined) {
      const obj = c.objects.get(c.namespaced ? `${target.namespace}/${target.name}` : target.name);
      if (!obj) return this.status(res, 404, 'NotFound', `${target.resource} "${target.name}" not found`);
      return this.json(res, 200, { kind: c.kind, apiVersion: c.apiVersion, ...obj });
    }
    const selector = parseSelector(query.labelSelector);
    if (query.watch === 'true') return this.watch(res, target.resource, c, query, selector, target.namespace);
    return this.list(res, c, query, selector, target.namespace);
  }

  private list(res: ServerResponse, c: Collection, query: Record<string, string>, selector: [string, string] | undefined, namespace?: string): void {
    const all = [...c.objects.entries()]
      .filter(([, o]) => matches(o, selector, namespace))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => ({ kind: c.kind, apiVersion: c.apiVersion, ...o }));
    // A continue token pins the resourceVersion of the first page, as the real server does.
    let offset = 0;
    let rv = String(this.rv);
    if (query.continue) {
      const token = JSON.parse(Buffer.from(query.continue, 'base64').toString('utf8')) as { offset: number; rv: string };
      offset = token.offset;
      rv = token.rv;
    }
    const limit = query.limit ? Number(query.limit) : all.length;
    const items = all.slice(offset, offset + limit);
    const next = offset + limit < all.length ? Buffer.from(JSON.stringify({ offset: offset + limit, rv })).toString('base64') : undefined;
    this.json(res, 200, {
      kind: `${c.kind}List`,
      apiVersion: c.apiVersion,
      metadata: { resourceVersion: rv, ...(next ? { continue: next } : {}) },
      items,
    });
  }

  private watch(
    res: ServerResponse,
    resource: string,
    c: Collection,
    query: Record<string, string>,
    selector: [string, string] | undefined,
    namespace?: string,
  ): void {
    const from = Number(query.resourceVersion || '0');
    if (from !== 0 && from < this.compactedBelow - 1) {
      const message = `too old resource version: ${from} (${this.compactedBelow - 1})`;
      if (this.goneMode === 'http') return this.status(res, 410, 'Expired', message);
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.write(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410, message } }) + '\n');
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const watcher: Watcher = { res, resource, selector, namespace, bookmarks: query.allowWatchBookmarks === 'true' };
    this.watchers.add(watcher);
    res.on('close', () => this.watchers.delete(watcher));
    // resourceVersion 0 or absent: start with the current state as ADDED events.
    if (from === 0) {
      for (const o of c.objects.values()) this.send(watcher, { type: 'ADDED', object: { kind: c.kind, apiVersion: c.apiVersion, ...o } });
    } else {
      for (const e of c.log) if (e.rv > from) this.send(watcher, { type: e.type, object: { kind: c.kind, apiVersion: c.apiVersion, ...e.object } });
    }
    res.flushHeaders();
  }

  private emit(resource: string, c: Collection, type: 'ADDED' | 'MODIFIED' | 'DELETED', object: Obj): void {
    c.log.push({ rv: this.rv, type, object });
    for (const w of this.watchers) {
      if (w.resource === resource) this.send(w, { type, object: { kind: c.kind, apiVersion: c.apiVersion, ...object } });
    }
  }

  private send(w: Watcher, event: { type: string; object: Obj | Record<string, unknown> }): void {
    const o = event.object as Obj;
    if (event.type !== 'BOOKMARK' && !matches(o, w.selector, w.namespace)) return;
    w.res.write(JSON.stringify(event) + '\n');
  }

  private json(res: ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private status(res: ServerResponse, code: number, reason: string, message: string): void {
    this.json(res, code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code });
  }

  private collection(resource: string): Collection {
    const c = this.collections.get(resource);
    if (!c) throw new Error(`fake apiserver: unknown resource ${resource}`);
    return c;
  }

  private keyOf(c: Collection, o: Obj): string {
    if (c.namespaced && !o.metadata.namespace) throw new Error(`fake apiserver: ${c.kind} ${o.metadata.name} needs a namespace`);
    return c.namespaced ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
  }

  /** /api/v1/pods, /api/v1/namespaces/ns/pods, /apis/apps/v1/namespaces/ns/replicasets/name, ... */
  private parsePath(path: string): { resource: string; namespace?: string; name?: string } | undefined {
    const m = /^\/(?:api\/v1|apis\/[a-z0-9.-]+\/v1)(?:\/namespaces\/([^/]+)\/([a-z]+)(?:\/([^/]+))?|\/([a-z]+)(?:\/([^/]+))?)$/.exec(path);
    if (!m) return undefined;
    if (m[2]) {
      if (!this.collections.has(m[2])) return undefined;
      return { resource: m[2], namespace: m[1], name: m[3] };
    }
    if (!m[4] || !this.collections.has(m[4])) return undefined;
    return { resource: m[4], name: m[5] };
  }
}

function parseSelector(text: string | undefined): [string, string] | undefined {
  if (!text) return undefined;
  const [k, v] = text.split('=');
  return [k!, v ?? ''];
}

function matches(o: Obj, selector: [string, string] | undefined, namespace: string | undefined): boolean {
  if (namespace !== undefined && o.metadata?.namespace !== namespace) return false;
  if (!selector) return true;
  return o.metadata?.labels?.[selector[0]] === selector[1];
}

// --- object builders -----------------------------------------------------------

let uidCounter = 0;
const uid = () => `00000000-0000-4000-8000-${String(++uidCounter).padStart(12, '0')}`;

export function namespaceObj(name: string, labels: Record<string, string> = {}): Obj {
  return { metadata: { name, uid: uid(), labels: { 'kubernetes.io/metadata.name': name, ...labels } } };
}

export function nodeObj(name: string, internalIPs: string[], podCIDRs: string[] = []): Obj {
  return {
    metadata: { name, uid: uid() },
    spec: podCIDRs.length ? { podCIDR: podCIDRs[0], podCIDRs } : {},
    status: { addresses: [...internalIPs.map((address) => ({ type: 'InternalIP', address })), { type: 'Hostname', address: name }] },
  };
}

export type PodSpec = {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  ips?: string[];
  node?: string;
  hostNetwork?: boolean;
  owner?: { kind: string; name: string };
  phase?: string;
  /** Container ports, for NetworkPolicy named ports. */
  ports?: Array<{ name?: string; containerPort: number; protocol?: string }>;
};

export function podObj(p: PodSpec): Obj {
  return {
    metadata: {
      name: p.name,
      namespace: p.namespace,
      uid: uid(),
      labels: p.labels ?? {},
      ...(p.owner
        ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: p.owner.kind, name: p.owner.name, uid: `uid-${p.owner.name}`, controller: true }] }
        : {}),
    },
    spec: {
      nodeName: p.node ?? 'node-a',
      hostNetwork: p.hostNetwork ?? false,
      containers: [{ name: 'c', image: 'x', ...(p.ports ? { ports: p.ports } : {}) }],
    },
    status: {
      phase: p.phase ?? 'Running',
      ...(p.ips?.length ? { podIP: p.ips[0], podIPs: p.ips.map((ip) => ({ ip })) } : {}),
    },
  };
}

export function ownedObj(namespace: string, name: string, owner?: { kind: string; name: string }): Obj {
  return {
    metadata: {
      name,
      namespace,
      uid: `uid-${name}`,
      ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: owner.kind, name: owner.name, uid: `uid-${owner.name}`, controller: true }] } : {}),
    },
  };
}

export function serviceObj(namespace: string, name: string, clusterIPs: string[]): Obj {
  return { metadata: { name, namespace, uid: uid() }, spec: { type: 'ClusterIP', clusterIP: clusterIPs[0], clusterIPs, ports: [{ port: 80 }] } };
}

export function apiserverSliceObj(addresses: string[]): Obj {
  return {
    metadata: { name: 'kubernetes', namespace: 'default', uid: uid(), labels: { 'kubernetes.io/service-name': 'kubernetes' } },
    addressType: 'IPv4',
    endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
    ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
  };
}

export function networkPolicyObj(namespace: string, name: string, spec: Record<string, unknown>): Obj {
  return { metadata: { name, namespace, uid: uid() }, spec };
}
