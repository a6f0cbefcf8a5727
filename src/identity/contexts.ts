import { reservedName } from './identity.js';
import type { IdentityStore } from './store.js';

/** identity is the number as a string, or 'reserved:world' etc.; missing values are ''. */
export interface IdentityContext { identity: string; namespace: string; workload: string; workload_kind: string; app: string; pod: string }

export interface IdentityLookup {
  context(id: number): IdentityContext;
  /** Whether a source knows the identity now; series of identities unknown for metrics.identityTtlSeconds are dropped. Always known when absent. */
  known?(id: number): boolean;
}

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
