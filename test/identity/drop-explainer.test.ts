// Drop events enriched with their NetworkPolicy explanation, with the
// policies and pods coming over list + watch from a fake kube-apiserver.
//
// No kube-apiserver can be installed on the test machine: the real client
// (@kubernetes/client-node, through a kubeconfig file) talks to
// test/common/fake-apiserver.ts, a loopback HTTP server speaking the API's
// list/watch protocol. The drop events are built here in the shape
// drop.bpf.c delivers them (src/bpf/codecs.ts DropEvent); the kernel side of
// drops is tested in test/datapath/drop.test.ts.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Direction, EventType, type DropEvent } from '../../src/bpf/codecs.js';
import { DEFAULT_EXCLUDED_LABELS } from '../../src/config.js';
import { DropReasons } from '../../src/datapath/drop-reasons.js';
import { parseAddress } from '../../src/net/cidr.js';
import { DropExplainer, dropTuple } from '../../src/identity/drop-explainer.js';
import { deriveIdentityId } from '../../src/identity/identity.js';
import { loadKubeConfig } from '../../src/identity/kube-client.js';
import { KubernetesIdentitySource } from '../../src/identity/kubernetes.js';
import { IdentityStore } from '../../src/identity/store.js';
import { waitFor } from '../common/exporter.js';
import { FakeApiServer, namespaceObj, networkPolicyObj, nodeObj, podObj } from '../common/fake-apiserver.js';

const NETFILTER_DROP = 1;
const NO_SOCKET = 2;
const REASONS = new DropReasons([
  { value: NETFILTER_DROP, name: 'netfilter_drop', reasonClass: 'policy' },
  { value: NO_SOCKET, name: 'no_socket', reasonClass: 'no_socket' },
]);

const CLIENT_IP = '10.229.11.5';
const BACKEND_IP = '10.229.12.7';
const CLIENT = deriveIdentityId('client', { app: 'client', 'namespace:kubernetes.io/metadata.name': 'client', 'namespace:team': 'client' }, []);
const BACKEND = deriveIdentityId('shop', { app: 'backend', 'namespace:kubernetes.io/metadata.name': 'shop', 'namespace:team': 'web' }, []);

function addressBytes(text: string): Buffer {
  const out = Buffer.alloc(16);
  parseAddress(text)!.addr.copy(out);
  return out;
}

/** A drop of client -> backend tcp/8080, as drop.bpf.c reports it. */
function dropEvent(reason: number, dport = 8080): DropEvent {
  return {
    type: EventType.DROP,
    family: 4,
    protocol: 6,
    direction: Direction.INGRESS,
    ifindex: 7,
    timestampNs: 123n,
    reason,
    srcIdentity: CLIENT,
    dstIdentity: BACKEND,
    saddr: addressBytes(CLIENT_IP),
    daddr: addressBytes(BACKEND_IP),
    sport: 40000,
    dport,
  };
}

let tmp: string;
let api: FakeApiServer;
let kubeconfig: string;
let source: KubernetesIdentitySource | undefined;
let store: IdentityStore;

function start(networkPolicies = true): DropExplainer {
  store = new IdentityStore();
  source = new KubernetesIdentitySource({
    kubeconfig: loadKubeConfig({ path: kubeconfig, context: null }),
    store,
    nodeName: 'node-a',
    exclude: DEFAULT_EXCLUDED_LABELS,
    staleGraceMs: 60_000,
    batchMs: 5,
    backoffBaseMs: 50,
    backoffMaxMs: 200,
    networkPolicies,
  });
  source.start();
  return new DropExplainer({ policies: source, reasonClass: (r) => REASONS.get(r).reasonClass, resolve: (id) => store.resolve(id) });
}

/** Polls (50 ms steps, bounded) until the explanation of the client -> backend drop is `want`. */
async function explanationBecomes(explainer: DropExplainer, want: string, dport = 8080): Promise<void> {
  let last = '';
  await waitFor('the drop explanation', 30_000, () => `have ${last}\nwant ${want}`, async () => {
    last = explainer.explain(dropEvent(NETFILTER_DROP, dport)).policy?.explanation ?? '(none)';
    return last === want ? true : undefined;
  });
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'flowlens-policy-'));
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

beforeEach(async () => {
  api = new FakeApiServer();
  await api.start();
  kubeconfig = join(tmp, 'kubeconfig');
  api.writeKubeconfig(kubeconfig);
  api.apply('namespaces', namespaceObj('shop', { team: 'web' }));
  api.apply('namespaces', namespaceObj('client', { team: 'client' }));
  api.apply('nodes', nodeObj('node-a', ['10.229.10.1'], ['10.229.11.0/24', '10.229.12.0/24']));
  api.apply('pods', podObj({ namespace: 'client', name: 'client-1', ips: [CLIENT_IP], labels: { app: 'client' } }));
  api.apply('pods', podObj({
    namespace: 'shop', name: 'backend-7c9f', ips: [BACKEND_IP], labels: { app: 'backend', 'pod-template-hash': '7c9f' },
    ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
  }));
});

afterEach(async () => {
  await source?.stop();
  source = undefined;
  await api.stop();
});

const NO_POLICY = 'no NetworkPolicy explains this drop: no policy selects pod client/client-1 for egress; no policy selects pod shop/backend-7c9f for ingress';
const DENY_ALL = `denied: namespace shop has default-deny policy deny-all selecting pod backend-7c9f (ingress); no rule allows identity ${CLIENT} (ns client, app=client) on tcp/8080`;

describe('drop explanation from NetworkPolicies watched on a fake kube-apiserver', () => {
  it('follows policies added, changed and removed over the watch', async () => {
    const explainer = start();
    await source!.whenSynced();
    await waitFor('policies listed', 30_000, () => '', async () => (source!.networkPoliciesSynced ? true : undefined));
    expect(explainer.explain(dropEvent(NETFILTER_DROP)).policy?.explanation).toBe(NO_POLICY);

    api.apply('networkpolicies', networkPolicyObj('shop', 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] }));
    await explanationBecomes(explainer, DENY_ALL);
    const denied = explainer.explain(dropEvent(NETFILTER_DROP));
    // the event itself is untouched; the explanation is added beside it
    expect({ ...denied, policy: undefined }).toEqual({ ...dropEvent(NETFILTER_DROP), policy: undefined });
    expect(denied.policy?.verdict).toBe('denied');
    expect(denied.policy?.ingress).toEqual({
      direction: 'ingress',
      pod: { namespace: 'shop', name: 'backend-7c9f' },
      policies: [{ namespace: 'shop', name: 'deny-all', defaultDeny: true }],
      allowedBy: [],
      verdict: 'denied',
    });

    // an allow on the named port "http" (the backend's containerPort 8080), from the client namespace
    api.apply('networkpolicies', networkPolicyObj('shop', 'allow-client', {
      podSelector: { matchLabels: { app: 'backend' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'client' } } }], ports: [{ protocol: 'TCP', port: 'http' }] }],
    }));
    await explanationBecomes(explainer, 'no NetworkPolicy explains this drop: no policy selects pod client/client-1 for egress; ingress to pod shop/backend-7c9f is allowed by policy allow-client');
    // another port is still denied, now by both policies
    await explanationBecomes(explainer,
      `denied: namespace shop has policies allow-client, deny-all (default-deny) selecting pod backend-7c9f (ingress); no rule allows identity ${CLIENT} (ns client, app=client) on tcp/9000`, 9000);

    // changed: the allow now names another namespace
    const allow = api.get('networkpolicies', 'allow-client', 'shop')!;
    api.apply('networkpolicies', { ...allow, spec: { ...(allow.spec as object), ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'ops' } } }] }] } });
    await explanationBecomes(explainer,
      `denied: namespace shop has policies allow-client, deny-all (default-deny) selecting pod backend-7c9f (ingress); no rule allows identity ${CLIENT} (ns client, app=client) on tcp/8080`);

    // removed, while the watch is cut: the resumed watch brings the deletes
    await waitFor('watches open', 30_000, () => '', async () => (source!.networkPoliciesUp ? true : undefined));
    api.dropWatches();
    api.remove('networkpolicies', 'allow-client', 'shop');
    await explanationBecomes(explainer, DENY_ALL);
    api.remove('networkpolicies', 'deny-all', 'shop');
    await explanationBecomes(explainer, NO_POLICY);
    expect(source!.networkPolicies()).toEqual([]);
  });

  it('relists policies after 410 Gone without keeping deleted ones', async () => {
    api.apply('networkpolicies', networkPolicyObj('shop', 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] }));
    const explainer = start();
    await source!.whenSynced();
    await explanationBecomes(explainer, DENY_ALL);
    await api.stop();
    api.remove('networkpolicies', 'deny-all', 'shop');
    api.apply('networkpolicies', networkPolicyObj('client', 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] }));
    // a named port, this time through the list (typed objects) rather than a watch event
    api.apply('networkpolicies', networkPolicyObj('client', 'allow-http', {
      podSelector: { matchLabels: { app: 'client' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ namespaceSelector: { matchLabels: { team: 'web' } } }], ports: [{ port: 'http' }] }],
    }));
    api.compact();
    await api.start();
    await explanationBecomes(explainer,
      'no NetworkPolicy explains this drop: egress from pod client/client-1 is allowed by policy allow-http; no policy selects pod shop/backend-7c9f for ingress');
    await explanationBecomes(explainer,
      `denied: namespace client has policies allow-http, deny-egress (default-deny) selecting pod client-1 (egress); no rule allows identity ${BACKEND} (ns shop, app=backend) on tcp/8081`, 8081);
    expect(source!.networkPolicies().map((p) => p.metadata?.name).sort()).toEqual(['allow-http', 'deny-egress']);
  });

  it('explains policy-class drops only', async () => {
    const explainer = start();
    await source!.whenSynced();
    const event = dropEvent(NO_SOCKET);
    expect(explainer.explain(event)).toBe(event);
    const bare: DropEvent = { ...dropEvent(NETFILTER_DROP), family: 0, saddr: Buffer.alloc(16), daddr: Buffer.alloc(16) };
    expect(explainer.explain(bare)).toBe(bare); // no IP header: nothing to evaluate
  });

  it('keeps identities when the API server refuses NetworkPolicies, and says the policies are unknown', async () => {
    api.forbidden.add('networkpolicies');
    const explainer = start();
    await source!.whenSynced();
    await waitFor('the refused list', 30_000, () => '', async () => (api.count({ resource: 'networkpolicies' }) >= 1 ? true : undefined));
    expect(store.resolve(BACKEND)).toMatchObject({ namespace: 'shop', workload: 'backend-7c9f' });
    expect(source!.synced).toBe(true);
    expect(source!.networkPoliciesSynced).toBe(false);
    const r = explainer.explain(dropEvent(NETFILTER_DROP)).policy!;
    expect(r.verdict).toBe('unknown');
    expect(r.explanation).toBe('NetworkPolicies unknown: not listed from the Kubernetes API server yet');
    expect(r.ingress).toEqual({ direction: 'ingress', pod: { namespace: 'shop', name: 'backend-7c9f' }, policies: [], allowedBy: [], verdict: 'not-selected' });
    // and with the watch switched off, the same
    await source!.stop();
    const asked = api.count({ resource: 'networkpolicies' });
    const off = start(false);
    await source!.whenSynced();
    expect(off.explain(dropEvent(NETFILTER_DROP)).policy?.verdict).toBe('unknown');
    expect(api.count({ resource: 'networkpolicies' })).toBe(asked); // never asked for
  });

  it('names the packet in logs', () => {
    expect(dropTuple(dropEvent(NETFILTER_DROP))).toBe(`${CLIENT_IP}:40000 -> ${BACKEND_IP}:8080 tcp`);
    expect(dropTuple({ ...dropEvent(NETFILTER_DROP), family: 6, saddr: addressBytes('fd00::2'), daddr: addressBytes('fd00::3'), protocol: 17, dport: 53 }))
      .toBe('[fd00::2]:40000 -> [fd00::3]:53 udp');
    expect(dropTuple({ ...dropEvent(NETFILTER_DROP), protocol: 1, sport: 0, dport: 0 })).toBe(`${CLIENT_IP} -> ${BACKEND_IP} icmp`);
    expect(dropTuple({ ...dropEvent(NETFILTER_DROP), family: 0 })).toBe('(no IP header)');
  });
});
