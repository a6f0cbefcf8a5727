// The few fields of Kubernetes objects the identity source reads. Lists come
// through the generated client (typed, dates parsed) and watch events as raw
// JSON; both have these fields under the same names, so the source reads
// only these shapes and never depends on which path an object took.

export interface OwnerReference {
  apiVersion?: string;
  kind: string;
  name: string;
  uid?: string;
  controller?: boolean;
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface KubeObject {
  metadata?: ObjectMeta;
}

export interface KubeContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}

export interface KubePod extends KubeObject {
  spec?: {
    nodeName?: string;
    hostNetwork?: boolean;
    /** Named ports of NetworkPolicies resolve against these. */
    containers?: Array<{ ports?: KubeContainerPort[] }>;
    initContainers?: Array<{ ports?: KubeContainerPort[] }>;
  };
  status?: { phase?: string; podIP?: string; podIPs?: Array<{ ip?: string }> };
}

export interface KubeNamespace extends KubeObject {}

export interface KubeNode extends KubeObject {
  spec?: { podCIDR?: string; podCIDRs?: string[] };
  status?: { addresses?: Array<{ type?: string; address?: string }> };
}

export interface KubeService extends KubeObject {
  spec?: { type?: string; clusterIP?: string; clusterIPs?: string[] };
}

export interface KubeEndpointSlice extends KubeObject {
  addressType?: string;
  endpoints?: Array<{ addresses?: string[]; conditions?: { ready?: boolean } }>;
}

/** "namespace/name", or "name" for cluster-scoped objects. */
export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}
