// The demo's landscape: which network namespaces exist, their addresses, the
// workload each runs, the DNS names dnsmasq answers for them, and the static
// identity file the exporter reads. Everything is derived from a name (the
// prefix of every namespace and interface the demo creates) and a /16, so that
// a second copy (the end-to-end test) never collides with a running demo.

/** What a namespace runs (demo/workload.ts implements each role). */
export type Role = 'client' | 'web' | 'api' | 'db' | 'console' | 'dns' | 'outsider';

export interface Workload {
  role: Role;
  /** Kubernetes-style namespace of the identity; undefined: in no identity. */
  namespace?: string;
  workload?: string;
  labels?: Record<string, string>;
  /** Last two octets inside the demo's /16. */
  host: string;
  /** Short suffix of the host-side veth (interface names have at most 15 characters). */
  ifSuffix: string;
  /** Name dnsmasq answers with this workload's address. */
  dnsName?: string;
}

/** The workloads, in start order: servers first, then the clients that call them. */
export const WORKLOADS: readonly Workload[] = [
  { role: 'dns', namespace: 'infra', workload: 'dns', labels: { app: 'dnsmasq' }, host: '0.53', ifSuffix: 'dns' },
  { role: 'db', namespace: 'backend', workload: 'db', labels: { app: 'db', tier: 'data' }, host: '0.31', ifSuffix: 'db', dnsName: 'db.backend.demo' },
  { role: 'api', namespace: 'backend', workload: 'api', labels: { app: 'api', tier: 'backend' }, host: '0.30', ifSuffix: 'api', dnsName: 'api.backend.demo' },
  { role: 'web', namespace: 'frontend', workload: 'web', labels: { app: 'web', tier: 'web' }, host: '0.20', ifSuffix: 'web', dnsName: 'web.frontend.demo' },
  { role: 'console', namespace: 'management', workload: 'console', labels: { app: 'console' }, host: '0.40', ifSuffix: 'con', dnsName: 'console.management.demo' },
  { role: 'client', namespace: 'client', workload: 'shopper', labels: { app: 'shopper' }, host: '0.10', ifSuffix: 'cli' },
  // Outside the cluster range and in no identity entry: reserved:world.
  { role: 'outsider', host: '200.66', ifSuffix: 'out' },
];

/** The DNS zone dnsmasq answers for; any other name in it is NXDOMAIN. */
export const ZONE = 'demo';

export const PORTS = { web: 80, api: 8080, db: 5432, dns: 53 } as const;

export interface DemoNames {
  /** Prefix of every namespace and host-side interface, e.g. "fldemo". */
  name: string;
  /** First two octets of the demo's /16, e.g. "10.230". */
  subnet: string;
}

export const DEFAULT_NAMES: DemoNames = { name: 'fldemo', subnet: '10.230' };

export interface Placed extends Workload {
  /** Network namespace (`ip netns`) name. */
  netns: string;
  /** Host side of the veth, in the root namespace: what the exporter attaches to. */
  hostIf: string;
  address: string;
}

export function validateNames(names: DemoNames): void {
  // The longest interface is name + a 3-character suffix; the bridge is "br-" + name.
  if (!/^[a-z][a-z0-9]{1,10}$/.test(names.name)) throw new Error(`demo name "${names.name}": 2 to 11 lower-case letters and digits, starting with a letter`);
  const m = /^(\d{1,3})\.(\d{1,3})$/.exec(names.subnet);
  if (!m || Number(m[1]) > 255 || Number(m[2]) > 255) throw new Error(`demo subnet "${names.subnet}": the first two octets of a /16, e.g. 10.230`);
}

export function place(names: DemoNames): Placed[] {
  return WORKLOADS.map((w) => ({
    ...w,
    netns: `${names.name}-${w.namespace ? `${w.namespace}-${w.workload}` : w.role}`,
    hostIf: `${names.name}${w.ifSuffix}`,
    address: `${names.subnet}.${w.host}`,
  }));
}

/** The bridge joining the host-side veths; its name does not match the exporter's pattern. */
export function bridgeName(names: DemoNames): string {
  return `br-${names.name}`;
}

/** The exporter's interface pattern: every host-side veth of the demo, not the bridge. */
export function interfacePattern(names: DemoNames): string {
  return `${names.name}*`;
}

/** The cluster range: the workloads' /24. Addresses outside (the outsider) are world. */
export function clusterCidr(names: DemoNames): string {
  return `${names.subnet}.0.0/24`;
}

export function byRole(placed: readonly Placed[], role: Role): Placed {
  const p = placed.find((w) => w.role === role);
  if (!p) throw new Error(`no workload with role ${role}`);
  return p;
}

/** The static identity file (flowlens's format): one entry per workload with an identity. */
export function renderIdentities(names: DemoNames): string {
  const entries = place(names)
    .filter((w) => w.namespace)
    .map((w) => {
      const labels = Object.entries(w.labels ?? {}).map(([k, v]) => `${k}: ${v}`).join(', ');
      return [
        `  - namespace: ${w.namespace}`,
        `    workload: ${w.workload}`,
        `    labels: { ${labels} }`,
        `    addresses: [${w.address}/32]`,
      ].join('\n');
    });
  return [
    "# The demo's workloads (`make demo`), one network namespace each. Written by",
    '# demo/topology.ts: the demo writes this file for the subnet it runs in; this',
    '# copy is for the default one (a test keeps it up to date). The outsider is in',
    '# no entry: its address, outside the cluster range, is reserved:world.',
    'identities:',
    ...entries,
    '',
  ].join('\n');
}

export const IDENTITIES_FILE = 'demo/demo-identities.yaml';
