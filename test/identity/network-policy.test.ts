// NetworkPolicy evaluation for policy-class drops (src/identity/network-policy.ts),
// table-driven: one set of policies, many (source, destination, protocol, port)
// packets, each with the exact explanation a user would read.

import { describe, expect, it } from 'vitest';
import { deriveIdentityId, type Identity } from '../../src/identity/identity.js';
import { podIdentityLabels } from '../../src/identity/kube-derive.js';
import {
  describeIdentity,
  explainPolicyDrop,
  policyDirections,
  selectorMatches,
  type ContainerPort,
  type FlowEnd,
  type NetworkPolicy,
  type PolicyPod,
} from '../../src/identity/network-policy.js';

const NAMESPACES: Record<string, Record<string, string>> = {
  shop: { team: 'web' },
  client: { team: 'client' },
  monitoring: { team: 'ops' },
  open: { team: 'open' },
  batch: { team: 'batch' },
  'kube-system': {},
};

type PodFixture = { pod: PolicyPod; address: string; identity: Identity };

function pod(namespace: string, name: string, address: string, labels: Record<string, string>, containerPorts: ContainerPort[] = []): PodFixture {
  const namespaceLabels = { 'kubernetes.io/metadata.name': namespace, ...NAMESPACES[namespace] };
  const identityLabels = podIdentityLabels(labels, namespaceLabels, []);
  const identity: Identity = { id: deriveIdentityId(namespace, identityLabels, []), namespace, workload: name, labels: identityLabels, source: 'kubernetes' };
  return { pod: { namespace, name, labels, namespaceLabels, containerPorts }, address, identity };
}

const PODS = {
  frontend: pod('shop', 'frontend-1', '10.229.1.10', { app: 'frontend' }, [{ name: 'http', containerPort: 80 }]),
  backend: pod('shop', 'backend-7c9f', '10.229.1.20', { app: 'backend' }, [
    { name: 'http', containerPort: 8080, protocol: 'TCP' },
    { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
  ]),
  db: pod('shop', 'db-0', '10.229.1.30', { app: 'db' }),
  client: pod('client', 'client-1', '10.229.2.10', { app: 'client' }),
  fakeProm: pod('client', 'prom-lookalike', '10.229.2.11', { app: 'prometheus' }),
  prom: pod('monitoring', 'prometheus-0', '10.229.3.10', { app: 'prometheus' }),
  grafana: pod('monitoring', 'grafana-1', '10.229.3.11', { app: 'grafana' }, [{ name: 'web', containerPort: 3000 }]),
  web1: pod('open', 'web-1', '10.229.4.10', { app: 'web' }),
  web2: pod('open', 'web-2', '10.229.4.11', { app: 'web' }),
  job: pod('batch', 'job-1', '10.229.5.10', { app: 'job' }),
  dns: pod('kube-system', 'coredns-1', '10.229.6.10', { 'k8s-app': 'kube-dns' }, [{ name: 'dns', containerPort: 53, protocol: 'UDP' }]),
};

function np(namespace: string, name: string, spec: NonNullable<NetworkPolicy['spec']>): NetworkPolicy {
  return { metadata: { namespace, name }, spec };
}

const POLICIES: NetworkPolicy[] = [
  // default deny: every pod of shop is isolated for ingress
  np('shop', 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] }),
  // allow from a namespace selector, every port
  np('shop', 'allow-from-client', {
    podSelector: { matchLabels: { app: 'frontend' } },
    policyTypes: ['Ingress'],
    ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'client' } } }] }],
  }),
  // allow on a port, from pods of the same namespace
  np('shop', 'allow-backend-8080', {
    podSelector: { matchLabels: { app: 'backend' } },
    policyTypes: ['Ingress'],
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
  }),
  // combined namespace + pod selector, on a named port
  np('shop', 'allow-metrics', {
    podSelector: {},
    policyTypes: ['Ingress'],
    ingress: [{
      from: [{ namespaceSelector: { matchLabels: { team: 'ops' } }, podSelector: { matchLabels: { app: 'prometheus' } } }],
      ports: [{ port: 'metrics' }],
    }],
  }),
  // a port range
  np('shop', 'allow-db-range', {
    podSelector: { matchLabels: { app: 'db' } },
    policyTypes: ['Ingress'],
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'backend' } } }], ports: [{ protocol: 'TCP', port: 5432, endPort: 5440 }] }],
  }),
  // an ipBlock with except
  np('shop', 'allow-external', {
    podSelector: { matchLabels: { app: 'frontend' } },
    policyTypes: ['Ingress'],
    ingress: [{ from: [{ ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.128/25'] } }], ports: [{ protocol: 'TCP', port: 443 }] }],
  }),
  // an egress policy: DNS to kube-system, HTTPS to one external range
  np('batch', 'job-egress', {
    podSelector: { matchLabels: { app: 'job' } },
    policyTypes: ['Egress'],
    egress: [
      { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } }], ports: [{ protocol: 'UDP', port: 53 }] },
      { to: [{ ipBlock: { cidr: '198.51.100.0/24' } }], ports: [{ protocol: 'TCP', port: 443 }] },
    ],
  }),
  // no policyTypes: Ingress implied (no ingress rules: default deny), Egress because it has egress rules
  np('client', 'client-policy', {
    podSelector: { matchLabels: { app: 'client' } },
    egress: [{ to: [{ namespaceSelector: { matchLabels: { team: 'web' } } }] }],
  }),
  // matchExpressions on both sides
  np('monitoring', 'allow-ops', {
    podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['prometheus', 'grafana'] }] },
    policyTypes: ['Ingress'],
    ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['client'] }] } }] }],
  }),
];

const fromPod = (p: PodFixture): FlowEnd => ({ address: p.address, identity: p.identity.id, identityText: describeIdentity(p.identity.id, p.identity), pod: p.pod });
const fromAddress = (address: string, identity: number): FlowEnd => ({ address, identity, identityText: describeIdentity(identity, undefined) });

const id = (p: PodFixture) => p.identity.id;
const TCP = 6;
const UDP = 17;
const ICMP = 1;
const NONE = 'no NetworkPolicy explains this drop';
const BACKEND_INGRESS = 'namespace shop has policies allow-backend-8080, allow-metrics, deny-all (default-deny) selecting pod backend-7c9f (ingress)';
const FRONTEND_INGRESS = 'namespace shop has policies allow-external, allow-from-client, allow-metrics, deny-all (default-deny) selecting pod frontend-1 (ingress)';

type Case = [string, FlowEnd, FlowEnd, number, number, string];

const CASES: Case[] = [
  ['allowed from a selected namespace (egress allowed too)', fromPod(PODS.client), fromPod(PODS.frontend), TCP, 80,
    `${NONE}: egress from pod client/client-1 is allowed by policy client-policy; ingress to pod shop/frontend-1 is allowed by policy allow-from-client`],
  ['default deny, the namespace rule is for another pod', fromPod(PODS.client), fromPod(PODS.backend), TCP, 8080,
    `denied: ${BACKEND_INGRESS}; no rule allows identity ${id(PODS.client)} (ns client, app=client) on tcp/8080`],
  ['allowed on its port', fromPod(PODS.frontend), fromPod(PODS.backend), TCP, 8080,
    `${NONE}: no policy selects pod shop/frontend-1 for egress; ingress to pod shop/backend-7c9f is allowed by policy allow-backend-8080`],
  ['another port', fromPod(PODS.frontend), fromPod(PODS.backend), TCP, 8081,
    `denied: ${BACKEND_INGRESS}; no rule allows identity ${id(PODS.frontend)} (ns shop, app=frontend) on tcp/8081`],
  ['the port under another protocol', fromPod(PODS.frontend), fromPod(PODS.backend), UDP, 8080,
    `denied: ${BACKEND_INGRESS}; no rule allows identity ${id(PODS.frontend)} (ns shop, app=frontend) on udp/8080`],
  ['a protocol without ports where every rule names ports', fromPod(PODS.frontend), fromPod(PODS.backend), ICMP, 0,
    `denied: ${BACKEND_INGRESS}; no rule allows identity ${id(PODS.frontend)} (ns shop, app=frontend) on icmp`],
  ['named port resolved from the destination pod', fromPod(PODS.prom), fromPod(PODS.backend), TCP, 9090,
    `${NONE}: no policy selects pod monitoring/prometheus-0 for egress; ingress to pod shop/backend-7c9f is allowed by policy allow-metrics`],
  ['a number that is not the named port', fromPod(PODS.prom), fromPod(PODS.backend), TCP, 8080,
    `denied: ${BACKEND_INGRESS}; no rule allows identity ${id(PODS.prom)} (ns monitoring, app=prometheus) on tcp/8080`],
  ['the named port does not exist on the destination', fromPod(PODS.prom), fromPod(PODS.frontend), TCP, 9090,
    `denied: ${FRONTEND_INGRESS}; no rule allows identity ${id(PODS.prom)} (ns monitoring, app=prometheus) on tcp/9090`],
  ['combined selectors: right pod labels, wrong namespace', fromPod(PODS.fakeProm), fromPod(PODS.backend), TCP, 9090,
    `denied: ${BACKEND_INGRESS}; no rule allows identity ${id(PODS.fakeProm)} (ns client, app=prometheus) on tcp/9090`],
  ['port range, first port', fromPod(PODS.backend), fromPod(PODS.db), TCP, 5432,
    `${NONE}: no policy selects pod shop/backend-7c9f for egress; ingress to pod shop/db-0 is allowed by policy allow-db-range`],
  ['port range, last port', fromPod(PODS.backend), fromPod(PODS.db), TCP, 5440,
    `${NONE}: no policy selects pod shop/backend-7c9f for egress; ingress to pod shop/db-0 is allowed by policy allow-db-range`],
  ['port range, one past the end', fromPod(PODS.backend), fromPod(PODS.db), TCP, 5441,
    `denied: namespace shop has policies allow-db-range, allow-metrics, deny-all (default-deny) selecting pod db-0 (ingress); no rule allows identity ${id(PODS.backend)} (ns shop, app=backend) on tcp/5441`],
  ['ipBlock', fromAddress('203.0.113.5', 2), fromPod(PODS.frontend), TCP, 443,
    `${NONE}: source 203.0.113.5 is not a known pod; ingress to pod shop/frontend-1 is allowed by policy allow-external`],
  ['ipBlock except', fromAddress('203.0.113.200', 2), fromPod(PODS.frontend), TCP, 443,
    `denied: ${FRONTEND_INGRESS}; no rule allows identity 2 (reserved:world, 203.0.113.200) on tcp/443`],
  ['ipBlock, another port', fromAddress('203.0.113.5', 2), fromPod(PODS.frontend), TCP, 80,
    `denied: ${FRONTEND_INGRESS}; no rule allows identity 2 (reserved:world, 203.0.113.5) on tcp/80`],
  ['an IPv4 ipBlock does not match an IPv6 source', fromAddress('2001:db8::1', 2), fromPod(PODS.frontend), TCP, 443,
    `denied: ${FRONTEND_INGRESS}; no rule allows identity 2 (reserved:world, 2001:db8::1) on tcp/443`],
  ['egress allowed to a namespace on udp/53; the destination is not isolated', fromPod(PODS.job), fromPod(PODS.dns), UDP, 53,
    `${NONE}: egress from pod batch/job-1 is allowed by policy job-egress; no policy selects pod kube-system/coredns-1 for ingress`],
  ['egress on the wrong protocol', fromPod(PODS.job), fromPod(PODS.dns), TCP, 53,
    `denied: namespace batch has policy job-egress selecting pod job-1 (egress); no rule allows identity ${id(PODS.dns)} (ns kube-system, k8s-app=kube-dns) on tcp/53`],
  ['egress to an ipBlock', fromPod(PODS.job), fromAddress('198.51.100.7', 2), TCP, 443,
    `${NONE}: egress from pod batch/job-1 is allowed by policy job-egress; destination 198.51.100.7 is not a known pod`],
  ['egress to an address outside the ipBlock', fromPod(PODS.job), fromAddress('192.0.2.7', 2), TCP, 443,
    `denied: namespace batch has policy job-egress selecting pod job-1 (egress); no rule allows identity 2 (reserved:world, 192.0.2.7) on tcp/443`],
  ['denied on both ends', fromPod(PODS.job), fromPod(PODS.backend), TCP, 8080,
    `denied: namespace batch has policy job-egress selecting pod job-1 (egress); no rule allows identity ${id(PODS.backend)} (ns shop, app=backend) on tcp/8080; ` +
    `and ${BACKEND_INGRESS}; no rule allows identity ${id(PODS.job)} (ns batch, app=job) on tcp/8080`],
  ['implicit Ingress: a policy without policyTypes and without ingress rules denies ingress', fromPod(PODS.web1), fromPod(PODS.client), TCP, 8080,
    `denied: namespace client has default-deny policy client-policy selecting pod client-1 (ingress); no rule allows identity ${id(PODS.web1)} (ns open, app=web) on tcp/8080`],
  ['implicit Egress: egress rules without policyTypes isolate egress', fromPod(PODS.client), fromPod(PODS.web1), TCP, 80,
    `denied: namespace client has policy client-policy selecting pod client-1 (egress); no rule allows identity ${id(PODS.web1)} (ns open, app=web) on tcp/80`],
  ['no policy anywhere', fromPod(PODS.web1), fromPod(PODS.web2), TCP, 80,
    `${NONE}: no policy selects pod open/web-1 for egress; no policy selects pod open/web-2 for ingress`],
  ['neither end a pod', fromAddress('10.229.0.1', 1), fromAddress('10.229.9.9', 3), TCP, 80,
    `${NONE}: source 10.229.0.1 is not a known pod; destination 10.229.9.9 is not a known pod`],
  ['matchExpressions: In selects the pod, NotIn admits the namespace', fromPod(PODS.prom), fromPod(PODS.grafana), TCP, 3000,
    `${NONE}: no policy selects pod monitoring/prometheus-0 for egress; ingress to pod monitoring/grafana-1 is allowed by policy allow-ops`],
  ['matchExpressions: NotIn excludes the namespace; egress denied too', fromPod(PODS.client), fromPod(PODS.grafana), TCP, 3000,
    `denied: namespace client has policy client-policy selecting pod client-1 (egress); no rule allows identity ${id(PODS.grafana)} (ns monitoring, app=grafana) on tcp/3000; ` +
    `and namespace monitoring has policy allow-ops selecting pod grafana-1 (ingress); no rule allows identity ${id(PODS.client)} (ns client, app=client) on tcp/3000`],
  ['matchExpressions: a namespace without the label is not NotIn', fromPod(PODS.dns), fromPod(PODS.prom), TCP, 9090,
    `${NONE}: no policy selects pod kube-system/coredns-1 for egress; ingress to pod monitoring/prometheus-0 is allowed by policy allow-ops`],
  ['the host is matched by no pod selector', fromAddress('10.229.0.1', 1), fromPod(PODS.backend), TCP, 8080,
    `denied: ${BACKEND_INGRESS}; no rule allows identity 1 (reserved:host, 10.229.0.1) on tcp/8080`],
];

describe('NetworkPolicy explanation of a policy drop', () => {
  it('has at least 20 cases, some that no policy explains', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(20);
    expect(CASES.filter((c) => c[5].startsWith(NONE)).length).toBeGreaterThanOrEqual(5);
  });

  it.each(CASES)('%s', (_name, source, destination, protocol, port, want) => {
    const result = explainPolicyDrop({ source, destination, protocol, port }, POLICIES);
    expect(result.explanation).toBe(want);
    expect(result.verdict).toBe(want.startsWith('denied: ') ? 'denied' : 'unexplained');
  });

  it('gives the structured result behind the sentence', () => {
    const r = explainPolicyDrop({ source: fromPod(PODS.job), destination: fromPod(PODS.backend), protocol: TCP, port: 8080 }, POLICIES);
    expect(r.egress).toEqual({
      direction: 'egress',
      pod: { namespace: 'batch', name: 'job-1' },
      policies: [{ namespace: 'batch', name: 'job-egress', defaultDeny: false }],
      allowedBy: [],
      verdict: 'denied',
    });
    expect(r.ingress).toEqual({
      direction: 'ingress',
      pod: { namespace: 'shop', name: 'backend-7c9f' },
      policies: [
        { namespace: 'shop', name: 'allow-backend-8080', defaultDeny: false },
        { namespace: 'shop', name: 'allow-metrics', defaultDeny: false },
        { namespace: 'shop', name: 'deny-all', defaultDeny: true },
      ],
      allowedBy: [],
      verdict: 'denied',
    });
    const ok = explainPolicyDrop({ source: fromPod(PODS.job), destination: fromAddress('198.51.100.7', 2), protocol: TCP, port: 443 }, POLICIES);
    expect(ok.egress.allowedBy).toEqual([{ namespace: 'batch', name: 'job-egress', rule: 1 }]);
    expect(ok.ingress).toEqual({ direction: 'ingress', pod: null, policies: [], allowedBy: [], verdict: 'no-pod' });
  });

  it('evaluates a policy only in its own namespace', () => {
    // the same default deny in another namespace leaves open/ pods alone
    const r = explainPolicyDrop(
      { source: fromPod(PODS.web1), destination: fromPod(PODS.web2), protocol: TCP, port: 80 },
      [np('shop', 'deny-everything', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })],
    );
    expect(r.verdict).toBe('unexplained');
    const deny = explainPolicyDrop(
      { source: fromPod(PODS.web1), destination: fromPod(PODS.web2), protocol: TCP, port: 80 },
      [np('open', 'deny-everything', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })],
    );
    expect(deny.explanation).toBe(
      `denied: namespace open has default-deny policy deny-everything selecting pod web-1 (egress); no rule allows identity ${id(PODS.web2)} (ns open, app=web) on tcp/80; ` +
        `and namespace open has default-deny policy deny-everything selecting pod web-2 (ingress); no rule allows identity ${id(PODS.web1)} (ns open, app=web) on tcp/80`,
    );
  });

  it('an empty rule allows everything; an empty egress list without policyTypes isolates ingress only', () => {
    const flow = { source: fromPod(PODS.web1), destination: fromPod(PODS.web2), protocol: UDP, port: 5353 };
    expect(explainPolicyDrop(flow, [np('open', 'all', { podSelector: {}, ingress: [{}], egress: [{}] })]).explanation).toBe(
      `${NONE}: egress from pod open/web-1 is allowed by policy all; ingress to pod open/web-2 is allowed by policy all`,
    );
    expect([...policyDirections(np('open', 'p', { podSelector: {}, egress: [] }))]).toEqual(['ingress']);
    expect([...policyDirections(np('open', 'p', { podSelector: {}, egress: [{}] }))]).toEqual(['ingress', 'egress']);
    expect([...policyDirections(np('open', 'p', { podSelector: {}, policyTypes: ['Egress'], ingress: [{}] }))]).toEqual(['egress']);
  });
});

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'front' };
  it.each([
    [{}, true],
    [{ matchLabels: { app: 'web' } }, true],
    [{ matchLabels: { app: 'web', tier: 'back' } }, false],
    [{ matchExpressions: [{ key: 'app', operator: 'In', values: ['db', 'web'] }] }, true],
    [{ matchExpressions: [{ key: 'app', operator: 'In', values: ['db'] }] }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, true],
    [{ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, true],
    [{ matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, true],
    [{ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, false],
    [{ matchExpressions: [{ key: 'app', operator: 'Gt', values: ['1'] }] }, false],
  ])('%j -> %s', (selector, want) => {
    expect(selectorMatches(selector, labels)).toBe(want);
  });
});
