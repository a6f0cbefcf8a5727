import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExporterProcess, waitFor } from '../common/exporter.js';
import { apiserverSliceObj, FakeApiServer, namespaceObj, nodeObj, ownedObj, podObj, serviceObj } from '../common/fake-apiserver.js';
import { runTag, TestNetwork, type TestHost } from '../common/netns.js';
import { sumOf, type Sample } from '../common/prom.js';
import { udpDatagrams } from '../common/traffic.js';

/**
 * The exporter started with --kubeconfig, its identities coming from a fake
 * kube-apiserver (test/common/fake-apiserver.ts: no real API server can run
 * on the test machine; this one speaks the list/watch protocol on loopback).
 * Three pods in network namespaces ("client", "frontend", "backend", each in
 * its own Kubernetes namespace) and one address inside the node's pod CIDR
 * with no pod; UDP traffic with known packet counts; metrics scraped over HTTP.
 */

const UDP_PORT = 9000;
const tag = runTag();
const prefix = `fk${tag}`;
let net: TestNetwork;
let hosts: Record<'client' | 'frontend' | 'backend' | 'stray', TestHost>;
let api: FakeApiServer;
let exporter: ExporterProcess | undefined;
let tmp: string;
let kubeconfig: string;

function value(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  const s = samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value;
}

async function metric(name: string, labels: Record<string, string>): Promise<number | undefined> {
  return value(await exporter!.samples(), name, labels);
}

beforeAll(async () => {
  net = new TestNetwork(prefix, '10.227.0');
  hosts = {
    client: net.addHost('cli', 2),
    frontend: net.addHost('fe', 3),
    backend: net.addHost('be', 4),
    stray: net.addHost('str', 9),
  };
  tmp = mkdtempSync(join(tmpdir(), 'flowlens-e2e-k8s-'));
  kubeconfig = join(tmp, 'kubeconfig');
  api = new FakeApiServer();
  await api.start();
  api.writeKubeconfig(kubeconfig);
  api.apply('namespaces', namespaceObj('tools'));
  api.apply('namespaces', namespaceObj('shop'));
  api.apply('namespaces', namespaceObj('data'));
  api.apply('namespaces', namespaceObj('default'));
  api.apply('nodes', nodeObj('node-a', ['10.227.5.1'], ['10.227.0.0/24']));
  api.apply('endpointslices', apiserverSliceObj(['10.227.5.100']));
  api.apply('services', serviceObj('default', 'kubernetes', ['10.227.6.1']));
  api.apply('replicasets', ownedObj('shop', 'frontend-6b7c8', { kind: 'Deployment', name: 'frontend' }));
  api.apply('pods', podObj({ namespace: 'tools', name: 'client', ips: [hosts.client.address], labels: { app: 'client' } }));
  api.apply('pods', podObj({
    namespace: 'shop', name: 'frontend-6b7c8-q2x9z', ips: [hosts.frontend.address],
    labels: { app: 'frontend', 'pod-template-hash': '6b7c8' }, owner: { kind: 'ReplicaSet', name: 'frontend-6b7c8' },
  }));
  api.apply('pods', podObj({
    namespace: 'data', name: 'backend-0', ips: [hosts.backend.address],
    labels: { app: 'backend', 'statefulset.kubernetes.io/pod-name': 'backend-0' }, owner: { kind: 'StatefulSet', name: 'backend' },
  }));
});

afterAll(async () => {
  exporter?.kill();
  net?.cleanup();
  await api?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('exporter with the Kubernetes identity source (fake kube-apiserver, network namespaces)', () => {
  it('is not ready until the first sync, then serves the source as up', async () => {
    // the API server is away when the exporter starts: it runs, but is not ready
    await api.stop();
    exporter = new ExporterProcess([
      '--interface', `${prefix}*`, '--kubeconfig', kubeconfig, '--node-name', 'node-a', '--log-level', 'debug',
    ]);
    const notReady = await waitFor('a 503 from /readyz', 30_000, () => exporter!.output, async () => {
      if (exporter!.child.exitCode !== null) throw new Error(`exporter exited:\n${exporter!.output}`);
      const res = await fetch(`${exporter!.base}/readyz`).catch(() => undefined);
      return res?.status === 503 ? ((await res.json()) as { reasons: string[] }) : undefined;
    });
    expect(notReady.reasons[0]).toMatch(/^waiting for the first sync with the Kubernetes API server \(/);
    expect(await metric('flowlens_identity_source_up', { source: 'kubernetes' })).toBe(0);

    await api.start();
    await exporter.ready();
    await waitFor('source up', 30_000, () => exporter!.output, async () =>
      (await metric('flowlens_identity_source_up', { source: 'kubernetes' })) === 1 ? true : undefined);
    expect(await metric('flowlens_identities', { source: 'kubernetes' })).toBe(3);
    expect(await metric('flowlens_identity_last_sync_timestamp_seconds', { source: 'kubernetes' })).toBeGreaterThan(1.7e9);
  });

  it('counts flows by the pods\' namespaces and workloads, and the stray address as unmanaged', async () => {
    udpDatagrams(hosts.client, hosts.frontend, UDP_PORT, 4);
    udpDatagrams(hosts.client, hosts.backend, UDP_PORT, 5);
    udpDatagrams(hosts.stray, hosts.backend, UDP_PORT, 6);
    const packets = (src: Record<string, string>, dst: Record<string, string>, direction: string) => async () => {
      const s = await exporter!.samples();
      const match: Record<string, string> = { protocol: 'udp', direction };
      for (const [k, v] of Object.entries(src)) match[`source_${k}`] = v;
      for (const [k, v] of Object.entries(dst)) match[`destination_${k}`] = v;
      return sumOf(s, 'flowlens_packets_total', match);
    };
    const client = { namespace: 'tools', workload: 'client' };
    const frontend = { namespace: 'shop', workload: 'frontend' };
    const backend = { namespace: 'data', workload: 'backend' };
    const unmanaged = { namespace: '', workload: 'reserved:unmanaged', identity: 'reserved:unmanaged' };
    await waitFor('counts', 30_000, () => exporter!.output, async () =>
      (await packets(client, frontend, 'egress')()) === 4 && (await packets(unmanaged, backend, 'ingress')()) === 6 ? true : undefined);
    expect(await packets(client, frontend, 'egress')()).toBe(4);
    expect(await packets(client, frontend, 'ingress')()).toBe(4);
    expect(await packets(client, backend, 'egress')()).toBe(5);
    expect(await packets(client, backend, 'ingress')()).toBe(5);
    expect(await packets(unmanaged, backend, 'ingress')()).toBe(6);
    // one flow each (one socket per sender), counted where it leaves and where it enters
    const s = await exporter!.samples();
    expect(sumOf(s, 'flowlens_flows_total', { source_workload: 'client', destination_workload: 'frontend', protocol: 'udp' })).toBe(2);
    // the stray address's interface is attached too, so its flow is seen leaving it as well as entering the backend
    expect(sumOf(s, 'flowlens_flows_total', { source_workload: 'reserved:unmanaged', destination_workload: 'backend', protocol: 'udp', direction: 'egress' })).toBe(1);
    expect(sumOf(s, 'flowlens_flows_total', { source_workload: 'reserved:unmanaged', destination_workload: 'backend', protocol: 'udp', direction: 'ingress' })).toBe(1);
    expect(sumOf(s, 'flowlens_unknown_source_flows_total', { source_class: 'unmanaged', destination_workload: 'backend' })).toBe(1);
  });

  it('reports the source down when the API server goes away, keeps its identities, and recovers', async () => {
    await api.stop();
    await waitFor('source down', 30_000, () => exporter!.output, async () =>
      (await metric('flowlens_identity_source_up', { source: 'kubernetes' })) === 0 ? true : undefined);
    expect(await metric('flowlens_identities', { source: 'kubernetes' })).toBe(3);
    const res = await fetch(`${exporter!.base}/readyz`);
    expect(res.status).toBe(200); // it keeps working on what it has

    await api.start();
    await waitFor('source up again', 30_000, () => exporter!.output, async () =>
      (await metric('flowlens_identity_source_up', { source: 'kubernetes' })) === 1 ? true : undefined);
    expect(await metric('flowlens_identity_watch_restarts_total', { source: 'kubernetes' })).toBeGreaterThanOrEqual(5);
    expect(await exporter!.terminate()).toBe(0);
  });

  it('stops at start-up with the error naming an unknown context', async () => {
    const bad = new ExporterProcess(['--interface', `${prefix}*`, '--kubeconfig', kubeconfig, '--kube-context', 'staging']);
    const code = await new Promise<number | null>((r) => bad.child.once('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(bad.output).toContain(`context "staging" is not defined in kubeconfig ${kubeconfig} (it has: fake)`);
    expect(bad.output).toContain('FLOWLENS_ERR_KUBE_CONTEXT_UNKNOWN');
  });
});
