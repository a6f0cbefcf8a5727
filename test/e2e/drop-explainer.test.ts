import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveIdentityId } from '../../src/identity/identity.js';
import { ExporterProcess, waitFor } from '../common/exporter.js';
import { FakeApiServer, namespaceObj, networkPolicyObj, nodeObj, podObj } from '../common/fake-apiserver.js';
import { runTag, TestNetwork, type TestHost } from '../common/netns.js';
import { connects, dropTcpPort } from '../common/traffic.js';
import { sumOf } from '../common/prom.js';

/**
 * A real policy drop explained: the kernel drops SYNs with an nftables rule
 * (reason netfilter_drop, class policy) in the "backend" pod's network
 * namespace; the exporter, its pods and NetworkPolicies coming from a fake
 * kube-apiserver (test/common/fake-apiserver.ts: no real API server can run
 * on the test machine; this one speaks the list/watch protocol on loopback),
 * explains each drop event: GET /api/flows has it on the drop records, and
 * it is logged at debug level. Policies added over the watch change the
 * explanation of the next drops.
 */

const PORT = 8080;
const tag = runTag();
const prefix = `fx${tag}`;
let net: TestNetwork;
let client: TestHost;
let backend: TestHost;
let api: FakeApiServer;
let exporter: ExporterProcess | undefined;
let tmp: string;

const CLIENT = deriveIdentityId('client', { app: 'client', 'namespace:kubernetes.io/metadata.name': 'client', 'namespace:team': 'client' }, []);

/**
 * Log lines of this test's policy drops after `from` characters of the exporter's
 * output (the drop tracer sees the whole machine: other tests' drops are logged too).
 */
function policyDropLines(from: number): string[] {
  const tuple = new RegExp(`^\\S+ debug policy drop ${client.address.replaceAll('.', '\\.')}:\\d+ -> ${backend.address.replaceAll('.', '\\.')}:${PORT} tcp `);
  return exporter!.output.slice(from).split('\n').filter((l) => tuple.test(l)).map((l) => l.replace(/^\S+ debug policy drop \S+:\d+ -> /, ''));
}

beforeAll(async () => {
  net = new TestNetwork(prefix, '10.229.1');
  client = net.addHost('cli', 2);
  backend = net.addHost('be', 3);
  dropTcpPort(backend, PORT);
  tmp = mkdtempSync(join(tmpdir(), 'flowlens-e2e-explain-'));
  const kubeconfig = join(tmp, 'kubeconfig');
  api = new FakeApiServer();
  await api.start();
  api.writeKubeconfig(kubeconfig);
  api.apply('namespaces', namespaceObj('client', { team: 'client' }));
  api.apply('namespaces', namespaceObj('shop', { team: 'web' }));
  api.apply('nodes', nodeObj('node-a', ['10.229.2.1'], ['10.229.1.0/24']));
  api.apply('pods', podObj({ namespace: 'client', name: 'client-1', ips: [client.address], labels: { app: 'client' } }));
  api.apply('pods', podObj({
    namespace: 'shop', name: 'backend-7c9f', ips: [backend.address], labels: { app: 'backend' },
    ports: [{ name: 'http', containerPort: PORT, protocol: 'TCP' }],
  }));
  api.apply('networkpolicies', networkPolicyObj('shop', 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] }));
  exporter = new ExporterProcess(['--interface', `${prefix}*`, '--kubeconfig', kubeconfig, '--node-name', 'node-a', '--log-level', 'debug']);
  await exporter.ready();
  await waitFor('the policies listed', 30_000, () => exporter!.output, async () =>
    exporter!.output.includes('kubernetes: listed 1 NetworkPolicies') ? true : undefined);
});

afterAll(async () => {
  exporter?.kill();
  net?.cleanup();
  await api?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('policy drops explained by NetworkPolicies (network namespaces, fake kube-apiserver)', () => {
  it('explains SYNs dropped by the firewall with the default-deny policy that selects the backend', async () => {
    const from = exporter!.output.length;
    expect(connects(client, backend, PORT, 2)).toBe('timeout,timeout');
    const lines = await waitFor('two explained drops', 30_000, () => exporter!.output.slice(from), async () => {
      const l = policyDropLines(from);
      return l.length >= 2 ? l : undefined;
    });
    const want = `${backend.address}:${PORT} tcp (netfilter_drop): denied: namespace shop has default-deny policy deny-all selecting pod backend-7c9f (ingress); ` +
      `no rule allows identity ${CLIENT} (ns client, app=client) on tcp/${PORT}`;
    expect(lines).toEqual([want, want]);
    // the same on the flows API's drop records
    const res = await fetch(`${exporter!.base}/api/flows?type=drop&from_ip=${client.address}&to_ip=${backend.address}&to_port=${PORT}`);
    const { flows } = (await res.json()) as { flows: Array<{ summary: string; drop: unknown; policy?: { verdict: string; explanation: string; ingress: unknown } }> };
    const explanation = want.replace(/^.*?\(netfilter_drop\): /, '');
    expect(flows.map((f) => f.summary)).toEqual(Array(2).fill(`dropped by the kernel: netfilter_drop; ${explanation}`));
    expect(flows[0]!.drop).toEqual({ reason: 'netfilter_drop', reasonClass: 'policy' });
    expect(flows[0]!.policy).toMatchObject({
      verdict: 'denied',
      explanation,
      ingress: { pod: { namespace: 'shop', name: 'backend-7c9f' }, policies: [{ namespace: 'shop', name: 'deny-all', defaultDeny: true }], verdict: 'denied' },
    });
    // the drops are counted by reason, and the explanation is no label
    const samples = await exporter!.samples();
    expect(sumOf(samples, 'flowlens_drops_total', { reason: 'netfilter_drop', reason_class: 'policy', destination_workload: 'backend-7c9f' })).toBe(2);
    expect(samples.some((s) => Object.keys(s.labels).some((k) => /policy|explanation/.test(k)))).toBe(false);
  });

  it('says no NetworkPolicy explains the drop once a policy added over the watch allows the flow', async () => {
    api.apply('networkpolicies', networkPolicyObj('shop', 'allow-client', {
      podSelector: { matchLabels: { app: 'backend' } },
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'client' } } }], ports: [{ port: 'http' }] }],
    }));
    const want = `${backend.address}:${PORT} tcp (netfilter_drop): no NetworkPolicy explains this drop: no policy selects pod client/client-1 for egress; ` +
      'ingress to pod shop/backend-7c9f is allowed by policy allow-client';
    // bounded: the watch event reaches the exporter within a few attempts
    let last: string[] = [];
    for (let attempt = 0; attempt < 20; attempt++) {
      const from = exporter!.output.length;
      expect(connects(client, backend, PORT, 1)).toBe('timeout');
      last = await waitFor('an explained drop', 30_000, () => exporter!.output.slice(from), async () => {
        const l = policyDropLines(from);
        return l.length >= 1 ? l : undefined;
      });
      if (last[0] === want) break;
    }
    expect(last).toEqual([want]);
    expect(await exporter!.terminate()).toBe(0);
  });
});
