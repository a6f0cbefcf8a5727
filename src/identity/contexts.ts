import type { IdentityContext, IdentityLookup } from '../metrics/types.js';
import { reservedName } from './identity.js';
import type { IdentityStore } from './store.js';

/**
 * The metric contexts of an identity number, as the store knows it now. An
 * identity the store no longer knows (its workload went away while counters
 * still hold it) keeps its number, so its series stay distinct.
 */
export function identityContexts(store: IdentityStore): IdentityLookup {
  return {
    context(id: number): IdentityContext {
      const reserved = reservedName(id);
      if (reserved) return { identity: reserved, namespace: '', workload: reserved, workload_kind: '', app: '', pod: '' };
      const identity = store.resolve(id);
      if (!identity) return { identity: String(id), namespace: '', workload: '', workload_kind: '', app: '', pod: '' };
      return {
        identity: String(id),
        namespace: identity.namespace,
        workload: identity.workload,
        workload_kind: identity.workloadKind ?? '',
        app: identity.labels['app'] ?? '',
        pod: '',
      };
    },
    known(id: number): boolean {
      return reservedName(id) !== undefined || store.resolve(id) !== undefined;
    },
  };
}
