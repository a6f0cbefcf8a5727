// Drop events as user-space consumers get them: a policy-class drop (a
// firewall, TC/cgroup program or LSM decided) carries, under `policy`, which
// NetworkPolicies select its source pod (egress) and destination pod
// (ingress) and whether any of them allows the packet, with one sentence
// saying so. Other drops pass unchanged. This is not a metric label: the
// sentence names pods and identities, so it would be unbounded cardinality.

import type { DropEvent } from '../bpf/codecs.js';
import type { ReasonClass } from '../config.js';
import { formatAddress } from '../net/cidr.js';
import type { Identity } from './identity.js';
import {
  describeIdentity,
  explainPolicyDrop,
  portText,
  unknownPolicyExplanation,
  type DropPolicyExplanation,
  type FlowEnd,
  type NetworkPolicy,
  type PolicyFlow,
  type PolicyPod,
} from './network-policy.js';

/** What the explainer reads: KubernetesIdentitySource provides it. */
export interface PolicyContext {
  /** The policies have been listed at least once. */
  readonly networkPoliciesSynced: boolean;
  /** The policies of these namespaces. */
  networkPoliciesIn(namespaces: readonly string[]): readonly NetworkPolicy[];
  policyPodAt(address: string): PolicyPod | undefined;
}

/** A drop event with, for policy-class drops, the NetworkPolicy explanation. */
export type ExplainedDropEvent = DropEvent & { policy?: DropPolicyExplanation };

export interface DropExplainerOptions {
  policies: PolicyContext;
  /** The class of a kernel drop reason (DropReasons.get(reason).reasonClass). */
  reasonClass: (reason: number) => ReasonClass;
  /** Identity numbers to identities, for the text (IdentityStore.resolve). */
  resolve: (id: number) => Identity | undefined;
}

/** "10.0.0.2:40000 -> 10.0.0.3:8080 tcp" ("[fd00::2]:40000 -> ..." for IPv6), for logs. */
export function dropTuple(e: DropEvent): string {
  if (e.family !== 4 && e.family !== 6) return '(no IP header)';
  const bytes = e.family === 4 ? 4 : 16;
  const at = (addr: Buffer, port: number) => {
    const text = formatAddress(addr.subarray(0, bytes));
    return `${e.family === 6 ? `[${text}]` : text}${ported(e.protocol) ? `:${port}` : ''}`;
  };
  return `${at(e.saddr, e.sport)} -> ${at(e.daddr, e.dport)} ${portText({ protocol: e.protocol, port: e.dport }).split('/')[0]}`;
}

function ported(protocol: number): boolean {
  return protocol === 6 || protocol === 17 || protocol === 132;
}

export class DropExplainer {
  /** Policy-class drops seen, and how many a NetworkPolicy explained. */
  explained = 0;
  denied = 0;

  constructor(private readonly opts: DropExplainerOptions) {}

  /** The event, with `policy` added when it is a policy-class drop with readable addresses. */
  explain(event: DropEvent): ExplainedDropEvent {
    if (this.opts.reasonClass(event.reason) !== 'policy') return event;
    const flow = this.flowOf(event);
    if (!flow) return event;
    this.explained++;
    if (!this.opts.policies.networkPoliciesSynced) {
      return { ...event, policy: unknownPolicyExplanation(flow, 'not listed from the Kubernetes API server yet') };
    }
    const namespaces = [flow.source.pod?.namespace, flow.destination.pod?.namespace].filter((ns): ns is string => ns !== undefined);
    const policy = explainPolicyDrop(flow, this.opts.policies.networkPoliciesIn(namespaces));
    if (policy.verdict === 'denied') this.denied++;
    return { ...event, policy };
  }

  private flowOf(e: DropEvent): PolicyFlow | undefined {
    if (e.family !== 4 && e.family !== 6) return undefined; // no IP header was readable
    const bytes = e.family === 4 ? 4 : 16;
    const end = (addr: Buffer, id: number): FlowEnd => {
      const address = formatAddress(addr.subarray(0, bytes));
      const pod = this.opts.policies.policyPodAt(address);
      return { address, identity: id, identityText: describeIdentity(id, this.opts.resolve(id)), ...(pod ? { pod } : {}) };
    };
    return {
      source: end(e.saddr, e.srcIdentity),
      destination: end(e.daddr, e.dstIdentity),
      protocol: e.protocol,
      port: e.dport,
    };
  }
}
