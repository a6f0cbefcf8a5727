// What datapath.mapEntries costs in kernel memory, worked out before any map
// is created: the counter maps are preallocated per-CPU hash maps, so every
// entry is paid for up front, once per possible CPU. A setting that would
// take the node's memory is refused here rather than by the OOM killer.

import { readFileSync } from 'node:fs';
import {
  DNS_QUERY_KEY,
  DNS_RESPONSE_KEY,
  DNS_RESPONSE_VALUE,
  DROP_KEY,
  FLOW_KEY,
  FLOW_TRAFFIC_VALUE,
  HTTP_REQUEST_KEY,
  HTTP_RESPONSE_KEY,
  HTTP_RESPONSE_VALUE,
  TCP_OUTCOME_KEY,
  TCP_RETRANSMIT_KEY,
} from '../bpf/codecs.js';

const U64 = 8;

/** Every map that datapath.mapEntries sizes (the counter maps of flow, drop and retransmit objects): key and value bytes. */
export const COUNTER_MAP_LAYOUTS: ReadonlyArray<{ map: string; keySize: number; valueSize: number }> = [
  { map: 'flow_traffic', keySize: FLOW_KEY.size, valueSize: FLOW_TRAFFIC_VALUE.size },
  { map: 'flows', keySize: FLOW_KEY.size, valueSize: U64 },
  { map: 'tcp_attempts', keySize: TCP_OUTCOME_KEY.size, valueSize: U64 },
  { map: 'dns_queries', keySize: DNS_QUERY_KEY.size, valueSize: U64 },
  { map: 'dns_responses', keySize: DNS_RESPONSE_KEY.size, valueSize: DNS_RESPONSE_VALUE.size },
  { map: 'http_requests', keySize: HTTP_REQUEST_KEY.size, valueSize: U64 },
  { map: 'http_responses', keySize: HTTP_RESPONSE_KEY.size, valueSize: HTTP_RESPONSE_VALUE.size },
  { map: 'drops', keySize: DROP_KEY.size, valueSize: U64 },
  { map: 'dropped_flows', keySize: FLOW_KEY.size, valueSize: U64 },
  { map: 'tcp_retransmits', keySize: TCP_RETRANSMIT_KEY.size, valueSize: U64 },
];

/**
 * The kernel's preallocated element of a per-CPU hash map (kernel/bpf/hashtab.c):
 * struct htab_elem (list node, hash, the per-CPU pointer: 48 bytes on 64-bit)
 * and the key rounded up to 8; each CPU's value rounded up to 8 lives in
 * per-CPU memory.
 */
const HTAB_ELEM_BYTES = 48;
const roundUp8 = (n: number): number => Math.ceil(n / 8) * 8;

/** Bytes of kernel memory the counter maps take at `mapEntries` entries each, with `cpus` possible CPUs. */
export function counterMapBytes(mapEntries: number, cpus: number): number {
  let perEntry = 0;
  for (const { keySize, valueSize } of COUNTER_MAP_LAYOUTS) perEntry += HTAB_ELEM_BYTES + roundUp8(keySize) + cpus * roundUp8(valueSize);
  return mapEntries * perEntry;
}

/** The documented bound: the counter maps may take at most an eighth of the node's memory. */
export const MAP_MEMORY_SHARE = 1 / 8;

/** The node's memory (MemTotal of /proc/meminfo), in bytes. */
export function memTotalBytes(meminfo = readFileSync('/proc/meminfo', 'utf8')): number {
  const kib = /^MemTotal:\s+(\d+) kB$/m.exec(meminfo);
  if (!kib) throw new Error('no MemTotal in /proc/meminfo');
  return Number(kib[1]) * 1024;
}

const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

/**
 * Why `mapEntries` is refused on a node with `cpus` possible CPUs and
 * `memory` bytes, or undefined when it fits under the bound.
 */
export function mapMemoryProblem(mapEntries: number, cpus: number, memory: number): string | undefined {
  const bytes = counterMapBytes(mapEntries, cpus);
  const limit = Math.floor(memory * MAP_MEMORY_SHARE);
  if (bytes <= limit) return undefined;
  return (
    `${mapEntries} entries in each of the ${COUNTER_MAP_LAYOUTS.length} counter maps would take ${gib(bytes)} of kernel memory ` +
    `on this node (${cpus} possible CPUs), more than the ${gib(limit)} allowed (an eighth of its ${gib(memory)})`
  );
}
