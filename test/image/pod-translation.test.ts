import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderChart, type K8sObject } from '../common/chart.js';
import { podmanRunArgs } from '../common/podman.js';

/**
 * The translation of the rendered DaemonSet pod into `podman run` options that
 * test/image/container.test.ts runs (no kernel, no podman here): every
 * privilege-relevant field carried over, and a field it does not know refused.
 */

const tmp = mkdtempSync(join(tmpdir(), 'flowlens-pod-translation-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function rendered(): { daemonSet: K8sObject; configMaps: K8sObject[] } {
  const { objects } = renderChart();
  return {
    daemonSet: objects.find((o) => o.object.kind === 'DaemonSet')!.object,
    configMaps: objects.filter((o) => o.object.kind === 'ConfigMap').map((o) => o.object),
  };
}

const opts = { workDir: tmp, nodeName: 'node-a', runtimeDefaultSeccomp: '/profile.json' };

describe('the chart\'s pod as podman run options', () => {
  it('carries the security context, mounts, host network, environment and arguments of the default render', () => {
    const { daemonSet, configMaps } = rendered();
    const pod = podmanRunArgs(daemonSet, configMaps, opts);
    const args = pod.runArgs.join(' ');
    expect(args).toContain('--network host');
    expect(args).toContain('--security-opt seccomp=/profile.json');
    expect(args).toContain('--security-opt no-new-privileges');
    expect(args).toContain('--read-only --read-only-tmpfs=false');
    expect(args).toContain('--user 0:0');
    expect(args).toContain('--cap-drop ALL --cap-add CAP_BPF --cap-add CAP_PERFMON --cap-add CAP_NET_ADMIN');
    expect(args).toContain('-v /sys/kernel/btf:/sys/kernel/btf:ro');
    expect(args).toContain('-v /sys/fs/bpf:/sys/fs/bpf ');
    expect(args).toContain(`--tmpfs /tmp:rw,size=${16 * 1024 * 1024},mode=1777`);
    expect(args).toContain('-e FLOWLENS_NODE_NAME=node-a');
    expect(args).toMatch(/ghcr\.io\/flowlens\/flowlens:\S+ run --config=\/etc\/flowlens\/config\.yaml$/);
    expect(pod.capabilities).toEqual(['BPF', 'PERFMON', 'NET_ADMIN']);
    // the ConfigMap's file, mounted read-only where the chart mounts it
    const config = /-v (\S+):\/etc\/flowlens:ro/.exec(args)![1]!;
    expect(readFileSync(join(config, 'config.yaml'), 'utf8')).toContain('pinPath: /sys/fs/bpf/flowlens');
  });

  it('leaves out a capability when asked, and only that one', () => {
    const { daemonSet, configMaps } = rendered();
    const args = podmanRunArgs(daemonSet, configMaps, { ...opts, withoutCapabilities: ['PERFMON'] }).runArgs.join(' ');
    expect(args).toContain('--cap-drop ALL --cap-add CAP_BPF --cap-add CAP_NET_ADMIN');
    expect(args).not.toContain('PERFMON');
  });

  it('refuses a field it does not translate, naming it', () => {
    const { daemonSet, configMaps } = rendered();
    const spec = (daemonSet as unknown as { spec: { template: { spec: { containers: Array<{ securityContext: Record<string, unknown> }> } } } }).spec.template.spec;
    spec.containers[0]!.securityContext.seLinuxOptions = { type: 'spc_t' };
    expect(() => podmanRunArgs(daemonSet, configMaps, opts)).toThrow('does not translate container securityContext.seLinuxOptions');
  });
});
