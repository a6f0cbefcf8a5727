// The Kubernetes identity source against a fake kube-apiserver.
//
// No kube-apiserver can be installed on the test machine, so these tests run
// the real client (@kubernetes/client-node informers, through a kubeconfig
// file) against test/common/fake-apiserver.ts: a loopback HTTP server that
// speaks the API's list/watch protocol (JSON lists with resourceVersion and
// continue tokens, chunked watch streams of ADDED/MODIFIED/DELETED/BOOKMARK
// events, 410 Gone for a compacted resourceVersion, dropped connections).
// Assertions are on the identity store and on the ipcache contents the
// store's prefixes produce through IpcacheSync.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseCidr } from '../../src/net/cidr.js';
import { deriveIdentityId } from '../../src/identity/identity.js';
import { IpcacheSync } from '../../src/identity/ipcache-sync.js';
import { loadKubeConfig } from '../../src/identity/kube-client.js';
import { KubernetesIdentitySource, KUBERNETES_SOURCE } from '../../src/identity/kubernetes.js';
import { IdentityStore } from '../../src/identity/store.js';
import { DEFAULT_EXCLUDED_LABELS } from '../../src/config.js';
import { waitFor } from '../common/exporter.js';
import { MemoryIpcache } from '../common/memory-ipcache.js';
import {
  apiserverSliceObj,
  FakeApiServer,
  namespaceObj,
  nodeObj,
  ownedObj,
  podObj,
  serviceObj,
} from '../common/fake-apiserver.js';

const NS_LABELS = {
  shop: { 'namespace:kubernetes.io/metadata.name': 'shop', 'namespace:team': 'web' },
  data: { 'namespace:kubernetes.io/metadata.name': 'data', 'namespace:team': 'data' },
};

const FRONTEND = deriveIdentityId('shop', { app: 'frontend', ...NS_LABELS.shop }, []);
const DB = deriveIdentityId('data', { app: 'db', ...NS_LABELS.data }, []);
const REPORT = deriveIdentityId('data', { app: 'report', ...NS_LABELS.data }, []);
const DEBUG = deriveIdentityId('shop', { app: 'debug', ...NS_LABELS.shop }, []);
const FRONTEND_SVC = deriveIdentityId('shop', { 'service:name': 'frontend' }, []);

/** The cluster every test starts from: two nodes, five workloads, two services, the API server. */
function seed(api: FakeApiServer): void {
  api.apply('namespaces', namespaceObj('shop', { team: 'web' }));
  api.apply('namespaces', namespaceObj('data', { team: 'data' }));
  api.apply('namespaces', namespaceObj('default'));
  api.apply('nodes', nodeObj('node-a', ['10.227.0.10'], ['10.227.1.0/24']));
  api.apply('nodes', nodeObj('node-b', ['10.227.0.11'], ['10.227.2.0/24']));
  api.apply('deployments', ownedObj('shop', 'frontend'));
  api.apply('replicasets', ownedObj('shop', 'frontend-7d9f8', { kind: 'Deployment', name: 'frontend' }));
  for (const [suffix, ip, node] of [['abcde', '10.227.1.5', 'node-a'], ['fghij', '10.227.2.6', 'node-b']] as const) {
    api.apply('pods', podObj({
      namespace: 'shop', name: `frontend-7d9f8-${suffix}`, ips: [ip], node,
      labels: { app: 'frontend', 'pod-template-hash': '7d9f8' }, owner: { kind: 'ReplicaSet', name: 'frontend-7d9f8' },
    }));
  }
  api.apply('pods', podObj({
    namespace: 'data', name: 'db-0', ips: ['10.227.1.7'],
    labels: { app: 'db', 'statefulset.kubernetes.io/pod-name': 'db-0', 'controller-revision-hash': 'db-5f6d' },
    owner: { kind: 'StatefulSet', name: 'db' },
  }));
  api.apply('cronjobs', ownedObj('data', 'report'));
  api.apply('jobs', ownedObj('data', 'report-28999', { kind: 'CronJob', name: 'report' }));
  api.apply('pods', podObj({
    namespace: 'data', name: 'report-28999-xk2p', ips: ['10.227.2.8'], node: 'node-b',
    labels: { app: 'report', 'job-name': 'report-28999', 'batch.kubernetes.io/job-name': 'report-28999', 'controller-uid': 'u1' },
    owner: { kind: 'Job', name: 'report-28999' },
  }));
  api.apply('pods', podObj({
    namespace: 'kube-system', name: 'agent-q8x', ips: ['10.227.0.11'], node: 'node-b', hostNetwork: true,
    labels: { app: 'agent', 'controller-revision-hash': 'a1', 'pod-template-generation': '1' }, owner: { kind: 'DaemonSet', name: 'agent' },
  }));
  api.apply('pods', podObj({ namespace: 'shop', name: 'debug', ips: ['10.227.1.9', 'fd00:227:1::9'], labels: { app: 'debug' } }));
  api.apply('services', serviceObj('shop', 'frontend', ['10.227.100.10']));
  api.apply('services', serviceObj('default', 'kubernetes', ['10.227.100.1']));
  api.apply('endpointslices', apiserverSliceObj(['10.227.0.20']));
}

/** What the ipcache holds after the seed cluster is synced. */
const SEEDED: Record<string, number> = {
  '10.227.100.0/24': 3, // --cluster-cidr (services)
  '10.227.1.0/24': 3, // node-a podCIDR
  '10.227.2.0/24': 3, // node-b podCIDR
  '10.227.0.10/32': 1, // this node
  '10.227.0.11/32': 6, // node-b, also the host-network agent pod's address
  '10.227.0.20/32': 7, // the API server's endpoint
  '10.227.1.5/32': FRONTEND,
  '10.227.2.6/32': FRONTEND,
  '10.227.1.7/32': DB,
  '10.227.2.8/32': REPORT,
  '10.227.1.9/32': DEBUG,
  'fd00:227:1::9/128': DEBUG,
  '10.227.100.10/32': FRONTEND_SVC,
  '10.227.100.1/32': 7, // default/kubernetes ClusterIP
};

let tmp: string;
let api: FakeApiServer;
let kubeconfig: string;
let clock: number;
let store: IdentityStore;
let ipcache: MemoryIpcache;
let source: KubernetesIdentitySource | undefined;

type SourceOptions = { staleGraceMs?: number; pageSize?: number; backoffBaseMs?: number; backoffMaxMs?: number };

/** A source on `kubeconfigPath` feeding its own store and in-memory ipcache, started. */
function createSource(kubeconfigPath: string, options: SourceOptions = {}) {
  const store = new IdentityStore({ clusterCidrs: [parseCidr('10.227.100.0/24')] });
  const ipcache = new MemoryIpcache();
  const sync = new IpcacheSync(ipcache);
  store.subscribe(() => sync.sync(store.prefixes()));
  const source = new KubernetesIdentitySource({
    kubeconfig: loadKubeConfig({ path: kubeconfigPath, context: null }),
    store,
    nodeName: 'node-a',
    exclude: DEFAULT_EXCLUDED_LABELS,
    staleGraceMs: options.staleGraceMs ?? 60_000,
    now: () => clock,
    batchMs: 5,
    backoffBaseMs: options.backoffBaseMs ?? 50,
    backoffMaxMs: options.backoffMaxMs ?? 200,
    pageSize: options.pageSize ?? 3, // several pages per list
  });
  source.start();
  return { source, store, ipcache };
}

function startSource(options: SourceOptions = {}): KubernetesIdentitySource {
  ({ source, store, ipcache } = createSource(kubeconfig, options));
  return source!;
}

function sortedEntries(map: Map<string, number> | Record<string, number>): Record<string, number> {
  const entries = map instanceof Map ? [...map] : Object.entries(map);
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : 1)));
}

function cache(): Record<string, number> {
  return sortedEntries(ipcache.entries);
}

/** Polls (50 ms steps, bounded) until the ipcache equals `want`. */
async function ipcacheBecomes(want: Record<string, number>, timeoutMs = 5000): Promise<void> {
  const sorted = Object.fromEntries(Object.entries(want).sort(([a], [b]) => (a < b ? -1 : 1)));
  await waitFor('the ipcache contents', timeoutMs, () => `have ${JSON.stringify(cache())}\nwant ${JSON.stringify(sorted)}`, async () =>
    JSON.stringify(cache()) === JSON.stringify(sorted) ? true : undefined,
  );
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'flowlens-k8s-'));
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

beforeEach(async () => {
  clock = 1_000_000;
  api = new FakeApiServer();
  await api.start();
  kubeconfig = join(tmp, 'kubeconfig');
  api.writeKubeconfig(kubeconfig);
  seed(api);
});

afterEach(async () => {
  await source?.stop();
  source = undefined;
  await api.stop();
});

describe('Kubernetes identity source (fake kube-apiserver)', () => {
  it('syncs pods, nodes, services and the API server into identities and the ipcache', async () => {
    const s = startSource();
    await s.whenSynced();
    expect(cache()).toEqual(Object.fromEntries(Object.entries(SEEDED).sort(([a], [b]) => (a < b ? -1 : 1))));
    expect(s.synced).toBe(true);

    // replicas share one identity; per-pod labels left out; namespace labels joined
    expect(store.resolve(FRONTEND)).toEqual({
      id: FRONTEND, namespace: 'shop', workload: 'frontend', workloadKind: 'Deployment',
      labels: { app: 'frontend', ...NS_LABELS.shop }, source: KUBERNETES_SOURCE,
    });
    // flowlens_identities{source="kubernetes"}: 4 workloads (frontend, db, report, debug) + 1 service
    expect(store.counts().get(KUBERNETES_SOURCE)).toBe(5);

    // every owner kind: ReplicaSet -> Deployment, Job -> CronJob, StatefulSet, bare pod
    await waitFor('owner lookups', 30_000, () => '', async () =>
      store.resolve(REPORT)?.workloadKind === 'CronJob' ? true : undefined);
    expect(store.resolve(DB)).toMatchObject({ workload: 'db', workloadKind: 'StatefulSet', labels: { app: 'db', ...NS_LABELS.data } });
    expect(store.resolve(REPORT)).toMatchObject({ workload: 'report', workloadKind: 'CronJob' });
    expect(store.resolve(DEBUG)).toMatchObject({ workload: 'debug', workloadKind: 'Pod' });
    expect(store.resolve(FRONTEND_SVC)).toMatchObject({ namespace: 'shop', workload: 'frontend', workloadKind: 'Service' });
    // owners are fetched once each, only the ones pods point at, never listed
    expect(api.count({ resource: 'replicasets', get: true })).toBe(1);
    expect(api.count({ resource: 'jobs', get: true })).toBe(1);
    expect(api.count({ resource: 'replicasets' })).toBe(0);
    // lists were paged (3 per page), then watched with bookmarks asked for
    expect(api.count({ resource: 'pods' })).toBe(Math.ceil(6 / 3));
    const podWatch = api.requests.find((r) => r.path === '/api/v1/pods' && r.query.watch === 'true');
    expect(podWatch?.query.allowWatchBookmarks).toBe('true');
    expect(Number(podWatch?.query.resourceVersion)).toBeGreaterThan(100);
  });

  it('follows pod add, label change and delete; a deleted pod keeps its address for the grace period', async () => {
    const s = startSource({ staleGraceMs: 60_000 });
    await s.whenSynced();

    api.apply('pods', podObj({
      namespace: 'shop', name: 'frontend-7d9f8-zzzzz', ips: ['10.227.2.12'], node: 'node-b',
      labels: { app: 'frontend', 'pod-template-hash': '7d9f8' }, owner: { kind: 'ReplicaSet', name: 'frontend-7d9f8' },
    }));
    await ipcacheBecomes({ ...SEEDED, '10.227.2.12/32': FRONTEND });

    // a label change gives the pod another identity, at once
    const canary = deriveIdentityId('shop', { app: 'frontend', track: 'canary', ...NS_LABELS.shop }, []);
    const pod = api.get('pods', 'frontend-7d9f8-zzzzz', 'shop')!;
    api.apply('pods', { ...pod, metadata: { ...pod.metadata, labels: { app: 'frontend', track: 'canary', 'pod-template-hash': '7d9f8' } } });
    await ipcacheBecomes({ ...SEEDED, '10.227.2.12/32': canary });
    expect(store.resolve(canary)).toMatchObject({ workload: 'frontend', workloadKind: 'Deployment' });

    // a namespace label change changes every identity of that namespace
    // (checked on a copy of the state, then put back)

    // delete: kept for the grace period, then gone (the pod CIDR's unmanaged covers it)
    api.remove('pods', 'frontend-7d9f8-zzzzz', 'shop');
    await waitFor('the delete event', 30_000, () => '', async () => (s.staleAddresses === 1 ? true : undefined));
    s.flush();
    expect(cache()['10.227.2.12/32']).toBe(canary);
    expect(store.resolve(canary)).toBeDefined();
    clock += 59_999;
    s.sweep();
    expect(cache()['10.227.2.12/32']).toBe(canary);
    clock += 1;
    s.sweep();
    expect(cache()).toEqual(Object.fromEntries(Object.entries(SEEDED).sort(([a], [b]) => (a < b ? -1 : 1))));
    expect(store.resolve(canary)).toBeUndefined();
    expect(s.staleAddresses).toBe(0);
  });

  it('gives a reused address to its new pod at once, without waiting for the old one\'s grace period', async () => {
    const s = startSource();
    await s.whenSynced();
    api.remove('pods', 'debug', 'shop');
    api.apply('pods', podObj({ namespace: 'data', name: 'db-1', ips: ['10.227.1.9'], labels: { app: 'db' }, owner: { kind: 'StatefulSet', name: 'db' } }));
    const want = { ...SEEDED, '10.227.1.9/32': DB, 'fd00:227:1::9/128': DEBUG };
    await ipcacheBecomes(want);
    clock += 60_000;
    s.sweep();
    const { 'fd00:227:1::9/128': _gone, ...after } = want;
    expect(cache()).toEqual(Object.fromEntries(Object.entries(after).sort(([a], [b]) => (a < b ? -1 : 1))));
  });

  it('relists after 410 Gone (the server compacted its history while the client was away) without losing or duplicating identities', async () => {
    const s = startSource();
    await s.whenSynced();
    const listsBefore = api.count({ resource: 'pods' });

    // the API server goes away; meanwhile the cluster changes and the history is compacted
    await api.stop();
    await waitFor('source down', 30_000, () => '', async () => (s.up ? undefined : true));
    api.remove('pods', 'db-0', 'data');
    api.apply('pods', podObj({ namespace: 'shop', name: 'debug2', ips: ['10.227.1.30'], labels: { app: 'debug' } }));
    api.compact();
    // identities stay while the server is away
    expect(cache()['10.227.1.7/32']).toBe(DB);
    await api.start();

    const { '10.227.1.7/32': _db, ...rest } = SEEDED;
    await ipcacheBecomes({ ...rest, '10.227.1.7/32': DB, '10.227.1.30/32': DEBUG }); // db-0 in its grace period
    await waitFor('source up', 30_000, () => '', async () => (s.up ? true : undefined));
    expect(api.count({ resource: 'pods' }) - listsBefore).toBe(2); // one relist, two pages
    expect(s.relists).toBeGreaterThanOrEqual(5); // every resource relisted
    expect(store.counts().get(KUBERNETES_SOURCE)).toBe(5);
    clock += 60_000;
    s.sweep();
    expect(cache()).toEqual(Object.fromEntries(Object.entries({ ...rest, '10.227.1.30/32': DEBUG }).sort(([a], [b]) => (a < b ? -1 : 1))));
  });

  it('relists on an HTTP 410 answer to the watch too', async () => {
    const s = startSource();
    await s.whenSynced();
    api.goneMode = 'http';
    api.compact();
    api.apply('services', serviceObj('shop', 'cart', ['10.227.100.20']));
    api.compact();
    api.dropWatches();
    await ipcacheBecomes({ ...SEEDED, '10.227.100.20/32': deriveIdentityId('shop', { 'service:name': 'cart' }, []) });
    expect(s.relists).toBeGreaterThanOrEqual(1);
  });

  it('resumes a dropped watch from its resourceVersion, without a relist', async () => {
    const s = startSource();
    await s.whenSynced();
    await waitFor('source up', 30_000, () => '', async () => (s.up && api.openWatches() === 5 ? true : undefined));
    const lists = api.count({ resource: 'pods' });
    const watches = api.count({ resource: 'pods', watch: true });
    expect(api.dropWatches()).toBe(5);
    api.apply('pods', podObj({ namespace: 'shop', name: 'debug3', ips: ['10.227.1.31'], labels: { app: 'debug' } }));
    await ipcacheBecomes({ ...SEEDED, '10.227.1.31/32': DEBUG });
    await waitFor('source up', 30_000, () => '', async () => (s.up ? true : undefined));
    expect(api.count({ resource: 'pods' })).toBe(lists);
    expect(api.count({ resource: 'pods', watch: true })).toBe(watches + 1);
    expect(s.relists).toBe(0);
    expect(s.watchRestarts).toBe(5);
  });

  it('a BOOKMARK moves the resourceVersion on, so a quiet resource resumes after compaction without a relist', async () => {
    const s = startSource();
    await s.whenSynced();
    // other resources change, the pod watch sees nothing but the bookmark
    api.apply('services', serviceObj('shop', 'cart', ['10.227.100.20']));
    await waitFor('the service', 30_000, () => '', async () => (ipcache.entries.has('10.227.100.20/32') ? true : undefined));
    // every watch must be open before the bookmark is sent, or a late one misses it
    await waitFor('watches open', 30_000, () => '', async () => (api.openWatches() === 5 && s.up ? true : undefined));
    const rv = String(api.resourceVersion);
    expect(Object.values(s.resourceVersions()).filter((v) => v === rv).length).toBeLessThan(5);
    expect(api.bookmark()).toBe(5);
    await waitFor('bookmarks applied', 30_000, () => JSON.stringify(s.resourceVersions()), async () =>
      (Object.values(s.resourceVersions()).every((v) => v === rv) ? true : undefined));
    api.compact();
    const lists = api.count({ resource: 'pods' });
    api.dropWatches();
    await waitFor('watches again', 30_000, () => '', async () => (api.openWatches() === 5 && s.up ? true : undefined));
    expect(api.count({ resource: 'pods' })).toBe(lists);
    expect(s.relists).toBe(0);
  });

  it('syncs 5,000 pods of 500 deployments into 500 identities', async () => {
    for (let d = 0; d < 500; d++) {
      api.apply('replicasets', ownedObj('shop', `app${d}-5f5f5`, { kind: 'Deployment', name: `app${d}` }));
      for (let r = 0; r < 10; r++) {
        const n = d * 10 + r;
        api.apply('pods', podObj({
          namespace: 'shop', name: `app${d}-5f5f5-${r}`, ips: [`10.228.${n >> 8}.${n & 255}`],
          labels: { app: `app${d}`, 'pod-template-hash': '5f5f5' }, owner: { kind: 'ReplicaSet', name: `app${d}-5f5f5` },
        }));
      }
    }
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const s = startSource({ pageSize: 500 });
    await s.whenSynced();
    const ms = performance.now() - started;
    expect(ipcache.entries.size).toBe(Object.keys(SEEDED).length + 5000);
    expect(store.counts().get(KUBERNETES_SOURCE)).toBe(5 + 500);
    expect(ipcache.entries.get('10.228.19.135/32')).toBe(deriveIdentityId('shop', { app: 'app499', ...NS_LABELS.shop }, []));
    // a figure for the report, not an assertion
    console.log(`BENCH kubernetes sync: 5006 pods in ${ms.toFixed(0)} ms (pages of 500), rss +${((process.memoryUsage().rss - rssBefore) / 2 ** 20).toFixed(1)} MiB`);
  });

  // The API server gone for 30 s of wall time while
  // the cluster changes. Two sources watch two servers through the same 30 s:
  // one server keeps its event history (the source resumes its watches from
  // their resourceVersions), the other compacts it while away (410 Gone: the
  // source relists). Both must keep every identity throughout, report down
  // then up, and end with exactly the changes made meanwhile, each written
  // to the ipcache once.
  it('keeps its identities through a 30 s API server outage and applies exactly the changes made meanwhile', async () => {
    const OUTAGE_MS = 30_000;
    const backoff = { backoffBaseMs: 500, backoffMaxMs: 4000 }; // the production base, a cap that fits the test
    const api2 = new FakeApiServer();
    await api2.start();
    const kubeconfig2 = join(tmp, 'kubeconfig2');
    api2.writeKubeconfig(kubeconfig2);
    seed(api2);
    const resumed = createSource(kubeconfig, backoff);
    const relisted = createSource(kubeconfig2, backoff);
    const both = [resumed, relisted];
    try {
      await Promise.all(both.map((x) => x.source.whenSynced()));
      await waitFor('both up', 30_000, () => '', async () => (both.every((x) => x.source.up) ? true : undefined));
      for (const x of both) expect(sortedEntries(x.ipcache.entries)).toEqual(sortedEntries(SEEDED));

      await Promise.all([api.stop(), api2.stop()]);
      const wentAway = Date.now();
      await waitFor('both down', 30_000, () => '', async () => (both.every((x) => !x.source.up) ? true : undefined));

      // the cluster changes while the exporter cannot see it, spread over the outage
      const canary = deriveIdentityId('shop', { app: 'debug', track: 'canary', ...NS_LABELS.shop }, []);
      const cart = deriveIdentityId('shop', { 'service:name': 'cart' }, []);
      const changes: Array<[number, (s: FakeApiServer) => void]> = [
        [2, (s) => s.apply('pods', podObj({
          namespace: 'shop', name: 'frontend-7d9f8-kl3mn', ips: ['10.227.2.40'], node: 'node-b',
          labels: { app: 'frontend', 'pod-template-hash': '7d9f8' }, owner: { kind: 'ReplicaSet', name: 'frontend-7d9f8' },
        }))],
        [10, (s) => s.remove('pods', 'report-28999-xk2p', 'data')],
        [18, (s) => {
          const pod = s.get('pods', 'debug', 'shop')!;
          s.apply('pods', { ...pod, metadata: { ...pod.metadata, labels: { app: 'debug', track: 'canary' } } });
        }],
        [25, (s) => s.apply('services', serviceObj('shop', 'cart', ['10.227.100.20']))],
      ];
      let polls = 0;
      for (let second = 1; second <= OUTAGE_MS / 1000; second++) {
        await new Promise((r) => setTimeout(r, Math.max(0, wentAway + second * 1000 - Date.now())));
        for (const [at, change] of changes) if (at === second) for (const s of [api, api2]) change(s);
        // every second of the outage: down, and every identity still in place
        for (const x of both) {
          expect(x.source.up).toBe(false);
          expect(sortedEntries(x.ipcache.entries)).toEqual(sortedEntries(SEEDED));
          expect(x.store.counts().get(KUBERNETES_SOURCE)).toBe(5);
        }
        polls++;
      }
      expect(polls).toBe(30);
      expect(Date.now() - wentAway).toBeGreaterThanOrEqual(OUTAGE_MS);
      api2.compact(); // the second server lost its history while away

      for (const x of both) x.ipcache.clearCalls();
      await Promise.all([api.start(), api2.start()]);
      const after: Record<string, number> = { ...SEEDED, '10.227.2.40/32': FRONTEND, '10.227.1.9/32': canary, 'fd00:227:1::9/128': canary, '10.227.100.20/32': cart };
      for (const x of both) {
        await waitFor('the changes', 30_000, () => `have ${JSON.stringify(sortedEntries(x.ipcache.entries))}`, async () =>
          JSON.stringify(sortedEntries(x.ipcache.entries)) === JSON.stringify(sortedEntries(after)) ? true : undefined);
        await waitFor('source up again', 30_000, () => '', async () => (x.source.up ? true : undefined));
        x.source.flush();
        // each change written once; the deleted pod's address is still in its grace period
        const byPrefix = (a: { cidr: string }, b: { cidr: string }) => (a.cidr < b.cidr ? -1 : 1);
        expect([...x.ipcache.calls].sort(byPrefix)).toEqual([
          { op: 'set', cidr: '10.227.1.9/32', identity: canary },
          { op: 'set', cidr: '10.227.100.20/32', identity: cart },
          { op: 'set', cidr: '10.227.2.40/32', identity: FRONTEND },
          { op: 'set', cidr: 'fd00:227:1::9/128', identity: canary },
        ]);
        // frontend, db, report (stale), debug's canary identity, two services: no duplicates, the old debug identity gone
        expect(x.store.counts().get(KUBERNETES_SOURCE)).toBe(6);
        expect(x.store.resolve(DEBUG)).toBeUndefined();
        expect(x.source.staleAddresses).toBe(1);
      }
      expect(resumed.source.relists).toBe(0);
      expect(relisted.source.relists).toBe(5);
      expect(resumed.source.watchRestarts).toBeGreaterThanOrEqual(5);

      // the grace period of the pod deleted while away ends: its address goes, once
      clock += 60_000;
      for (const x of both) {
        x.ipcache.clearCalls();
        x.source.sweep();
        expect(x.ipcache.calls).toEqual([{ op: 'delete', cidr: '10.227.2.8/32' }]);
        const { '10.227.2.8/32': _report, ...rest } = after;
        expect(sortedEntries(x.ipcache.entries)).toEqual(sortedEntries(rest));
        expect(x.store.counts().get(KUBERNETES_SOURCE)).toBe(5);
      }
    } finally {
      await Promise.all(both.map((x) => x.source.stop()));
      await api2.stop();
    }
  }, 150_000);
});
