// The chart's DaemonSet pod, run by podman on this machine: a translation of
// the rendered pod spec into `podman run` options, for the container test
// (test/image). Every field of the pod and container is either translated or
// refused, so that a field the chart starts to render cannot be left out of
// the test silently: the test then fails naming it, and this file learns it.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, type K8sObject } from './chart.js';

/** image/podman.sh: podman with the options this host needs (runtime, cgroup manager, rlimits). */
export const PODMAN = join(REPO_ROOT, 'image', 'podman.sh');

export function podman(args: string[], timeoutMs = 120_000): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(PODMAN, args, { encoding: 'utf8', timeout: timeoutMs });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

type Json = Record<string, unknown>;

interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  args?: string[];
  command?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  ports?: Array<{ name?: string; containerPort: number; protocol?: string }>;
  livenessProbe?: Json;
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  startupProbe?: Json;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Json;
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}

interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Array<{ name: string } & Json>;
  securityContext?: Json;
  hostNetwork?: boolean;
  hostPID?: boolean;
  terminationGracePeriodSeconds?: number;
  [key: string]: unknown;
}

/** What the test needs of the rendered DaemonSet besides the podman options. */
export interface PodmanPod {
  /** `podman run` options, image and arguments, without the container name. */
  runArgs: string[];
  /** The container's capabilities.add, as the chart renders them (e.g. BPF). */
  capabilities: string[];
  /** Where the readiness probe asks, on the host (hostNetwork). */
  readyUrl: string;
  metricsUrl: string;
  /** terminationGracePeriodSeconds: podman stop's timeout. */
  stopSeconds: number;
}

export interface TranslateOptions {
  /** Directory for the files of configMap volumes. */
  workDir: string;
  /** spec.nodeName for the downward API. */
  nodeName: string;
  /** A seccomp profile file that stands for RuntimeDefault (see runtimeDefaultSeccomp). */
  runtimeDefaultSeccomp: string;
  /** Host paths replaced by others, e.g. to stand for a host without bpffs mounted. */
  hostPathOverrides?: Record<string, string>;
  /** Capabilities left out of capabilities.add (the test removes one at a time). */
  withoutCapabilities?: string[];
}

// Pod fields that only matter to the Kubernetes scheduler or API, not to how the container runs on the node.
const SCHEDULING_FIELDS = new Set([
  'serviceAccountName', 'automountServiceAccountToken', 'dnsPolicy', 'priorityClassName', 'imagePullSecrets',
  'nodeSelector', 'affinity', 'tolerations',
]);

/** Kubernetes quantities of memory (Mi, Gi, Ki, M, G, plain bytes) in bytes. */
export function bytesOf(quantity: string): number {
  const m = /^(\d+)(Ki|Mi|Gi|K|M|G)?$/.exec(quantity);
  if (!m) throw new Error(`unsupported quantity ${quantity}`);
  const unit = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, K: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

/** Kubernetes CPU quantities ("1", "500m") in CPUs. */
function cpusOf(quantity: string): number {
  const m = /^(\d+)(m)?$/.exec(quantity);
  if (!m) throw new Error(`unsupported CPU quantity ${quantity}`);
  return m[2] ? Number(m[1]) / 1000 : Number(m[1]);
}

function refuse(what: string): never {
  throw new Error(`test/common/podman.ts does not translate ${what}: teach it, or the container test would not run what the chart renders`);
}

/**
 * The rendered DaemonSet and ConfigMap as `podman run` options: security
 * context, capabilities, volumes, host network, environment, arguments and
 * limits, each taken from the objects.
 */
export function podmanRunArgs(daemonSet: K8sObject, configMaps: K8sObject[], opts: TranslateOptions): PodmanPod {
  const pod = (daemonSet as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
  if (pod.initContainers?.length) refuse('initContainers');
  if (pod.containers.length !== 1) refuse(`${pod.containers.length} containers`);
  const c = pod.containers[0]!;
  const out: string[] = [];

  for (const key of Object.keys(pod)) {
    if (SCHEDULING_FIELDS.has(key) || ['containers', 'volumes', 'securityContext', 'hostNetwork', 'hostPID', 'terminationGracePeriodSeconds'].includes(key)) continue;
    refuse(`pod spec field ${key}`);
  }
  // The programs attach in the node's network namespace; the PID namespace stays the container's own.
  if (pod.hostNetwork === true) out.push('--network', 'host');
  else refuse('a pod without hostNetwork');
  if (pod.hostPID) out.push('--pid', 'host');

  // Pod security context: the seccomp and AppArmor profiles.
  for (const [key, value] of Object.entries(pod.securityContext ?? {})) {
    if (key === 'appArmorProfile') {
      out.push(...appArmorOptions(value as { type: string; localhostProfile?: string }));
      continue;
    }
    if (key !== 'seccompProfile') refuse(`pod securityContext.${key}`);
    const type = (value as { type: string }).type;
    if (type === 'RuntimeDefault') out.push('--security-opt', `seccomp=${opts.runtimeDefaultSeccomp}`);
    else if (type === 'Unconfined') out.push('--security-opt', 'seccomp=unconfined');
    else refuse(`seccompProfile type ${type}`);
  }

  // Container security context.
  const capabilities: string[] = [];
  for (const [key, value] of Object.entries(c.securityContext ?? {})) {
    switch (key) {
      case 'privileged':
        if (value === true) out.push('--privileged');
        break;
      case 'allowPrivilegeEscalation':
        if (value === false) out.push('--security-opt', 'no-new-privileges');
        break;
      case 'readOnlyRootFilesystem':
        // podman's --read-only would add tmpfs on /tmp, /var/tmp and /run: only the pod's volumes are writable
        if (value === true) out.push('--read-only', '--read-only-tmpfs=false');
        break;
      case 'runAsUser':
        out.push('--user', `${value}:${(c.securityContext as { runAsGroup?: number }).runAsGroup ?? value}`);
        break;
      case 'runAsGroup':
      case 'runAsNonRoot':
        break; // with runAsUser; runAsNonRoot false checks nothing
      case 'appArmorProfile':
        out.push(...appArmorOptions(value as { type: string; localhostProfile?: string }));
        break;
      case 'capabilities': {
        const caps = value as { drop?: string[]; add?: string[] };
        for (const d of caps.drop ?? []) out.push('--cap-drop', d === 'ALL' ? 'ALL' : `CAP_${d}`);
        for (const a of caps.add ?? []) {
          capabilities.push(a);
          if (!(opts.withoutCapabilities ?? []).includes(a)) out.push('--cap-add', `CAP_${a}`);
        }
        break;
      }
      default:
        refuse(`container securityContext.${key}`);
    }
  }
  if (!('privileged' in (c.securityContext ?? {}))) refuse('a container without securityContext.privileged');

  // Volumes.
  const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
  for (const mount of c.volumeMounts ?? []) {
    const volume = volumes.get(mount.name) ?? refuse(`volumeMount ${mount.name} without a volume`);
    const ro = mount.readOnly ? ':ro' : '';
    if ('configMap' in volume) {
      const name = (volume.configMap as { name: string }).name;
      const cm = configMaps.find((o) => o.metadata.name === name) ?? refuse(`configMap ${name} that the chart does not render`);
      const dir = join(opts.workDir, `configmap-${mount.name}`);
      spawnSync('mkdir', ['-p', dir]);
      for (const [file, text] of Object.entries((cm as unknown as { data: Record<string, string> }).data)) writeFileSync(join(dir, file), text);
      out.push('-v', `${dir}:${mount.mountPath}:ro`);
    } else if ('hostPath' in volume) {
      const hp = volume.hostPath as { path: string; type?: string };
      if (hp.type !== undefined && hp.type !== 'Directory') refuse(`hostPath type ${hp.type}`);
      const path = opts.hostPathOverrides?.[hp.path] ?? hp.path;
      out.push('-v', `${path}:${mount.mountPath}${ro}`);
    } else if ('emptyDir' in volume) {
      const ed = volume.emptyDir as { medium?: string; sizeLimit?: string };
      if (ed.medium !== 'Memory') refuse('an emptyDir on disk');
      out.push('--tmpfs', `${mount.mountPath}:rw,size=${ed.sizeLimit ? bytesOf(ed.sizeLimit) : 0},mode=1777`);
    } else {
      refuse(`volume ${mount.name} of kind ${Object.keys(volume).filter((k) => k !== 'name').join(',')}`);
    }
  }

  // Environment: values, and the node name from the downward API.
  for (const e of c.env ?? []) {
    if (e.value !== undefined) out.push('-e', `${e.name}=${e.value}`);
    else if (e.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName') out.push('-e', `${e.name}=${opts.nodeName}`);
    else refuse(`env ${e.name} from ${JSON.stringify(e.valueFrom)}`);
  }

  // Limits (requests only matter to the scheduler).
  for (const [resource, quantity] of Object.entries(c.resources?.limits ?? {})) {
    if (resource === 'memory') out.push('--memory', String(bytesOf(quantity)));
    else if (resource === 'cpu') out.push('--cpus', String(cpusOf(quantity)));
    else refuse(`limits.${resource}`);
  }

  // The image under the chart's name, as `make image` tags it; never pulled from a registry it names.
  const pull = { Never: 'never', IfNotPresent: 'missing', Always: 'always' }[c.imagePullPolicy ?? 'IfNotPresent'] ?? refuse(`imagePullPolicy ${c.imagePullPolicy}`);
  out.push(`--pull=${pull}`);
  if (c.command) refuse('a command (the image has the entrypoint)');
  out.push(c.image, ...(c.args ?? []));

  // Ports are on the host (hostNetwork); the probe names one by name or number.
  const probe = c.readinessProbe?.httpGet ?? refuse('a readinessProbe without httpGet');
  const port = typeof probe.port === 'number' ? probe.port : (c.ports ?? []).find((p) => p.name === probe.port)?.containerPort;
  if (port === undefined) refuse(`probe port ${probe.port}`);
  return {
    runArgs: out,
    capabilities,
    readyUrl: `http://127.0.0.1:${port}${probe.path}`,
    metricsUrl: `http://127.0.0.1:${port}/metrics`,
    stopSeconds: pod.terminationGracePeriodSeconds ?? 30,
  };
}

/**
 * The seccomp profile that RuntimeDefault stands for in the runtimes the chart
 * names (containerd 1.7, Docker 23, CRI-O): podman's own default profile, with
 * bpf() allowed to a holder of CAP_BPF and perf_event_open() to a holder of
 * CAP_PERFMON, as those runtimes' profiles allow them. podman 4.3 (Debian 12)
 * still gates both on CAP_SYS_ADMIN alone, which predates CAP_BPF (Linux 5.8):
 * with its profile the exporter's bpf() calls fail with EPERM whatever
 * capabilities it holds (the test checks that message too).
 */
export function runtimeDefaultSeccomp(stockProfile: string, out: string): void {
  type Rule = { names: string[]; action: string; includes?: { caps?: string[] }; excludes?: { caps?: string[] }; errnoRet?: number };
  const profile = JSON.parse(readFileSync(stockProfile, 'utf8')) as { syscalls: Rule[] };
  const gated: Record<string, string> = { bpf: 'CAP_BPF', perf_event_open: 'CAP_PERFMON' };
  let errnoRet = 1;
  for (const rule of profile.syscalls) {
    if (rule.action === 'SCMP_ACT_ERRNO' && rule.excludes?.caps?.includes('CAP_SYS_ADMIN')) {
      errnoRet = rule.errnoRet ?? errnoRet;
      rule.names = rule.names.filter((n) => !(n in gated));
    }
  }
  for (const [name, cap] of Object.entries(gated)) {
    profile.syscalls.push({ names: [name], action: 'SCMP_ACT_ALLOW', includes: { caps: [cap] } });
    profile.syscalls.push({ names: [name], action: 'SCMP_ACT_ERRNO', excludes: { caps: ['CAP_SYS_ADMIN', cap] }, errnoRet });
  }
  profile.syscalls = profile.syscalls.filter((r) => r.names.length > 0);
  writeFileSync(out, JSON.stringify(profile, null, 2));
}

/**
 * podman options for a Kubernetes AppArmor profile. On a kernel without
 * AppArmor (this VM's) no profile applies whatever the pod asks, which is what
 * Unconfined and RuntimeDefault mean there too; a Localhost profile cannot be
 * honoured there and is refused.
 */
function appArmorOptions(profile: { type: string; localhostProfile?: string }): string[] {
  const enabled = existsSync('/sys/module/apparmor/parameters/enabled') && readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y';
  if (profile.type === 'Unconfined') return enabled ? ['--security-opt', 'apparmor=unconfined'] : [];
  if (profile.type === 'RuntimeDefault') return [];
  if (profile.type === 'Localhost' && enabled && profile.localhostProfile) return ['--security-opt', `apparmor=${profile.localhostProfile}`];
  return refuse(`appArmorProfile type ${profile.type} on this host`);
}
