// Kubernetes objects to identities and prefixes. A pod's identity is derived
// by the same function as a static entry's (deriveIdentityId: namespace +
// identity-relevant labels), with its namespace's labels joined in under a
// "namespace:" prefix, so policies that select namespaces by label see a
// different identity when those labels differ, and every node computes the
// same number. Keys with a colon cannot be Kubernetes label keys, so these
// joined labels never collide with a pod's own.

import { makeCidr, parseAddress, type Cidr } from '../net/cidr.js';
import { deriveIdentityId, relevantLabels, reservedIdentity, RESERVED, type Identity } from './identity.js';
import type { KubeEndpointSlice, KubeNode, KubePod, KubeService } from './kube-objects.js';
import type { ContainerPort, PolicyPod } from './network-policy.js';

export const KUBERNETES_SOURCE = 'kubernetes';

/** Namespace label `team=a` joins a pod's identity as `namespace:team=a`. */
export const NAMESPACE_LABEL_PREFIX = 'namespace:';

/** The label a service's identity is derived from (with its namespace). */
export const SERVICE_LABEL = 'service:name';

export type Workload = { name: string; kind: string };

/** The identity-deciding labels of a pod: its own plus its namespace's, excluded keys removed. */
export function podIdentityLabels(
  podLabels: Record<string, string> | undefined,
  namespaceLabels: Record<string, string> | undefined,
  exclude: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = { ...relevantLabels(podLabels ?? {}, exclude) };
  for (const [key, value] of Object.entries(relevantLabels(namespaceLabels ?? {}, exclude))) {
    out[NAMESPACE_LABEL_PREFIX + key] = value;
  }
  return relevantLabels(out, []);
}

export function podIdentity(
  pod: KubePod,
  namespaceLabels: Record<string, string> | undefined,
  exclude: readonly string[],
  workload: Workload,
): Identity {
  const namespace = pod.metadata?.namespace ?? '';
  const labels = podIdentityLabels(pod.metadata?.labels, namespaceLabels, exclude);
  return {
    id: deriveIdentityId(namespace, labels, []),
    namespace,
    workload: workload.name,
    workloadKind: workload.kind,
    labels,
    source: KUBERNETES_SOURCE,
  };
}

export function serviceIdentity(service: KubeService): Identity {
  const namespace = service.metadata?.namespace ?? '';
  const name = service.metadata?.name ?? '';
  const labels = { [SERVICE_LABEL]: name };
  return {
    id: deriveIdentityId(namespace, labels, []),
    namespace,
    workload: name,
    workloadKind: 'Service',
    name: `service:${namespace}/${name}`,
    labels,
    source: KUBERNETES_SOURCE,
  };
}

/** A single-address prefix (/32 or /128), or undefined for anything that is not an IP address. */
export function hostPrefix(text: string | undefined): Cidr | undefined {
  if (!text) return undefined;
  const address = parseAddress(text.trim());
  if (!address) return undefined;
  return makeCidr(address.family, address.addr, address.family === 4 ? 32 : 128);
}

/** Pods whose addresses are their own: running or about to, not on the host's network. */
export function podAddresses(pod: KubePod): Cidr[] {
  if (pod.spec?.hostNetwork) return []; // its address is the node's, which the node entry covers
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return []; // finished: its address may be reused
  const texts = new Set<string>();
  for (const ip of pod.status?.podIPs ?? []) if (ip.ip) texts.add(ip.ip);
  if (pod.status?.podIP) texts.add(pod.status.podIP);
  return uniquePrefixes([...texts]);
}

export function nodeInternalAddresses(node: KubeNode): Cidr[] {
  return uniquePrefixes((node.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address));
}

export function servicePrefixes(service: KubeService): Cidr[] {
  if (service.spec?.type === 'ExternalName') return [];
  const ips = service.spec?.clusterIPs?.length ? service.spec.clusterIPs : [service.spec?.clusterIP];
  return uniquePrefixes(ips.filter((ip) => ip !== 'None'));
}

export function endpointSliceAddresses(slice: KubeEndpointSlice): Cidr[] {
  if (slice.addressType === 'FQDN') return [];
  return uniquePrefixes((slice.endpoints ?? []).flatMap((e) => e.addresses ?? []));
}

function uniquePrefixes(texts: Array<string | undefined>): Cidr[] {
  const out = new Map<string, Cidr>();
  for (const text of texts) {
    const cidr = hostPrefix(text);
    if (cidr) out.set(cidr.text, cidr);
  }
  return [...out.values()];
}

/** A pod as NetworkPolicies see it: its own labels (all of them), its namespace's, its containers' ports. */
export function policyPod(pod: KubePod, namespaceLabels: Record<string, string> | undefined): PolicyPod {
  const containerPorts: ContainerPort[] = [];
  for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
    for (const p of c.ports ?? []) {
      if (typeof p.containerPort === 'number') containerPorts.push({ name: p.name, containerPort: p.containerPort, protocol: p.protocol ?? 'TCP' });
    }
  }
  return {
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    labels: { ...(pod.metadata?.labels ?? {}) },
    namespaceLabels: { ...(namespaceLabels ?? {}) },
    containerPorts,
  };
}

export const HOST_IDENTITY = reservedIdentity(RESERVED.host)!;
export const REMOTE_NODE_IDENTITY = reservedIdentity(RESERVED['remote-node'])!;
export const KUBE_APISERVER_IDENTITY = reservedIdentity(RESERVED['kube-apiserver'])!;
