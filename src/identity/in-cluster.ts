// Whether the exporter runs in a pod with a service account. Apart from the
// Kubernetes client (kube-client.ts), so that deciding whether to load the
// client does not load it.

import { existsSync } from 'node:fs';

export const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** True inside a pod with a service account: the in-cluster config is usable. */
export function inCluster(env: Record<string, string | undefined> = process.env, tokenPath = SERVICE_ACCOUNT_TOKEN): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST) && existsSync(tokenPath);
}
