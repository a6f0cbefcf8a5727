import { reservedName } from '../identity/identity.js';
import type { IdentityStore } from '../identity/store.js';
import type { EndpointIdentity, IdentityResolver } from './record.js';

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Names an identity number as the store knows it when the event arrives; the
 * record keeps that, as Hubble does, even if the workload goes away later.
 * Labels are the store's own object, shared, never copied per record.
 */
export function identityResolver(store: IdentityStore): IdentityResolver {
  return (id: number): EndpointIdentity => {
    const reserved = reservedName(id);
    if (reserved) return { identityName: reserved, namespace: '', workload: reserved, pod: '', labels: NO_LABELS };
    const identity = store.resolve(id);
    if (!identity) return { identityName: String(id), namespace: '', workload: '', pod: '', labels: NO_LABELS };
    return { identityName: String(id), namespace: identity.namespace, workload: identity.workload, pod: '', labels: identity.labels };
  };
}
