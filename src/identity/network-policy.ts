// Kubernetes NetworkPolicy (networking.k8s.io/v1) evaluated for one dropped
// packet, to say whether a policy explains the drop. Pure: the caller hands
// in the policies and what is known about both ends; nothing here does I/O.
//
// The semantics are the API's:
//   - a policy selects the pods of its own namespace that its podSelector
//     matches (an empty selector: every pod of the namespace);
//   - it applies to the directions in spec.policyTypes; without them, to
//     Ingress always and to Egress when it has egress rules (what the API
//     server fills in on create);
//   - a pod selected for a direction by at least one policy is isolated in
//     that direction: a packet passes only if some rule of some selecting
//     policy allows its peer and port (rules are unioned, never subtracted);
//   - a rule's peers (from/to) and ports each match everything when absent
//     or empty; a peer is a podSelector (this namespace), a
//     namespaceSelector (every pod of those namespaces), both (those pods
//     in those namespaces), or an ipBlock (cidr minus except);
//   - a port is a number (with endPort: a range) or a name, resolved against
//     the destination pod's containerPorts; protocol defaults to TCP.
// Traffic from or to the node, host-network pods or addresses with no pod is
// matched by ipBlock only; an ipBlock matches pod addresses too (as Calico
// does; the API leaves it to the implementation).
//
// A flow needs both egress at its source and ingress at its destination, so
// both are evaluated; the packet's own direction is taken as the flow's (a
// policy drop of a reply means the connection was never tracked as allowed).

import { cidrContains, parseAddress, tryParseCidr } from '../net/cidr.js';
import { reservedName, type Identity } from './identity.js';
import { NAMESPACE_LABEL_PREFIX } from './kube-derive.js';

// --- the parts of a NetworkPolicy that are read --------------------------------

export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector | null;
  namespaceSelector?: LabelSelector | null;
  ipBlock?: { cidr: string; except?: string[] } | null;
}

export interface NetworkPolicyPort {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}

export interface NetworkPolicyIngressRule {
  from?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

export interface NetworkPolicyEgressRule {
  to?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

export interface NetworkPolicy {
  metadata?: { name?: string; namespace?: string };
  spec?: {
    podSelector?: LabelSelector;
    policyTypes?: string[];
    ingress?: NetworkPolicyIngressRule[];
    egress?: NetworkPolicyEgressRule[];
  };
}

// --- the flow ---------------------------------------------------------------------

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}

/** A pod as policies see it. */
export interface PolicyPod {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  namespaceLabels: Record<string, string>;
  /** Every container's ports: named ports resolve against these. */
  containerPorts: ContainerPort[];
}

export interface FlowEnd {
  /** Textual IPv4 or IPv6 address. */
  address: string;
  /** The security identity the datapath attributed (0: unknown). */
  identity: number;
  /** What that identity is, for the explanation: "ns client, app=client", "reserved:world" (describeIdentity). */
  identityText: string;
  /** The pod at this address; absent for nodes, host-network pods, services and anything outside the cluster. */
  pod?: PolicyPod;
}

export interface PolicyFlow {
  source: FlowEnd;
  destination: FlowEnd;
  /** IP protocol number (6 TCP, 17 UDP, 132 SCTP, 1 ICMP, ...). */
  protocol: number;
  /** Destination port; 0 for protocols without ports. */
  port: number;
}

// --- the result ---------------------------------------------------------------------

export type PolicyDirection = 'ingress' | 'egress';

export interface SelectingPolicy {
  namespace: string;
  name: string;
  /** The policy has no rule for this direction: it denies everything there. */
  defaultDeny: boolean;
}

export interface AllowingRule {
  namespace: string;
  name: string;
  /** Index of the rule in the policy's ingress or egress list. */
  rule: number;
}

export interface DirectionVerdict {
  direction: PolicyDirection;
  /** The pod the direction is about (egress: the source, ingress: the destination); null when that end is no known pod. */
  pod: { namespace: string; name: string } | null;
  /** Policies that select the pod for this direction, by name. */
  policies: SelectingPolicy[];
  /** Rules that allow this packet's peer and port. */
  allowedBy: AllowingRule[];
  /**
   * 'denied': selected, and no rule allows the packet; 'allowed': a rule does;
   * 'not-selected': no policy selects the pod for this direction; 'no-pod': that end is no known pod.
   */
  verdict: 'denied' | 'allowed' | 'not-selected' | 'no-pod';
}

export interface DropPolicyExplanation {
  /** 'denied': a NetworkPolicy explains the drop; 'unexplained': none does; 'unknown': policies not known yet. */
  verdict: 'denied' | 'unexplained' | 'unknown';
  explanation: string;
  egress: DirectionVerdict;
  ingress: DirectionVerdict;
}

// --- evaluation ----------------------------------------------------------------------

/** True when the selector matches the labels; an empty selector matches everything. */
export function selectorMatches(selector: LabelSelector | null | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, req.key);
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In':
        if (!has || !values.includes(labels[req.key]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[req.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        // an operator the API does not define selects nothing (the API server rejects it anyway)
        return false;
    }
  }
  return true;
}

/** The directions a policy applies to: spec.policyTypes, or the API's default without them. */
export function policyDirections(policy: NetworkPolicy): Set<PolicyDirection> {
  const types = policy.spec?.policyTypes;
  if (types && types.length > 0) {
    const out = new Set<PolicyDirection>();
    for (const t of types) {
      if (t === 'Ingress') out.add('ingress');
      else if (t === 'Egress') out.add('egress');
    }
    return out;
  }
  const out = new Set<PolicyDirection>(['ingress']);
  if ((policy.spec?.egress ?? []).length > 0) out.add('egress');
  return out;
}

/** The policy selects this pod (its namespace, its podSelector). */
export function policySelects(policy: NetworkPolicy, pod: PolicyPod): boolean {
  return (policy.metadata?.namespace ?? '') === pod.namespace && selectorMatches(policy.spec?.podSelector, pod.labels);
}

function peerMatches(peer: NetworkPolicyPeer, policyNamespace: string, end: FlowEnd): boolean {
  if (peer.ipBlock) {
    const address = parseAddress(end.address);
    const block = tryParseCidr(peer.ipBlock.cidr);
    if (!address || !block.ok || !cidrContains(block.cidr, address)) return false;
    for (const text of peer.ipBlock.except ?? []) {
      const except = tryParseCidr(text);
      if (except.ok && cidrContains(except.cidr, address)) return false;
    }
    return true;
  }
  const pod = end.pod;
  if (!pod) return false; // selectors select pods only
  if (!peer.podSelector && !peer.namespaceSelector) return false; // an empty peer is invalid
  if (peer.namespaceSelector) {
    if (!selectorMatches(peer.namespaceSelector, pod.namespaceLabels)) return false;
  } else if (pod.namespace !== policyNamespace) {
    return false;
  }
  return selectorMatches(peer.podSelector, pod.labels);
}

const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = { TCP: 6, UDP: 17, SCTP: 132 };

function portMatches(rulePort: NetworkPolicyPort, flow: PolicyFlow): boolean {
  const protocol = PROTOCOL_NUMBERS[(rulePort.protocol ?? 'TCP').toUpperCase()];
  if (protocol === undefined || protocol !== flow.protocol) return false;
  const port = rulePort.port;
  if (port === undefined || port === null) return true;
  if (typeof port === 'number') {
    const end = rulePort.endPort ?? port;
    return flow.port >= port && flow.port <= end;
  }
  if (/^[0-9]+$/.test(port)) return flow.port === Number(port);
  // a named port is the destination pod's: some container's port of that name, protocol and number
  const dst = flow.destination.pod;
  if (!dst) return false;
  return dst.containerPorts.some(
    (cp) => cp.name === port && cp.containerPort === flow.port && PROTOCOL_NUMBERS[(cp.protocol ?? 'TCP').toUpperCase()] === protocol,
  );
}

function evaluateDirection(direction: PolicyDirection, policies: readonly NetworkPolicy[], flow: PolicyFlow): DirectionVerdict {
  const pod = direction === 'ingress' ? flow.destination.pod : flow.source.pod;
  const peer = direction === 'ingress' ? flow.source : flow.destination;
  if (!pod) return { direction, pod: null, policies: [], allowedBy: [], verdict: 'no-pod' };
  const selecting: SelectingPolicy[] = [];
  const allowedBy: AllowingRule[] = [];
  const sorted = [...policies].sort((a, b) => compare(a.metadata?.name ?? '', b.metadata?.name ?? ''));
  for (const policy of sorted) {
    if (!policySelects(policy, pod) || !policyDirections(policy).has(direction)) continue;
    const namespace = policy.metadata?.namespace ?? '';
    const name = policy.metadata?.name ?? '';
    const rules = direction === 'ingress'
      ? (policy.spec?.ingress ?? []).map((r) => ({ peers: r.from, ports: r.ports }))
      : (policy.spec?.egress ?? []).map((r) => ({ peers: r.to, ports: r.ports }));
    selecting.push({ namespace, name, defaultDeny: rules.length === 0 });
    rules.forEach((rule, index) => {
      const peers = rule.peers;
      const peerOk = !peers || peers.length === 0 || peers.some((p) => peerMatches(p, namespace, peer));
      const portOk = !rule.ports || rule.ports.length === 0 || rule.ports.some((p) => portMatches(p, flow));
      if (peerOk && portOk) allowedBy.push({ namespace, name, rule: index });
    });
  }
  const verdict = selecting.length === 0 ? 'not-selected' : allowedBy.length > 0 ? 'allowed' : 'denied';
  return { direction, pod: { namespace: pod.namespace, name: pod.name }, policies: selecting, allowedBy, verdict };
}

/**
 * Which policies select the source (egress) and the destination (ingress),
 * whether any allows the packet, and one sentence saying so.
 */
export function explainPolicyDrop(flow: PolicyFlow, policies: readonly NetworkPolicy[]): DropPolicyExplanation {
  const egress = evaluateDirection('egress', policies, flow);
  const ingress = evaluateDirection('ingress', policies, flow);
  const denied = [egress, ingress].filter((d) => d.verdict === 'denied');
  if (denied.length > 0) {
    const clauses = denied.map((d) => {
      const peer = d.direction === 'ingress' ? flow.source : flow.destination;
      return `namespace ${d.pod!.namespace} has ${policiesText(d.policies)} selecting pod ${d.pod!.name} (${d.direction}); ` +
        `no rule allows ${endText(peer)} on ${portText(flow)}`;
    });
    return { verdict: 'denied', explanation: `denied: ${clauses.join('; and ')}`, egress, ingress };
  }
  return { verdict: 'unexplained', explanation: `${UNEXPLAINED}: ${[egressReason(egress, flow), ingressReason(ingress, flow)].join('; ')}`, egress, ingress };
}

export const UNEXPLAINED = 'no NetworkPolicy explains this drop';

/** The answer while the policies have not been listed yet. */
export function unknownPolicyExplanation(flow: PolicyFlow, why: string): DropPolicyExplanation {
  const blank = (direction: PolicyDirection, end: FlowEnd): DirectionVerdict => ({
    direction,
    pod: end.pod ? { namespace: end.pod.namespace, name: end.pod.name } : null,
    policies: [],
    allowedBy: [],
    verdict: end.pod ? 'not-selected' : 'no-pod',
  });
  return {
    verdict: 'unknown',
    explanation: `NetworkPolicies unknown: ${why}`,
    egress: blank('egress', flow.source),
    ingress: blank('ingress', flow.destination),
  };
}

// --- text ---------------------------------------------------------------------------

function policiesText(policies: SelectingPolicy[]): string {
  if (policies.length === 1) return `${policies[0]!.defaultDeny ? 'default-deny ' : ''}policy ${policies[0]!.name}`;
  return `policies ${policies.map((p) => `${p.name}${p.defaultDeny ? ' (default-deny)' : ''}`).join(', ')}`;
}

function endText(end: FlowEnd): string {
  return `identity ${end.identity} (${end.identityText}${end.pod ? '' : `, ${end.address}`})`;
}

const PROTOCOL_NAMES: Readonly<Record<number, string>> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 132: 'sctp' };

/** "tcp/8080", "udp/53", "icmp", "proto 47". */
export function portText(flow: Pick<PolicyFlow, 'protocol' | 'port'>): string {
  const name = PROTOCOL_NAMES[flow.protocol] ?? `proto ${flow.protocol}`;
  return flow.protocol === 6 || flow.protocol === 17 || flow.protocol === 132 ? `${name}/${flow.port}` : name;
}

function allowedText(d: DirectionVerdict): string {
  const names = [...new Set(d.allowedBy.map((a) => a.name))];
  return `${names.length === 1 ? 'policy' : 'policies'} ${names.join(', ')}`;
}

function egressReason(d: DirectionVerdict, flow: PolicyFlow): string {
  if (d.verdict === 'no-pod') return `source ${flow.source.address} is not a known pod`;
  const pod = `${d.pod!.namespace}/${d.pod!.name}`;
  if (d.verdict === 'not-selected') return `no policy selects pod ${pod} for egress`;
  return `egress from pod ${pod} is allowed by ${allowedText(d)}`;
}

function ingressReason(d: DirectionVerdict, flow: PolicyFlow): string {
  if (d.verdict === 'no-pod') return `destination ${flow.destination.address} is not a known pod`;
  const pod = `${d.pod!.namespace}/${d.pod!.name}`;
  if (d.verdict === 'not-selected') return `no policy selects pod ${pod} for ingress`;
  return `ingress to pod ${pod} is allowed by ${allowedText(d)}`;
}

/**
 * An identity as the explanation shows it: "ns client, app=client" for a
 * workload (its namespace and pod labels; the joined namespace labels are
 * left out), "reserved:world" for reserved numbers, "unknown" otherwise.
 */
export function describeIdentity(id: number, identity: Identity | undefined): string {
  const reserved = reservedName(id);
  if (reserved) return reserved;
  if (!identity) return 'unknown';
  if (identity.name && !identity.namespace) return identity.name;
  const labels = Object.entries(identity.labels)
    .filter(([k]) => !k.startsWith(NAMESPACE_LABEL_PREFIX))
    .sort(([a], [b]) => compare(a, b))
    .map(([k, v]) => `${k}=${v}`);
  return [`ns ${identity.namespace}`, ...labels].join(', ');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
