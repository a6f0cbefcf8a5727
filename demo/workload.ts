// One demo workload, run inside its network namespace by demo/main.ts:
//
//   node workload.js ROLE 'JSON settings'
//
// Servers (web, api, db) answer; clients (client, console, outsider) call them
// in loops. Every loop waits for its round to finish and for its interval to
// pass before the next, and every request has a timeout, so each generator's
// rate is bounded whatever the servers do. Names are looked up through the
// demo's dnsmasq, never /etc/hosts, so DNS traffic is part of the picture.

import { Resolver } from 'node:dns/promises';
import { createServer as createHttpServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer as createTcpServer, type Socket } from 'node:net';
import type { Role } from './topology.js';

export interface WorkloadSettings {
  /** This workload's address (servers listen on it). */
  address: string;
  dnsServer: string;
  ports: { web: number; api: number; db: number };
  names: { web: string; api: string; db: string; missing: string[] };
  /** The outsider does not use the demo's DNS: it probes addresses. */
  addresses: { web: string; api: string; db: string };
}

const TIMEOUT_MS = 1500;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs `round` forever, at most once per `intervalMs`; a failing round is counted, never fatal. */
async function every(what: string, intervalMs: number, round: (n: number) => Promise<void>): Promise<never> {
  let failures = 0;
  for (let n = 0; ; n++) {
    const started = Date.now();
    try {
      await round(n);
    } catch (err) {
      failures++;
      // a line now and then, not one per failure
      if (failures === 1 || failures % 100 === 0) console.log(`${what}: ${failures} failed rounds; last: ${(err as Error).message}`);
    }
    await sleep(Math.max(0, intervalMs - (Date.now() - started)));
  }
}

/** One HTTP GET on a new connection (no keep-alive: every request is a new flow); resolves with the status. */
function get(address: string, port: number, path: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: address, port, path, agent: false, headers: { host }, timeout: TIMEOUT_MS }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET http://${host}${path}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** One line-protocol exchange with the database on a new connection. */
function dbQuery(address: string, port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect({ host: address, port });
    let reply = '';
    const timer = setTimeout(() => s.destroy(new Error('db: timed out')), TIMEOUT_MS);
    s.on('connect', () => s.write(`${line}\n`));
    s.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('\n')) s.end();
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(reply.trim());
    });
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** A TCP connection attempt: 'connected', 'timeout' or the error code. */
function probe(address: string, port: number, timeoutMs = TIMEOUT_MS): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: address, port });
    const timer = setTimeout(() => {
      s.destroy();
      resolve('timeout');
    }, timeoutMs);
    s.on('connect', () => {
      clearTimeout(timer);
      s.end();
      resolve('connected');
    });
    s.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code ?? 'error');
    });
  });
}

function resolver(settings: WorkloadSettings): Resolver {
  const r = new Resolver({ timeout: TIMEOUT_MS, tries: 1 });
  r.setServers([settings.dnsServer]);
  return r;
}

async function lookup(r: Resolver, name: string): Promise<string> {
  const [address] = await r.resolve4(name);
  if (!address) throw new Error(`${name}: no address`);
  return address;
}

function listenHttp(settings: WorkloadSettings, port: number, handle: (path: string) => Promise<[number, string]>): void {
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    handle(req.url ?? '/')
      .catch((err: Error) => [502, `upstream: ${err.message}`] as [number, string])
      .then(([status, body]) => {
        res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' });
        res.end(body + '\n');
      });
  });
  server.listen(port, settings.address, () => console.log(`listening on ${settings.address}:${port}`));
}

/** frontend/web: the shop's pages; most of them ask the API. */
function web(settings: WorkloadSettings): void {
  const dns = resolver(settings);
  const api = async (path: string): Promise<[number, string]> => {
    const status = await get(await lookup(dns, settings.names.api), settings.ports.api, path, settings.names.api);
    return [status, `api said ${status}`];
  };
  listenHttp(settings, settings.ports.web, async (path) => {
    switch (path) {
      case '/':
        return [200, 'welcome to the demo shop'];
      case '/healthz':
        return [200, 'ok'];
      case '/products':
      case '/cart':
      case '/checkout':
        return api(path);
      default:
        return [404, 'no such page'];
    }
  });
}

/** backend/api: reads the database; every fifth checkout fails with a 500. */
function api(settings: WorkloadSettings): void {
  const dns = resolver(settings);
  let checkouts = 0;
  const db = async (key: string): Promise<[number, string]> => {
    const reply = await dbQuery(await lookup(dns, settings.names.db), settings.ports.db, `GET ${key}`);
    return [200, reply];
  };
  listenHttp(settings, settings.ports.api, async (path) => {
    switch (path) {
      case '/healthz':
        return [200, 'ok'];
      case '/products':
        return db('products');
      case '/cart':
        return db('cart');
      case '/checkout':
        return ++checkouts % 5 === 0 ? [500, 'payment backend unavailable'] : db('orders');
      default:
        return [404, 'no such endpoint'];
    }
  });
}

/** backend/db: a line protocol over TCP, like a tiny key-value database. */
function db(settings: WorkloadSettings): void {
  const server = createTcpServer((s) => {
    s.setTimeout(5000, () => s.destroy());
    let buffer = '';
    s.on('data', (d) => {
      buffer += d.toString();
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line === 'PING') s.write('PONG\n');
        else if (line.startsWith('GET ')) s.write(`VALUE ${line.slice(4)}=42\n`);
        else s.write('ERR unknown command\n');
      }
    });
    s.on('error', () => undefined);
  });
  server.listen(settings.ports.db, settings.address, () => console.log(`listening on ${settings.address}:${settings.ports.db}`));
}

/** client/shopper: browses the shop 4 times a second (some 404s and 500s among them), looks up a missing name every 3 s, and keeps trying the API directly, which the policy denies. */
function client(settings: WorkloadSettings): void {
  const dns = resolver(settings);
  const pages = ['/', '/products', '/cart', '/products', '/checkout', '/', '/products', '/no-such-page', '/cart', '/products'];
  void every('shop', 250, async (n) => {
    const address = await lookup(dns, settings.names.web);
    await get(address, settings.ports.web, pages[n % pages.length]!, settings.names.web);
  });
  // NXDOMAIN: names that are not in the zone
  void every('missing names', 3000, async (n) => {
    const name = settings.names.missing[n % settings.names.missing.length]!;
    await lookup(dns, name).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOTFOUND') throw err;
    });
  });
  // Denied by the policy in backend (nftables): the SYN and the kernel's retransmission 1 s later are
  // both dropped; the attempt gives up after 1.2 s, so this is about 1.5 dropped packets a second.
  void every('direct to api', 1000, async () => {
    await probe(await lookup(dns, settings.names.api), settings.ports.api, 1200);
  });
}

/** management/console: polls every service's health every 2 s. */
function console_(settings: WorkloadSettings): void {
  const dns = resolver(settings);
  void every('health checks', 2000, async () => {
    await get(await lookup(dns, settings.names.web), settings.ports.web, '/healthz', settings.names.web);
    await get(await lookup(dns, settings.names.api), settings.ports.api, '/healthz', settings.names.api);
    const pong = await dbQuery(await lookup(dns, settings.names.db), settings.ports.db, 'PING');
    if (pong !== 'PONG') throw new Error(`db answered ${JSON.stringify(pong)}`);
  });
}

/** The outsider, in no identity: probes the backend (and the public shop) every 10 s. */
function outsider(settings: WorkloadSettings): void {
  const a = settings.addresses;
  void every('probes', 10_000, async () => {
    await get(a.web, settings.ports.web, '/', a.web).catch(() => 0);
    await get(a.api, settings.ports.api, '/admin', a.api).catch(() => 0);
    await probe(a.db, settings.ports.db);
  });
}

const ROLES: Partial<Record<Role, (s: WorkloadSettings) => void>> = { web, api, db, client, console: console_, outsider };

const [role, json] = process.argv.slice(2);
const run = ROLES[role as Role];
if (!run || !json) {
  console.error(`usage: workload.js ${Object.keys(ROLES).join('|')} JSON`);
  process.exit(2);
}
run(JSON.parse(json) as WorkloadSettings);
