export {
  deriveIdentityId,
  hashIdentityKey,
  IdentityRegistry,
  identityKey,
  isReservedIdentity,
  MAX_DERIVED_IDENTITY,
  MIN_DERIVED_IDENTITY,
  relevantLabels,
  RESERVED,
  reservedIdentity,
  reservedName,
} from './identity.js';
export type { Identity, ReservedName } from './identity.js';
export { IpcacheSync } from './ipcache-sync.js';
export type { DesiredPrefixes, SyncResult } from './ipcache-sync.js';
export { loadStaticIdentities, parseStaticIdentities, STATIC_SOURCE, StaticIdentitySource } from './static-source.js';
export type { StaticIdentitySourceOptions } from './static-source.js';
export { IdentityStore } from './store.js';
export type { ChangeListener, IdentityEntry, IdentityStoreOptions, PrefixMapping } from './store.js';
export { inCluster, loadKubeConfig } from './kube-client.js';
export { KUBERNETES_SOURCE, KubernetesIdentitySource } from './kubernetes.js';
export type { KubernetesSourceOptions } from './kubernetes.js';
export { DropExplainer, dropTuple } from './drop-explainer.js';
export type { DropExplainerOptions, ExplainedDropEvent, PolicyContext } from './drop-explainer.js';
export { describeIdentity, explainPolicyDrop, policyDirections, selectorMatches } from './network-policy.js';
export type { DirectionVerdict, DropPolicyExplanation, NetworkPolicy, PolicyFlow, PolicyPod } from './network-policy.js';
