// `make demo`: a small microservice landscape in network namespaces, the
// exporter watching it, Prometheus with flowlens's rules, Alertmanager paging
// a webhook receiver on this terminal. Ctrl-C (or `make demo-stop`) removes
// everything it created.
//
//   node dist/demo/demo/main.js [--name NAME] [--subnet A.B] [--pages-file FILE]
//
// Everything runs on this host: the demo's own Prometheus and Alertmanager
// (Debian's binaries, with config and data in a temporary directory, on
// loopback ports), never the system's services.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { alertmanagerConfig, demoRuleFile, prometheusConfig } from './alerting.js';
import { dnsmasqArgs } from './dnsmasq.js';
import { alive, readState, record, stateFile, teardown, writeState, type DemoState } from './state.js';
import {
  bridgeName,
  byRole,
  clusterCidr,
  DEFAULT_NAMES,
  interfacePattern,
  place,
  PORTS,
  renderIdentities,
  validateNames,
  ZONE,
  type DemoNames,
  type Placed,
} from './topology.js';
import type { WorkloadSettings } from './workload.js';

const startedAt = Date.now();
/** The repository: this file is dist/demo/demo/main.js. */
const REPO = resolve(import.meta.dirname, '..', '..', '..');
const EXPORTER = join(REPO, 'dist', 'cli.js');
const WORKLOAD = join(import.meta.dirname, 'workload.js');
const WEBHOOK = join(import.meta.dirname, 'webhook.js');
/** Ports the demo takes when they are free (19965 is `flowlens observe`'s default server), else any free one. */
const PREFERRED_PORTS = { exporter: 19965, prometheus: 9090, alertmanager: 9093, webhook: 9095 };

interface Options extends DemoNames {
  pagesFile?: string;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { ...DEFAULT_NAMES };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--name') options.name = value();
    else if (flag === '--subnet') options.subnet = value();
    else if (flag === '--pages-file') options.pagesFile = resolve(value());
    else if (flag === '-h' || flag === '--help') {
      process.stdout.write('usage: main.js [--name NAME] [--subnet A.B] [--pages-file FILE]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${argv[i]}`);
  }
  validateNames(options);
  return options;
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function sh(cmd: string, args: string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

function inNs(ns: string, cmd: string, args: string[], input?: string): string {
  return sh('ip', ['netns', 'exec', ns, cmd, ...args], input);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitUntil(what: string, ms: number, probe: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await sleep(100);
  }
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((r) => {
    const s = createServer();
    s.once('error', () => r(false));
    s.listen(port, '127.0.0.1', () => s.close(() => r(true)));
  });
}

async function freePort(preferred: number, taken: Set<number>): Promise<number> {
  if (!taken.has(preferred) && (await portFree(preferred))) return preferred;
  for (;;) {
    const port = await new Promise<number>((r, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => r(port));
      });
    });
    if (!taken.has(port)) return port;
  }
}

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(1000) }).catch(() => undefined);
  return res?.status === 200;
}

function checkPrerequisites(): void {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) throw new Error('the demo creates network namespaces and loads BPF programs: run it as root on Linux');
  if (!existsSync(EXPORTER)) throw new Error(`${EXPORTER} is missing: run \`make demo\` (it builds first)`);
  for (const cmd of ['ip', 'nft', 'dnsmasq', 'prometheus', 'prometheus-alertmanager']) {
    try {
      sh('sh', ['-c', `command -v ${cmd}`]);
    } catch {
      throw new Error(`${cmd} is not installed: run \`make deps\` (as root)`);
    }
  }
}

class StopRequested extends Error {
  constructor(
    readonly status: number,
    reason: string,
  ) {
    super(reason);
  }
}

class Demo {
  private readonly state: DemoState;
  private readonly children = new Map<ChildProcess, string>();
  private stopping = false;
  private settingUp = true;
  /** A signal or a failed process during set-up: set-up stops at its next step, then everything is removed. */
  private stopRequested: { status: number; reason: string } | undefined;
  private readonly placed: Placed[];

  constructor(
    private readonly names: DemoNames,
    pagesFile: string | undefined,
  ) {
    const workdir = mkdtempSync(join(tmpdir(), `flowlens-demo-${names.name}-`));
    this.placed = place(names);
    this.state = {
      name: names.name,
      subnet: names.subnet,
      main: record('demo', process.pid),
      startedAt: new Date(startedAt).toISOString(),
      workdir,
      pagesFile: pagesFile ?? join(workdir, 'pages.jsonl'),
      urls: {},
      netns: [],
      links: [],
      processes: [],
    };
    writeFileSync(this.state.pagesFile, '');
    writeState(this.state);
  }

  private file(name: string): string {
    return join(this.state.workdir, name);
  }

  /** Starts a process in its own process group (a Ctrl-C reaches the demo, which stops them in order), output to a log file. */
  private start(what: string, cmd: string, args: string[], opts: { netns?: string; log?: string; stdout?: 'inherit' } = {}): ChildProcess {
    this.checkpoint();
    const log = this.file(opts.log ?? `${what.replace(/[^a-z0-9]+/gi, '-')}.log`);
    const fd = openSync(log, 'a');
    const argv = opts.netns ? ['netns', 'exec', opts.netns, cmd, ...args] : args;
    const child = spawn(opts.netns ? 'ip' : cmd, argv, {
      detached: true,
      stdio: ['ignore', opts.stdout === 'inherit' ? 'inherit' : fd, fd],
    });
    closeSync(fd);
    if (child.pid === undefined) throw new Error(`could not start ${what} (${cmd})`);
    // `ip netns exec` execs the command: the pid is the command's
    this.state.processes.push(record(what, child.pid));
    writeState(this.state);
    this.children.set(child, what);
    child.on('exit', (code, sig) => {
      if (this.stopping) return;
      say(`\n${what} exited (${sig ?? `status ${code}`}); its log, ${log}, ends with:\n${tail(log)}`);
      this.requestStop(1, `${what} exited`);
    });
    return child;
  }

  private checkpoint(): void {
    if (this.stopRequested) throw new StopRequested(this.stopRequested.status, this.stopRequested.reason);
  }

  private async waitUntil(what: string, ms: number, probe: () => Promise<boolean> | boolean): Promise<void> {
    await waitUntil(what, ms, () => {
      this.checkpoint();
      return probe();
    });
  }

  /** SIGINT, SIGTERM, SIGHUP. */
  requestStop(status = 0, reason = 'stopped by a signal'): void {
    if (this.settingUp) {
      if (!this.stopRequested) say(`\n${reason}: stopping after the current set-up step...`);
      this.stopRequested ??= { status, reason };
      return;
    }
    void this.stop(status);
  }

  async setUp(): Promise<void> {
    try {
      await this.steps();
    } finally {
      this.settingUp = false;
    }
  }

  private async steps(): Promise<void> {
    this.network();
    this.checkpoint();
    this.policy();

    const taken = new Set<number>();
    const port = async (key: keyof typeof PREFERRED_PORTS): Promise<number> => {
      const p = await freePort(PREFERRED_PORTS[key], taken);
      taken.add(p);
      return p;
    };
    const ports = { exporter: await port('exporter'), prometheus: await port('prometheus'), alertmanager: await port('alertmanager'), webhook: await port('webhook') };
    const exporterUrl = `http://127.0.0.1:${ports.exporter}`;
    const prometheusUrl = `http://127.0.0.1:${ports.prometheus}`;
    const alertmanagerUrl = `http://127.0.0.1:${ports.alertmanager}`;
    const webhookUrl = `http://127.0.0.1:${ports.webhook}`;
    this.state.urls = { exporter: exporterUrl, prometheus: prometheusUrl, alertmanager: alertmanagerUrl, webhook: webhookUrl };
    writeState(this.state);

    // The exporter first, so it sees every flow from the first one on.
    const identities = this.file('identities.yaml');
    writeFileSync(identities, renderIdentities(this.names));
    this.start('exporter', process.execPath, [
      EXPORTER, 'run',
      '--listen', `127.0.0.1:${ports.exporter}`,
      '--interface', interfacePattern(this.names),
      '--identities', identities,
      '--cluster-cidr', clusterCidr(this.names),
    ]);
    await this.waitUntil('the exporter (/readyz)', 30_000, () => httpOk(`${exporterUrl}/readyz`));
    await this.waitUntil(`the exporter to attach to ${this.placed.length} interfaces`, 15_000, async () => {
      const text = await fetch(`${exporterUrl}/metrics`).then((r) => r.text()).catch(() => '');
      return new RegExp(`^flowlens_attached_interfaces(\\{[^}]*\\})? ${this.placed.length}$`, 'm').test(text);
    });

    this.start('webhook receiver', process.execPath, [WEBHOOK, String(ports.webhook), this.state.pagesFile, String(startedAt)], { stdout: 'inherit' });
    await this.waitUntil('the webhook receiver', 10_000, async () => (await fetch(webhookUrl).catch(() => undefined)) !== undefined);

    writeFileSync(this.file('alertmanager.yml'), alertmanagerConfig(join(REPO, 'alerts', 'alertmanager.example.yaml'), webhookUrl));
    this.start('alertmanager', 'prometheus-alertmanager', [
      `--config.file=${this.file('alertmanager.yml')}`,
      `--storage.path=${this.file('alertmanager-data')}`,
      `--web.listen-address=127.0.0.1:${ports.alertmanager}`,
      '--cluster.listen-address=', // no gossip port: a single instance
    ]);

    writeFileSync(this.file('flowlens-demo.rules.yaml'), demoRuleFile());
    writeFileSync(
      this.file('prometheus.yml'),
      prometheusConfig({ exporter: `127.0.0.1:${ports.exporter}`, alertmanager: `127.0.0.1:${ports.alertmanager}`, ruleFile: 'flowlens-demo.rules.yaml' }),
    );
    this.start('prometheus', 'prometheus', [
      `--config.file=${this.file('prometheus.yml')}`,
      `--storage.tsdb.path=${this.file('prometheus-data')}`,
      `--web.listen-address=127.0.0.1:${ports.prometheus}`,
    ]);

    this.workloads();

    await this.waitUntil('Alertmanager (/-/ready)', 30_000, () => httpOk(`${alertmanagerUrl}/-/ready`));
    await this.waitUntil('Prometheus (/-/ready)', 30_000, () => httpOk(`${prometheusUrl}/-/ready`));
    // Debian's Prometheus is built without the React UI: its alerts page is the classic one
    this.state.urls.prometheusAlerts = (await httpOk(`${prometheusUrl}/alerts`)) ? `${prometheusUrl}/alerts` : `${prometheusUrl}/classic/alerts`;
    writeState(this.state);
  }

  /** A bridge in the root namespace, one namespace per workload joined to it by a veth whose host side the exporter watches. */
  private network(): void {
    const bridge = bridgeName(this.names);
    this.state.links.push(bridge);
    writeState(this.state);
    sh('ip', ['link', 'add', bridge, 'type', 'bridge']);
    // no IPv6 on the demo's links: router solicitations and MLD reports are noise here
    sh('sysctl', ['-qw', `net.ipv6.conf.${bridge}.disable_ipv6=1`]);
    sh('ip', ['link', 'set', bridge, 'up']);
    for (const w of this.placed) {
      this.checkpoint();
      this.state.netns.push(w.netns);
      this.state.links.push(w.hostIf);
      writeState(this.state);
      sh('ip', ['netns', 'add', w.netns]);
      sh('ip', ['link', 'add', w.hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', w.netns]);
      sh('sysctl', ['-qw', `net.ipv6.conf.${w.hostIf}.disable_ipv6=1`]);
      inNs(w.netns, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      sh('ip', ['-n', w.netns, 'addr', 'add', `${w.address}/16`, 'dev', 'eth0']);
      sh('ip', ['-n', w.netns, 'link', 'set', 'lo', 'up']);
      sh('ip', ['-n', w.netns, 'link', 'set', 'eth0', 'up']);
      sh('ip', ['link', 'set', w.hostIf, 'master', bridge]);
      sh('ip', ['link', 'set', w.hostIf, 'up']);
    }
  }

  /** The network policy: the backend accepts no connection from the client (only through the frontend). */
  private policy(): void {
    const client = byRole(this.placed, 'client');
    for (const w of [byRole(this.placed, 'api'), byRole(this.placed, 'db')]) {
      inNs(
        w.netns,
        'nft',
        ['-f', '-'],
        [
          'table inet flowlens_demo {',
          '  chain input {',
          '    type filter hook input priority 0; policy accept;',
          `    ip saddr ${client.address} drop comment "the client goes through the frontend"`,
          '  }',
          '}',
          '',
        ].join('\n'),
      );
    }
  }

  private workloads(): void {
    const dns = byRole(this.placed, 'dns');
    const api = byRole(this.placed, 'api');
    const db = byRole(this.placed, 'db');
    const web = byRole(this.placed, 'web');
    const records = Object.fromEntries(this.placed.filter((w) => w.dnsName).map((w) => [w.dnsName!, [w.address]]));
    this.start('dnsmasq', 'dnsmasq', dnsmasqArgs({ address: dns.address, port: PORTS.dns, zone: ZONE, records }), { netns: dns.netns, log: 'dnsmasq.log' });

    const settings = (w: Placed): WorkloadSettings => ({
      address: w.address,
      dnsServer: dns.address,
      ports: { web: PORTS.web, api: PORTS.api, db: PORTS.db },
      names: { web: web.dnsName!, api: api.dnsName!, db: db.dnsName!, missing: [`promo.frontend.${ZONE}`, `payments.backend.${ZONE}`, `wpad.${ZONE}`] },
      addresses: { web: web.address, api: api.address, db: db.address },
    });
    for (const w of this.placed) {
      if (w.role === 'dns') continue;
      const what = w.namespace ? `${w.namespace}/${w.workload}` : w.role;
      this.start(`workload ${what}`, process.execPath, [WORKLOAD, w.role, JSON.stringify(settings(w))], {
        netns: w.netns,
        log: `workload-${w.role}.log`,
      });
    }
  }

  banner(): void {
    const u = this.state.urls;
    const observe = `node dist/cli.js observe${u.exporter === 'http://127.0.0.1:19965' ? '' : ` --server ${u.exporter}`}`;
    const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
    say('');
    say(bold(`flowlens demo "${this.names.name}" is running (${((Date.now() - startedAt) / 1000).toFixed(1)} s to start)`));
    say('');
    say(`  flowlens UI (service map, flows)   ${u.exporter}/`);
    say(`  metrics                            ${u.exporter}/metrics`);
    say(`  Prometheus alerts                  ${u.prometheusAlerts}`);
    say(`  Alertmanager (API)                 ${u.alertmanager}/api/v2/alerts`);
    say('');
    say('  Try, from another shell in this directory:');
    say(`    ${observe} --from-namespace client --to-namespace backend   # the client's direct calls, denied by the policy`);
    say(`    ${observe} --from-workload reserved:world                   # the outsider's probes`);
    say(`    ${observe} --type http --http-status 400-599                # 404s and 500s`);
    say(`    ${observe} --type dns --dns-rcode NXDOMAIN                  # names that do not exist`);
    say(`    ${observe} --from-namespace management --follow             # the console's health checks, live`);
    say('');
    say(`  Namespaces: ${this.placed.map((w) => w.netns).join(' ')}`);
    say(`  Identities: ${this.file('identities.yaml')}; configs and logs: ${this.state.workdir}`);
    say('');
    say(bold('  Pages from Alertmanager appear below; the policy-drop and unknown-source alerts fire within about a minute.'));
    say('  Ctrl-C (or `make demo-stop` from another shell) stops the demo and removes everything it created.');
    say('');
  }

  async stop(status: number): Promise<never> {
    if (this.stopping) {
      say('still stopping the demo...');
      return new Promise<never>(() => undefined);
    }
    this.stopping = true;
    say('\nstopping the demo: processes, network namespaces, links, temporary files...');
    const problems = await teardown(this.state, say);
    if (problems.length > 0) {
      say(`could not remove:\n  ${problems.join('\n  ')}\n${stateFile(this.names.name)} lists what is left; \`make demo-stop\` tries again.`);
      process.exit(1);
    }
    say('demo stopped; nothing left behind.');
    process.exit(status);
  }
}

function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).map((l) => `  ${l}`).join('\n');
  } catch {
    return '  (no log)';
  }
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  checkPrerequisites();
  const previous = readState(options.name);
  if (previous) {
    if (alive(previous.main)) throw new Error(`a demo "${options.name}" is already running (pid ${previous.main.pid}); stop it with \`make demo-stop\``);
    say(`removing what a demo "${options.name}" that did not stop left behind...`);
    const problems = await teardown(previous, say);
    if (problems.length > 0) throw new Error(`could not remove what the previous demo left:\n  ${problems.join('\n  ')}`);
  }
  const demo = new Demo(options, options.pagesFile);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => demo.requestStop());
  say(`starting the flowlens demo "${options.name}" in ${options.subnet}.0.0/16...`);
  try {
    await demo.setUp();
  } catch (err) {
    if (err instanceof StopRequested) await demo.stop(err.status);
    say(`the demo could not start: ${(err as Error).message}`);
    await demo.stop(1);
  }
  demo.banner();
}

main().catch((err: Error) => {
  process.stderr.write(`flowlens demo: ${err.message}\n`);
  process.exit(1);
});
