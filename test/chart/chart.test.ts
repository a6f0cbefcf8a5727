// The Helm chart (charts/flowlens), rendered with Go's text/template and sprig
// (the engine Helm uses; Helm itself cannot be installed here) for the default
// values and every scenario under charts/flowlens/ci/. Every object is checked
// against the Kubernetes schemas (kubernetes-models, Prometheus Operator kinds
// included), the DaemonSet's security properties are asserted exactly, and the
// exporter configuration the chart renders is loaded with the exporter's own
// schema, so the chart cannot hand the exporter a file it would refuse.

import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { defaultConfig, loadConfig } from '../../src/config.js';
import { parseStaticIdentities } from '../../src/identity/static-source.js';
import { CHART_DIR, REPO_ROOT, mergedValues, renderChart, renderNotes, runRenderer, type K8sObject } from '../common/chart.js';

type Validatable = { validate(): void };
const MODELS: Record<string, new (data: never) => Validatable> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/DaemonSet': DaemonSet,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};
const CLUSTER_SCOPED = new Set(['ClusterRole', 'ClusterRoleBinding']);
const NAMESPACE = 'observability';

const CI_FILES = readdirSync(join(CHART_DIR, 'ci')).filter((f) => f.endsWith('.yaml')).sort();
const SCENARIOS: { name: string; values: string[] }[] = [
  { name: 'defaults', values: [] },
  ...CI_FILES.map((f) => ({ name: f, values: [join(CHART_DIR, 'ci', f)] })),
];

/*
 * Config keys the chart renders for features being built in parallel, which the
 * exporter's schema does not know yet. They are checked to be exactly what the
 * values asked for, and taken out before the exporter's schema sees the file.
 * When the exporter learns one of them, the assertion that it is still unknown
 * fails: then delete it here, and the full check covers it.
 */
const PENDING_CONFIG_KEYS: { path: [string, string]; value: (v: Values) => unknown }[] = [
];

type Values = {
  port: number;
  listenAddress: string;
  logLevel: string;
  interfaces: string[];
  nodeInterfaces: string[];
  clusterCidrs: string[];
  staticIdentities: unknown[];
  otlp: { endpoint: string; headers: { value: string; existingSecret: string; secretKey: string }; serviceNameLabels: string[]; flowLogs: boolean };
  metrics: { contexts: string[]; seriesLimit: number; destinationPorts: number[] };
  datapath: Record<string, unknown>;
  drops: { reasonClasses: Record<string, string> };
  identityLabels: { exclude: string[] };
  pinMaps: { enabled: boolean; path: string };
  raiseMemlockRlimit: boolean;
  seccompProfile: string;
  apiToken: { value: string; existingSecret: string; secretKey: string };
  redaction: { httpPaths: string[] };
  extraConfig: Record<string, unknown>;
  extraArgs: string[];
  serviceAccount: { create: boolean; name: string };
  rbac: { create: boolean };
  service: { enabled: boolean };
  headlessService: { enabled: boolean };
  serviceMonitor: { enabled: boolean };
  prometheusRule: { enabled: boolean };
  dashboards: { enabled: boolean; label: string; labelValue: string; namespace: string };
  tolerations: unknown[];
  image: { repository: string; tag: string };
  fullnameOverride: string;
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

function byKind(objects: { object: K8sObject }[], kind: string): K8sObject[] {
  return objects.map((o) => o.object).filter((o) => o.kind === kind);
}

function only(objects: { object: K8sObject }[], kind: string): Any {
  const found = byKind(objects, kind);
  expect(found, `exactly one ${kind}`).toHaveLength(1);
  return found[0];
}

function sorted<T>(xs: T[]): T[] {
  return [...xs].sort();
}

const PACKAGE_VERSION = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version as string;
const CHART_META = parseYaml(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { appVersion: string; name: string };
const SCHEMA = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8'));

describe.each(SCENARIOS)('chart rendered with $name', ({ values: files }) => {
  const { text, objects } = renderChart({ values: files, namespace: NAMESPACE });
  const values = mergedValues({ values: files }) as unknown as Values;
  const ds = only(objects, 'DaemonSet');
  const pod = ds.spec.template.spec;
  const container = pod.containers[0];

  it('passes values.schema.json (as Helm checks the merged values)', () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile(SCHEMA);
    expect(validate(values), JSON.stringify(validate.errors)).toBe(true);
  });

  it('renders only objects that are valid against the Kubernetes schemas', () => {
    expect(objects.length).toBeGreaterThan(0);
    for (const { source, object } of objects) {
      const key = `${object.apiVersion}/${object.kind}`;
      const Model = MODELS[key];
      expect(Model, `${source}: no schema for ${key}`).toBeDefined();
      expect(() => new Model!(object as never).validate(), `${source} ${key} ${object.metadata.name}`).not.toThrow();
      if (!CLUSTER_SCOPED.has(object.kind) && !(object.kind === 'ConfigMap' && values.dashboards.namespace && object.metadata.name.includes('-dashboard-'))) {
        expect(object.metadata.namespace, `${key} ${object.metadata.name}`).toBe(NAMESPACE);
      }
      expect(object.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('Helm');
    }
    // Object names are unique per kind.
    const names = objects.map(({ object }) => `${object.kind}/${object.metadata.name}`);
    expect(new Set(names).size).toBe(names.length);
  });

  it('is not privileged: exact capabilities, all others dropped, read-only root, no escalation', () => {
    expect(text).not.toMatch(/privileged:\s*true/);
    expect(pod.hostNetwork).toBe(true); // the host side of pod veths is in the node's netns
    expect(pod.hostPID ?? false).toBe(false);
    expect(pod.hostIPC ?? false).toBe(false);
    expect(pod.securityContext).toEqual({ seccompProfile: { type: values.seccompProfile } });
    expect(pod.containers).toHaveLength(1);
    expect(pod.initContainers).toBeUndefined();
    const add = ['BPF', 'PERFMON', 'NET_ADMIN', ...(values.raiseMemlockRlimit ? ['SYS_RESOURCE'] : [])];
    expect(container.securityContext).toEqual({
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      // root, for the reasons in charts/flowlens/README.md; never more than these capabilities
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      capabilities: { drop: ['ALL'], add },
    });
  });

  it('mounts only the kernel BTF (read-only), the BPF filesystem when pinning, config, token and /tmp', () => {
    const hostPaths = pod.volumes.filter((v: Any) => v.hostPath).map((v: Any) => v.hostPath.path);
    expect(sorted(hostPaths)).toEqual(values.pinMaps.enabled ? ['/sys/fs/bpf', '/sys/kernel/btf'] : ['/sys/kernel/btf']);
    const mounts = Object.fromEntries(container.volumeMounts.map((m: Any) => [m.name, m]));
    expect(mounts.btf).toEqual({ name: 'btf', mountPath: '/sys/kernel/btf', readOnly: true });
    if (values.pinMaps.enabled) expect(mounts.bpffs).toEqual({ name: 'bpffs', mountPath: '/sys/fs/bpf' });
    else expect(mounts.bpffs).toBeUndefined();
    expect(mounts.config.readOnly).toBe(true);
    expect(mounts.tmp.mountPath).toBe('/tmp');
    for (const v of pod.volumes) expect(['config', 'btf', 'bpffs', 'api-token', 'tmp']).toContain(v.name);
  });

  it('runs on every node it may: tolerations and priority from the values', () => {
    expect(pod.tolerations ?? []).toEqual(values.tolerations);
    if (files.length === 0) {
      expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
      expect(pod.priorityClassName).toBe('system-node-critical');
      expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    }
    expect(container.resources.requests.memory).toBeDefined();
    expect(container.resources.limits.memory).toBeDefined();
  });

  it('grants RBAC for exactly the identity source: get/list/watch, nothing that writes', () => {
    if (!values.rbac.create) {
      expect(byKind(objects, 'ClusterRole')).toHaveLength(0);
      expect(byKind(objects, 'ClusterRoleBinding')).toHaveLength(0);
      return;
    }
    const role = only(objects, 'ClusterRole');
    const rules = role.rules.flatMap((r: Any) =>
      r.apiGroups.flatMap((g: string) => r.resources.map((res: string) => `${g || 'core'}/${res}: ${sorted(r.verbs).join(',')}`)),
    );
    expect(sorted(rules)).toEqual(
      sorted([
        'core/pods: get,list,watch',
        'core/namespaces: get,list,watch',
        'core/nodes: get,list,watch',
        'core/services: get,list,watch',
        'discovery.k8s.io/endpointslices: get,list,watch',
        'networking.k8s.io/networkpolicies: get,list,watch',
        'apps/replicasets: get',
        'batch/jobs: get',
      ]),
    );
    for (const r of role.rules) {
      for (const verb of r.verbs) expect(['get', 'list', 'watch']).toContain(verb);
      expect(r.resourceNames).toBeUndefined();
      expect(r.nonResourceURLs).toBeUndefined();
    }
    const binding = only(objects, 'ClusterRoleBinding');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: NAMESPACE }]);
  });

  it('uses the service account it creates, or the one named', () => {
    const accounts = byKind(objects, 'ServiceAccount');
    if (values.serviceAccount.create) {
      expect(accounts.map((a) => a.metadata.name)).toEqual([pod.serviceAccountName]);
    } else {
      expect(accounts).toHaveLength(0);
      expect(pod.serviceAccountName).toBe(values.serviceAccount.name);
    }
  });

  it('renders a configuration the exporter loads, equal to the values', () => {
    const cm = byKind(objects, 'ConfigMap').find((c) => c.metadata.name === ds.metadata.name) as Any;
    const configVolume = pod.volumes.find((v: Any) => v.name === 'config');
    expect(configVolume.configMap.name).toBe(cm.metadata.name);
    const configFlag = container.args.find((a: string) => a.startsWith('--config='));
    const mountPath = container.volumeMounts.find((m: Any) => m.name === 'config').mountPath;
    expect(configFlag).toBe(`--config=${mountPath}/config.yaml`);

    const raw = parseYaml(cm.data['config.yaml']) as Any;
    for (const { path: [a, b], value } of PENDING_CONFIG_KEYS) {
      const want = value(values);
      if (Array.isArray(want) ? want.length > 0 : want) {
        expect(raw[a][b]).toEqual(want);
        // still unknown to the exporter: see PENDING_CONFIG_KEYS
        expect(() => loadConfig({ flags: { config: '/etc/flowlens/config.yaml' }, readFile: () => `${a}: { ${b}: [] }` })).toThrow(
          new RegExp(`unknown configuration key "${a}(\\.${b})?"`),
        );
        delete raw[a][b];
        if (Object.keys(raw[a]).length === 0) delete raw[a];
      } else {
        expect(raw[a]?.[b]).toBeUndefined();
      }
    }
    const fileTexts: Record<string, string> = {
      '/etc/flowlens/config.yaml': JSON.stringify(raw),
      ...(cm.data['identities.yaml'] ? { '/etc/flowlens/identities.yaml': cm.data['identities.yaml'] } : {}),
    };
    const config = loadConfig({ flags: { config: `${mountPath}/config.yaml` }, readFile: (p) => fileTexts[p] ?? '' });

    expect(config.listen).toBe(`${values.listenAddress}:${values.port}`);
    expect(config.logLevel).toBe(values.logLevel);
    expect(config.interfaces).toEqual(values.interfaces);
    expect(config.nodeInterfaces).toEqual(values.nodeInterfaces);
    expect(config.clusterCidrs).toEqual(values.clusterCidrs);
    expect(config.otlpEndpoint).toBe(values.otlp.endpoint || null);
    expect(config.traces.serviceNameLabels).toEqual(values.otlp.serviceNameLabels);
    expect(config.flowLogs.enabled).toBe(values.otlp.flowLogs);
    // OTLP headers are credentials: never in the configuration file
    expect(config.traces.headers).toEqual({});
    expect(config.pinPath).toBe(values.pinMaps.enabled ? values.pinMaps.path : null);
    expect(config.metrics.contexts).toEqual(values.metrics.contexts);
    expect(config.metrics.seriesLimit).toBe(values.metrics.seriesLimit);
    expect(config.metrics.destinationPorts).toEqual(sorted(values.metrics.destinationPorts).sort((x, y) => x - y));
    expect(config.drops.reasonClasses).toEqual(values.drops.reasonClasses);
    expect(config.identityLabels.exclude).toEqual(values.identityLabels.exclude);
    expect(config.datapath).toEqual({ ...defaultConfig().datapath, ...values.datapath, ...((values.extraConfig.datapath as object) ?? {}) });

    if (values.staticIdentities.length > 0) {
      expect(config.identities).toBe(`${mountPath}/identities.yaml`);
      const entries = parseStaticIdentities(cm.data['identities.yaml'], 'identities.yaml', config.identityLabels.exclude);
      expect(entries).toHaveLength(values.staticIdentities.length);
    } else {
      expect(config.identities).toBeNull();
      expect(cm.data['identities.yaml']).toBeUndefined();
    }
    if (files.length === 0) {
      // The chart's defaults are the exporter's, except that a DaemonSet pins its maps.
      expect({ ...config, pinPath: null }).toEqual(defaultConfig());
    }
  });

  it('hands the exporter the API token as a mounted Secret file', () => {
    const secrets = (byKind(objects, 'Secret') as Any[]).filter((s) => !s.metadata.name.endsWith('-otlp-headers'));
    const env = Object.fromEntries((container.env as Any[]).map((e) => [e.name, e]));
    const name = values.apiToken.existingSecret || (values.apiToken.value ? `${ds.metadata.name}-api-token` : '');
    if (!name) {
      expect(secrets).toHaveLength(0);
      expect(env.FLOWLENS_API_TOKEN_FILE).toBeUndefined();
      return;
    }
    if (values.apiToken.existingSecret) expect(secrets).toHaveLength(0);
    else {
      expect(secrets.map((s) => s.metadata.name)).toEqual([name]);
      expect(Buffer.from(secrets[0].data[values.apiToken.secretKey], 'base64').toString()).toBe(values.apiToken.value);
      expect(text).not.toContain(values.apiToken.value); // only base64 in the manifest
    }
    const volume = pod.volumes.find((v: Any) => v.name === 'api-token');
    expect(volume.secret.secretName).toBe(name);
    const mount = container.volumeMounts.find((m: Any) => m.name === 'api-token');
    expect(mount.readOnly).toBe(true);
    expect(env.FLOWLENS_API_TOKEN_FILE.value).toBe(`${mount.mountPath}/${values.apiToken.secretKey}`);
  });

  it('hands the exporter OTEL_EXPORTER_OTLP_HEADERS from a Secret, never from the ConfigMap', () => {
    const env = Object.fromEntries((container.env as Any[]).map((e) => [e.name, e]));
    const name = values.otlp.headers.existingSecret || (values.otlp.headers.value ? `${ds.metadata.name}-otlp-headers` : '');
    const secrets = (byKind(objects, 'Secret') as Any[]).filter((s) => s.metadata.name.endsWith('-otlp-headers'));
    if (!name) {
      expect(secrets).toHaveLength(0);
      expect(env.OTEL_EXPORTER_OTLP_HEADERS).toBeUndefined();
      return;
    }
    expect(env.OTEL_EXPORTER_OTLP_HEADERS.valueFrom.secretKeyRef).toEqual({ name, key: values.otlp.headers.secretKey });
    if (values.otlp.headers.existingSecret) expect(secrets).toHaveLength(0);
    else {
      expect(secrets.map((s) => s.metadata.name)).toEqual([name]);
      expect(Buffer.from(secrets[0].data[values.otlp.headers.secretKey], 'base64').toString()).toBe(values.otlp.headers.value);
      expect(text).not.toContain(values.otlp.headers.value); // only base64 in the manifest
    }
  });

  it('exposes every node through a Service and a headless Service selecting the pods', () => {
    const services = byKind(objects, 'Service') as Any[];
    const podLabels = ds.spec.template.metadata.labels;
    const port = container.ports.find((p: Any) => p.name === 'http');
    expect(port.containerPort).toBe(values.port);
    expect(ds.spec.selector.matchLabels).toEqual(Object.fromEntries(Object.entries(ds.spec.selector.matchLabels).filter(([k]) => podLabels[k] !== undefined)));
    for (const s of services) {
      for (const [k, v] of Object.entries(s.spec.selector)) expect(podLabels[k]).toBe(v);
      expect(s.spec.ports).toEqual([{ name: 'http', port: values.port, targetPort: 'http', protocol: 'TCP' }]);
    }
    const headless = services.filter((s) => s.spec.clusterIP === 'None');
    expect(headless.map((s) => s.metadata.name)).toEqual(values.headlessService.enabled ? [`${ds.metadata.name}-nodes`] : []);
    expect(services.length - headless.length).toBe(values.service.enabled ? 1 : 0);
    if (values.headlessService.enabled) expect(renderNotes({ values: files, namespace: NAMESPACE })).toContain(`kubernetes.io/service-name=${ds.metadata.name}-nodes`);
  });

  it('runs the image the Dockerfile builds, at the chart appVersion by default', () => {
    expect(container.image).toBe(`${values.image.repository}:${values.image.tag || CHART_META.appVersion}`);
    expect(container.command).toBeUndefined(); // the image's ENTRYPOINT runs flowlens
    expect(container.args[0]).toBe('run');
    expect(container.args.slice(2)).toEqual(values.extraArgs);
  });

  it('creates the Prometheus Operator objects and dashboards only when asked', () => {
    expect(byKind(objects, 'ServiceMonitor')).toHaveLength(values.serviceMonitor.enabled ? 1 : 0);
    expect(byKind(objects, 'PrometheusRule')).toHaveLength(values.prometheusRule.enabled ? 1 : 0);
    const dashboards = byKind(objects, 'ConfigMap').filter((c) => c.metadata.labels?.[values.dashboards.label] !== undefined);
    const jsonFiles = readdirSync(join(CHART_DIR, 'files', 'dashboards')).filter((f) => f.endsWith('.json'));
    expect(dashboards).toHaveLength(values.dashboards.enabled ? jsonFiles.length : 0);
  });
});

describe('chart details', () => {
  const monitoring = join(CHART_DIR, 'ci', 'monitoring-values.yaml');

  it('image, chart appVersion and package.json agree, and the Dockerfile runs what the chart expects', () => {
    expect(CHART_META.appVersion).toBe(PACKAGE_VERSION);
    const values = mergedValues() as unknown as Values;
    expect(values.image.tag).toBe(''); // i.e. appVersion
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "\/opt\/flowlens\/dist\/cli\.js"\]$/m);
    expect(dockerfile).toMatch(new RegExp(`^EXPOSE ${values.port}$`, 'm'));
    expect(dockerfile).toContain(`docker build -t ${values.image.repository}:${PACKAGE_VERSION} .`);
    // the runtime layout the code resolves from dist/: bpf/.output and build/Release
    expect(dockerfile).toContain('COPY --from=build /src/bpf/.output ./bpf/.output');
    expect(dockerfile).toContain('COPY --from=build /src/build/Release/flowlens_native.node ./build/Release/');
  });

  it('the ServiceMonitor scrapes the Service as job="flowlens" with a node label', () => {
    const { objects } = renderChart({ values: [monitoring], name: 'prod-observer', namespace: NAMESPACE });
    const sm = only(objects, 'ServiceMonitor');
    const svc = (byKind(objects, 'Service') as Any[]).find((s) => s.spec.clusterIP !== 'None');
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) expect(svc.metadata.labels[k]).toBe(v);
    // the headless Service carries the same labels: it must not be scraped twice
    const headless = (byKind(objects, 'Service') as Any[]).find((s) => s.spec.clusterIP === 'None');
    expect(Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => headless.metadata.labels[k] === v)).toBe(true);
    expect(sm.spec.jobLabel).toBe('app.kubernetes.io/name');
    expect(svc.metadata.labels['app.kubernetes.io/name']).toBe('flowlens');
    expect(sm.spec.endpoints[0].port).toBe(svc.spec.ports[0].name);
    expect(sm.spec.endpoints[0].relabelings).toEqual([{ sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node' }]);
    expect(sm.metadata.labels.release).toBe('kube-prometheus-stack');
  });

  it('the PrometheusRule carries the groups of files/prometheus-rules.yaml', () => {
    const { objects } = renderChart({ values: [monitoring] });
    const rule = only(objects, 'PrometheusRule');
    const file = parseYaml(readFileSync(join(CHART_DIR, 'files', 'prometheus-rules.yaml'), 'utf8')) as Any;
    expect(rule.spec.groups).toEqual(file.groups ?? file.spec.groups);
    expect(rule.spec.groups.length).toBeGreaterThan(0);
  });

  function withChartCopy(edit: (dir: string) => void, check: (dir: string) => void): void {
    const dir = mkdtempSync(join(tmpdir(), 'flowlens-chart-'));
    try {
      cpSync(CHART_DIR, dir, { recursive: true });
      edit(dir);
      check(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('takes spec.groups when the rules file is a whole PrometheusRule', () => {
    const groups = [{ name: 'g', rules: [{ alert: 'FlowlensTest', expr: 'vector(1)', for: '1m', labels: { severity: 'info' } }] }];
    withChartCopy(
      (dir) => writeFileSync(join(dir, 'files', 'prometheus-rules.yaml'), JSON.stringify({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'x' }, spec: { groups } })),
      (dir) => expect(only(renderChart({ chartDir: dir, values: [monitoring] }).objects, 'PrometheusRule').spec.groups).toEqual(groups),
    );
  });

  it('fails to render a PrometheusRule without a rules file', () => {
    withChartCopy(
      (dir) => rmSync(join(dir, 'files', 'prometheus-rules.yaml')),
      (dir) => {
        const r = runRenderer({ chartDir: dir, values: [monitoring] });
        expect(r.status).not.toBe(0);
        expect(r.stderr).toContain('no files/prometheus-rules.yaml');
      },
    );
  });

  it('ships each dashboard JSON as a ConfigMap labelled for the Grafana sidecar', () => {
    const dir = join(CHART_DIR, 'files', 'dashboards');
    const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
    expect(files.length).toBeGreaterThan(0);
    const { objects } = renderChart({ values: [monitoring], namespace: NAMESPACE });
    const cms = (byKind(objects, 'ConfigMap') as Any[]).filter((c) => c.metadata.labels.grafana_dashboard === '1');
    // one ConfigMap per file, holding that file's dashboard unchanged
    const shipped = Object.fromEntries(cms.flatMap((cm) => Object.entries(cm.data as Record<string, string>)));
    expect(Object.keys(shipped).sort()).toEqual(files);
    expect(cms.length).toBe(files.length);
    for (const cm of cms) {
      expect(cm.metadata.namespace).toBe('monitoring');
      expect(cm.metadata.annotations.grafana_folder).toBe('Network');
    }
    for (const f of files) expect(JSON.parse(shipped[f]!)).toEqual(JSON.parse(readFileSync(join(dir, f), 'utf8')));
  });

  it('a changed configuration changes the pods (config checksum)', () => {
    const sum = (values: string[]) => (only(renderChart({ values }).objects, 'DaemonSet') as Any).spec.template.metadata.annotations['checksum/config'];
    const full = join(CHART_DIR, 'ci', 'full-config-values.yaml');
    expect(sum([])).toMatch(/^[0-9a-f]{64}$/);
    expect(sum([])).toBe(sum([]));
    expect(sum([full])).not.toBe(sum([]));
  });

  it('refuses inconsistent values with a message', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowlens-values-'));
    try {
      const write = (name: string, text: string) => {
        writeFileSync(join(dir, name), text);
        return join(dir, name);
      };
      let r = runRenderer({ values: [write('a.yaml', 'serviceMonitor: {enabled: true}\nservice: {enabled: false}\n')] });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('serviceMonitor.enabled needs service.enabled');
      r = runRenderer({ values: [write('b.yaml', 'serviceAccount: {create: false}\n')] });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('serviceAccount.name is required');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
