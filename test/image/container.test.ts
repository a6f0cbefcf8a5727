import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { renderChart, type K8sObject } from '../common/chart.js';
import { waitFor } from '../common/exporter.js';
import { runTag, sh, TestNetwork, type TestHost } from '../common/netns.js';
import { podman, podmanRunArgs, runtimeDefaultSeccomp, type PodmanPod, type TranslateOptions } from '../common/podman.js';
import { parsePrometheusText, sumOf } from '../common/prom.js';
import { connects, tcpListener, udpDatagrams, udpListener } from '../common/traffic.js';

/**
 * The image `make image` built, run by podman with exactly what the chart
 * renders for the DaemonSet's pod (test/common/podman.ts translates the
 * rendered object: security context, capabilities, volumes, host network,
 * environment, arguments, limits): it counts the flows between two network
 * namespaces exactly, and removes its attachments when stopped. Then, one
 * capability of the chart's capabilities.add left out at a time, it must stop
 * at once naming that capability; with a seccomp profile that denies bpf() it
 * must say so; and on a host whose /sys/fs/bpf is not a BPF filesystem it
 * must stop with the error that says how to mount it.
 */

const TCP_PORT = 8080;
const UDP_PORT = 9000;
const CONNECTIONS = 5;
const DATAGRAMS = 7;

const tag = runTag();
const prefix = `fl17i${tag.slice(0, 3)}`;
const pinDir = `/sys/fs/bpf/${prefix}`;
let net: TestNetwork;
let client: TestHost;
let server: TestHost;
let tmp: string;
let daemonSet: K8sObject;
let configMaps: K8sObject[];
let translate: TranslateOptions;
let pod: PodmanPod;
const containers: string[] = [];

/** Runs the pod as a container that stays up; returns its name. */
function start(name: string, args: string[]): string {
  containers.push(name);
  const r = podman(['run', '-d', '--name', name, ...args]);
  if (r.status !== 0) throw new Error(`podman run failed: ${r.stderr}`);
  return name;
}

/** Runs the pod to its end (an exporter that must refuse to start): exit status and output. */
function runToExit(name: string, options: Partial<TranslateOptions>): { status: number; output: string } {
  containers.push(name);
  const { runArgs } = podmanRunArgs(daemonSet, configMaps, { ...translate, ...options });
  const r = podman(['run', '--name', name, ...runArgs], 60_000);
  return { status: r.status, output: r.stdout + r.stderr };
}

function logs(name: string): string {
  const r = podman(['logs', name]);
  return r.stdout + r.stderr;
}

function running(name: string): boolean {
  return podman(['inspect', '--format', '{{.State.Running}}', name]).stdout.trim() === 'true';
}

describe('the image, run with what the chart renders (podman, network namespaces, real kernel)', () => {
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'flowlens-image-'));
    net = new TestNetwork(prefix, '10.171.0');
    client = net.addHost('cli', 2);
    server = net.addHost('srv', 3);

    // The chart with the values a user of this node would set: the interfaces, two static identities, a pin directory of its own.
    const values = join(tmp, 'values.yaml');
    writeFileSync(values, stringify({
      interfaces: [`${prefix}*`],
      pinMaps: { enabled: true, path: pinDir },
      staticIdentities: [
        { namespace: 'e2e', workload: 'client', labels: { app: 'client' }, addresses: [`${client.address}/32`] },
        { namespace: 'e2e', workload: 'server', labels: { app: 'server' }, addresses: [`${server.address}/32`] },
      ],
    }));
    const { objects } = renderChart({ values: [values] });
    daemonSet = objects.find((o) => o.object.kind === 'DaemonSet')!.object;
    configMaps = objects.filter((o) => o.object.kind === 'ConfigMap').map((o) => o.object);
    const seccomp = join(tmp, 'runtime-default.json');
    runtimeDefaultSeccomp('/usr/share/containers/seccomp.json', seccomp);
    translate = { workDir: tmp, nodeName: hostname(), runtimeDefaultSeccomp: seccomp };
    pod = podmanRunArgs(daemonSet, configMaps, translate);

    await Promise.all([tcpListener(net, server, TCP_PORT), udpListener(net, server, UDP_PORT)]);
  });

  afterAll(() => {
    for (const name of containers) podman(['rm', '-f', '-t', '0', name]);
    net?.cleanup();
    rmSync(pinDir, { recursive: true, force: true });
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('runs unprivileged: read-only root, every capability dropped but those the chart adds, host network, the chart\'s mounts', () => {
    const sc = (daemonSet as unknown as { spec: { template: { spec: { containers: Array<{ securityContext: Record<string, unknown> }> } } } })
      .spec.template.spec.containers[0]!.securityContext;
    expect(sc).toMatchObject({ privileged: false, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    // the translation carries them (a chart change that drops one fails here before anything runs)
    const args = pod.runArgs.join(' ');
    expect(args).toContain('--cap-drop ALL');
    expect(args).toContain('--read-only --read-only-tmpfs=false');
    expect(args).toContain('--network host');
    expect(args).toContain('--security-opt no-new-privileges');
    expect(args).not.toContain('--privileged');
    expect(pod.capabilities.sort()).toEqual(['BPF', 'NET_ADMIN', 'PERFMON']);
  });

  it('counts the flows between two namespaces exactly, and removes its attachments on stop', async () => {
    const name = start(`${prefix}-full`, pod.runArgs);
    try {
      await waitFor('the container\'s /readyz', 60_000, () => logs(name), async () => {
        if (!running(name)) throw new Error(`the exporter's container stopped:\n${logs(name)}`);
        const res = await fetch(pod.readyUrl).catch(() => undefined);
        return res?.status === 200 ? true : undefined;
      });
      // the container's effective capabilities are exactly the chart's (CapEff of its process 1)
      const capEff = podman(['exec', name, 'grep', '^CapEff', '/proc/1/status']).stdout;
      expect(BigInt('0x' + capEff.split(':')[1]!.trim())).toBe((1n << 12n) | (1n << 38n) | (1n << 39n));

      expect(connects(client, server, TCP_PORT, CONNECTIONS)).toBe(Array(CONNECTIONS).fill('connected').join(','));
      udpDatagrams(client, server, UDP_PORT, DATAGRAMS);

      const m = parsePrometheusText(await (await fetch(pod.metricsUrl)).text());
      const cs = { source_workload: 'client', destination_workload: 'server' };
      for (const direction of ['egress', 'ingress']) {
        expect(sumOf(m, 'flowlens_flows_total', { ...cs, protocol: 'tcp', destination_port: String(TCP_PORT), direction })).toBe(CONNECTIONS);
        // 9000 is not among metrics.destinationPorts: its label is the range
        expect(sumOf(m, 'flowlens_flows_total', { ...cs, protocol: 'udp', direction })).toBe(1);
        expect(sumOf(m, 'flowlens_packets_total', { ...cs, protocol: 'udp', direction })).toBe(DATAGRAMS);
      }
      expect(sumOf(m, 'flowlens_flows_total', { source_workload: 'server' })).toBe(0);
      expect(sumOf(m, 'flowlens_attached_interfaces')).toBe(2);
    } finally {
      // SIGTERM within the grace period (and the next tests need the node to themselves)
      podman(['stop', '-t', String(pod.stopSeconds), name]);
    }
    // exit 0, and no tc filter left on either veth
    expect(podman(['inspect', '--format', '{{.State.ExitCode}}', name]).stdout.trim()).toBe('0');
    for (const dev of [client.hostIf, server.hostIf]) {
      expect(sh('tc', ['filter', 'show', 'dev', dev, 'ingress'])).toBe('');
      expect(sh('tc', ['filter', 'show', 'dev', dev, 'egress'])).toBe('');
    }
  });

  it('without each capability the chart adds, stops at once naming it', () => {
    for (const cap of pod.capabilities) {
      const { status, output } = runToExit(`${prefix}-no-${cap.toLowerCase().replace('_', '')}`, { withoutCapabilities: [cap] });
      expect(status, output).toBe(3);
      expect(output).toContain(`insufficient privileges: missing CAP_${cap}.`);
    }
  });

  it('with a seccomp profile that denies bpf() to all but CAP_SYS_ADMIN, says so', () => {
    const { status, output } = runToExit(`${prefix}-seccomp`, { runtimeDefaultSeccomp: '/usr/share/containers/seccomp.json' });
    expect(status, output).toBe(3);
    expect(output).toContain('loading BPF object flow.bpf.o failed: bpf() was refused (EPERM) although the process holds CAP_BPF');
  });

  it('on a host whose /sys/fs/bpf is not a BPF filesystem, stops with the error that says to mount it', () => {
    const notBpffs = join(tmp, 'no-bpffs');
    mkdirSync(notBpffs);
    const { status, output } = runToExit(`${prefix}-nobpffs`, { hostPathOverrides: { '/sys/fs/bpf': notBpffs } });
    expect(status, output).toBe(6);
    expect(output).toContain('BPF filesystem not usable at /sys/fs/bpf: not mounted, and mounting it failed');
    expect(output).toContain('mount -t bpf bpf /sys/fs/bpf');
  });
});
