// Where the Kubernetes source talks to the API server: the kubeconfig
// (a file and context by flag, in-cluster by default), the lists the
// informers start from, and the owner GETs of workload resolution.

import { AppsV1Api, BatchV1Api, CoreV1Api, DiscoveryV1Api, KubeConfig, NetworkingV1Api } from '@kubernetes/client-node';
import { createError, readTextFile, wrapError } from '../errors.js';
import { inCluster, SERVICE_ACCOUNT_TOKEN } from './in-cluster.js';
import type { KubeObject } from './kube-objects.js';
import type { ListPage, ResourceSpec } from './kube-watch.js';
import type { OwnerReader } from './kube-workloads.js';

export { inCluster };

export type KubeConfigOptions = {
  /** Path of a kubeconfig file; without it, the in-cluster config. */
  path: string | null;
  /** Context to use instead of the file's current-context. */
  context: string | null;
};

/**
 * Loads and checks the kubeconfig, so a bad one stops start-up with its path
 * and what is wrong rather than surfacing later as failing watches.
 */
export function loadKubeConfig(options: KubeConfigOptions): KubeConfig {
  const kc = new KubeConfig();
  if (options.path === null) {
    if (options.context !== null) {
      throw createError('FLOWLENS_ERR_KUBECONFIG_INVALID', '(in-cluster)', `--kube-context ${options.context} needs a kubeconfig file (--kubeconfig)`);
    }
    if (!inCluster()) {
      throw createError('FLOWLENS_ERR_KUBECONFIG_INVALID', '(in-cluster)',
        `not running in a pod with a service account (no KUBERNETES_SERVICE_HOST or no ${SERVICE_ACCOUNT_TOKEN}); pass --kubeconfig`);
    }
    try {
      kc.loadFromCluster();
    } catch (err) {
      throw wrapError(err, 'FLOWLENS_ERR_KUBECONFIG_INVALID', '(in-cluster)', (err as Error).message);
    }
    return kc;
  }
  const path = options.path;
  const text = readTextFile(path, 'FLOWLENS_ERR_KUBECONFIG_UNREADABLE');
  try {
    kc.loadFromFile(path);
  } catch (err) {
    throw wrapError(err, 'FLOWLENS_ERR_KUBECONFIG_UNREADABLE', path, `not a valid kubeconfig: ${(err as Error).message.split('\n')[0]}`);
  }
  if (text.trim() === '') throw createError('FLOWLENS_ERR_KUBECONFIG_UNREADABLE', path, 'the file is empty');

  const contexts = kc.getContexts().map((c) => c.name);
  if (options.context !== null) {
    if (!contexts.includes(options.context)) {
      throw createError('FLOWLENS_ERR_KUBE_CONTEXT_UNKNOWN', options.context, path, contexts);
    }
    kc.setCurrentContext(options.context);
  }
  const current = kc.getCurrentContext();
  if (!current) {
    throw createError('FLOWLENS_ERR_KUBECONFIG_INVALID', path, `no current-context; pick one of (${contexts.join(', ') || 'none'}) with --kube-context`);
  }
  const context = kc.getContextObject(current);
  if (!context) throw createError('FLOWLENS_ERR_KUBE_CONTEXT_UNKNOWN', current, path, contexts);
  const cluster = kc.getCluster(context.cluster);
  if (!cluster) throw createError('FLOWLENS_ERR_KUBECONFIG_INVALID', path, `context "${current}" names cluster "${context.cluster}", which the file does not define`);
  if (!cluster.server) throw createError('FLOWLENS_ERR_KUBECONFIG_INVALID', path, `cluster "${cluster.name}" has no server`);
  return kc;
}

/** The API server's address in the loaded config, for logs. */
export function serverOf(kc: KubeConfig): string {
  return kc.getCurrentCluster()?.server ?? '(none)';
}

/** The resources the identity source watches: the list calls and the watch paths. */
export function resourceSpecs(kc: KubeConfig): Record<'pods' | 'namespaces' | 'nodes' | 'services' | 'apiserverEndpoints', ResourceSpec> {
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const page = (p: Promise<unknown>) => p as Promise<ListPage>;
  const apiserverSelector = 'kubernetes.io/service-name=kubernetes';
  return {
    pods: {
      name: 'pods',
      path: '/api/v1/pods',
      list: (limit, token) => page(core.listPodForAllNamespaces({ limit, _continue: token })),
    },
    namespaces: {
      name: 'namespaces',
      path: '/api/v1/namespaces',
      list: (limit, token) => page(core.listNamespace({ limit, _continue: token })),
    },
    nodes: {
      name: 'nodes',
      path: '/api/v1/nodes',
      list: (limit, token) => page(core.listNode({ limit, _continue: token })),
    },
    services: {
      name: 'services',
      path: '/api/v1/services',
      list: (limit, token) => page(core.listServiceForAllNamespaces({ limit, _continue: token })),
    },
    // Only the API server's own endpoints: the slices of default/kubernetes.
    apiserverEndpoints: {
      name: 'endpointslices',
      path: '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices',
      labelSelector: apiserverSelector,
      list: (limit, token) =>
        page(discovery.listNamespacedEndpointSlice({ namespace: 'default', labelSelector: apiserverSelector, limit, _continue: token })),
    },
  };
}

/** NetworkPolicies of every namespace, for the explanation of policy drops. */
export function networkPolicySpec(kc: KubeConfig): ResourceSpec {
  const networking = kc.makeApiClient(NetworkingV1Api);
  return {
    name: 'networkpolicies',
    path: '/apis/networking.k8s.io/v1/networkpolicies',
    list: (limit, token) => networking.listNetworkPolicyForAllNamespaces({ limit, _continue: token }) as Promise<unknown> as Promise<ListPage>,
  };
}

/** GETs of the owners workload resolution follows; a 404 is "no such owner", not an error. */
export function ownerReader(kc: KubeConfig): OwnerReader {
  const apps = kc.makeApiClient(AppsV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  return async (kind, namespace, name) => {
    try {
      let obj: unknown;
      if (kind === 'ReplicaSet') obj = await apps.readNamespacedReplicaSet({ name, namespace });
      else if (kind === 'Job') obj = await batch.readNamespacedJob({ name, namespace });
      else return undefined;
      return obj as KubeObject;
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  };
}
