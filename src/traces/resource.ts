// The resource of a span: the workload that made the exchange, not flowlens.
// A backend then files each span under its own service, and a service graph
// built from them shows client -> frontend -> backend. Pure data (attribute
// names from semconv.ts); the sink merges these over the SDK's own resource
// (telemetry.sdk.*, OTEL_RESOURCE_ATTRIBUTES, host.*).

import type { Attributes } from '@opentelemetry/api';
import type { Identity } from '../identity/identity.js';
import {
  ATTR_K8S_CRONJOB_NAME,
  ATTR_K8S_DAEMONSET_NAME,
  ATTR_K8S_DEPLOYMENT_NAME,
  ATTR_K8S_JOB_NAME,
  ATTR_K8S_NAMESPACE_NAME,
  ATTR_K8S_NODE_NAME,
  ATTR_K8S_POD_NAME,
  ATTR_K8S_REPLICASET_NAME,
  ATTR_K8S_STATEFULSET_NAME,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_NAMESPACE,
} from './semconv.js';

/** The k8s.<kind>.name attribute of each owning kind the conventions name. */
const KIND_ATTRIBUTES: Readonly<Record<string, string>> = {
  Deployment: ATTR_K8S_DEPLOYMENT_NAME,
  StatefulSet: ATTR_K8S_STATEFULSET_NAME,
  DaemonSet: ATTR_K8S_DAEMONSET_NAME,
  ReplicaSet: ATTR_K8S_REPLICASET_NAME,
  Job: ATTR_K8S_JOB_NAME,
  CronJob: ATTR_K8S_CRONJOB_NAME,
};

export interface WorkloadResourceOptions {
  /** Labels whose value, the first one present, is service.name (e.g. app.kubernetes.io/name); else the workload's name. */
  serviceNameLabels: readonly string[];
  /** This node's name: every span is reported where one of its ends runs, on this node. */
  nodeName: string;
}

/**
 * The resource attributes of the workload an exchange's owning end belongs
 * to. `identity` undefined: an identity no source knows (yet), named by its
 * number. `pod`: the pod at the end's address, where the Kubernetes source
 * knows it.
 */
export function workloadResourceAttributes(
  id: number,
  identity: Identity | undefined,
  pod: string | undefined,
  options: WorkloadResourceOptions,
): Attributes {
  const out: Attributes = { [ATTR_K8S_NODE_NAME]: options.nodeName };
  if (identity === undefined) {
    out[ATTR_SERVICE_NAME] = `identity:${id}`;
    return out;
  }
  const label = options.serviceNameLabels.find((key) => (identity.labels[key] ?? '') !== '');
  out[ATTR_SERVICE_NAME] = label !== undefined ? identity.labels[label]! : identity.workload;
  if (identity.namespace !== '') {
    out[ATTR_SERVICE_NAMESPACE] = identity.namespace;
    out[ATTR_K8S_NAMESPACE_NAME] = identity.namespace;
  }
  const kindAttribute = identity.workloadKind === undefined ? undefined : KIND_ATTRIBUTES[identity.workloadKind];
  if (kindAttribute !== undefined) out[kindAttribute] = identity.workload;
  if (identity.workloadKind !== undefined) out['flowlens.workload.kind'] = identity.workloadKind;
  if (pod !== undefined && pod !== '') out[ATTR_K8S_POD_NAME] = pod;
  return out;
}
