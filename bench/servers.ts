import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../test/common/exporter.js';
import { inNs, type TestHost, type TestNetwork } from '../test/common/netns.js';

/**
 * The servers of bench/http.bench.ts's workloads, each started in a test
 * namespace with its config in its own directory. Nothing relies on (or stops)
 * the system's nginx or haproxy services. All are children of `net`, which
 * kills them in cleanup().
 */

/** nginx, one worker, no access log, everything in `dir`; `locations` is the server block's body. */
export function nginxConfig(dir: string, port: number, http: string, locations: string): string {
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d), { recursive: true });
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  # wrk keeps its connections for the whole run: no reconnects in the figures
  keepalive_requests 10000000;
  keepalive_timeout 60s;
${http}
  server {
    listen ${port};
${locations}
  }
}
`;
}

/** Starts nginx pinned to `cpu` in the host's namespace, with config `conf` in `dir`. */
async function startNginx(net: TestNetwork, host: TestHost, dir: string, port: number, conf: string, cpu: string): Promise<ChildProcess> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'nginx.conf'), conf);
  // -e: nginx opens its default error log before reading the config; keep it in dir too
  const nginx = net.spawnIn(host.ns, 'taskset', ['-c', cpu, 'nginx', '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'nginx-error.log')]);
  await listening(host, port, nginx, 'nginx');
  return nginx;
}

/** nginx answering every path with a 15-byte body: the cheapest request there is. */
export function startTinyNginx(net: TestNetwork, host: TestHost, dir: string, port: number, cpu: string): Promise<ChildProcess> {
  const locations = `    location / {
      default_type text/plain;
      return 200 "flowlens bench\\n";
    }`;
  return startNginx(net, host, dir, port, nginxConfig(dir, port, '', locations), cpu);
}

/**
 * nginx as a service's frontend: a reverse proxy to `backend`, keeping its
 * upstream connections open (HTTP/1.1, no Connection header passed on), as a
 * frontend in front of an API does.
 */
export function startFrontendNginx(
  net: TestNetwork,
  host: TestHost,
  dir: string,
  port: number,
  backend: { address: string; port: number },
  cpu: string,
): Promise<ChildProcess> {
  const upstream = `  upstream backend {
    server ${backend.address}:${backend.port};
    keepalive 32;
    keepalive_requests 10000000;
    keepalive_timeout 60s;
  }`;
  const locations = `    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }`;
  return startNginx(net, host, dir, port, nginxConfig(dir, port, upstream, locations), cpu);
}

/** The Node.js backend (bench/service-backend.mjs), pinned to `cpu`. */
export async function startBackend(net: TestNetwork, host: TestHost, port: number, cpu: string): Promise<ChildProcess> {
  const script = join(import.meta.dirname, 'service-backend.mjs');
  const backend = net.spawnIn(host.ns, 'taskset', ['-c', cpu, process.execPath, script, host.address, String(port)]);
  await listening(host, port, backend, 'the Node.js backend');
  return backend;
}

/**
 * haproxy (one thread) as a sidecar in the host's namespace: listening on the
 * pod's address at `port`, forwarding over loopback to the app on `appPort`.
 */
export async function startSidecar(net: TestNetwork, host: TestHost, dir: string, port: number, appPort: number, cpu: string): Promise<ChildProcess> {
  const conf = `global
  nbthread 1
defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend sidecar
  bind ${host.address}:${port}
  default_backend app
backend app
  http-reuse always
  server app 127.0.0.1:${appPort}
`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'haproxy.cfg'), conf);
  const haproxy = net.spawnIn(host.ns, 'taskset', ['-c', cpu, 'haproxy', '-db', '-f', join(dir, 'haproxy.cfg')]);
  await listening(host, port, haproxy, 'haproxy');
  return haproxy;
}

/** Waits until something listens on `port` in the namespace (bounded). */
async function listening(host: TestHost, port: number, child: ChildProcess, what: string): Promise<void> {
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  await waitFor(`${what} on port ${port}`, 10_000, () => stderr, async () => {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}:\n${stderr}`);
    return inNs(host.ns, 'ss', ['-Hltn', `sport = :${port}`]).trim() ? true : undefined;
  });
}
