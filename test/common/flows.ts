import type { FlowEndpoint, FlowRecord } from '../../src/flows/record.js';

/** A test endpoint: a workload of namespace `ns`, or a reserved identity when ns is ''. */
export function end(identity: number, ns: string, workload: string, ip: string, port: number, extra: Partial<FlowEndpoint> = {}): FlowEndpoint {
  const reserved = ns === '' && workload.startsWith('reserved:');
  return {
    identity,
    identityName: reserved ? workload : String(identity),
    namespace: ns,
    workload,
    pod: '',
    labels: {},
    ip,
    port,
    ...extra,
  };
}

export const FRONTEND = (port = 40000, ip = '10.0.0.1') => end(70001, 'shop', 'frontend', ip, port, { labels: { app: 'frontend' } });
export const API = (port = 8080, ip = '10.0.0.2') => end(70002, 'shop', 'api', ip, port);
export const DB = (port = 5432, ip = '10.0.1.3') => end(70003, 'data', 'db', ip, port, { pod: 'db-0' });
export const WORLD = (port = 51000, ip = '192.0.2.7') => end(2, '', 'reserved:world', ip, port);

/** A record at `second` seconds past 2026-01-01T00:00:00Z (plus `nanos`). */
export function rec(second: number, over: Partial<FlowRecord> = {}, nanos = 0): FlowRecord {
  const base = Date.UTC(2026, 0, 1) + second * 1000;
  const iso = new Date(base).toISOString().slice(0, 19);
  return {
    seq: 0,
    time: `${iso}.${String(nanos).padStart(9, '0')}Z`,
    node: 'node-a',
    type: 'flow',
    verdict: 'forwarded',
    direction: 'egress',
    protocol: 'tcp',
    ipVersion: 4,
    source: FRONTEND(),
    destination: API(),
    ifindex: 5,
    summary: 'new flow',
    ...over,
  };
}

export const T0 = Date.UTC(2026, 0, 1);
