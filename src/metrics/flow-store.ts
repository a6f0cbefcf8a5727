// The recent-flow store's own health: how full it is, what it holds in memory,
// what it evicted, and records live streams skipped for slow clients.

import type { Registry } from 'prom-client';
import { KernelCounter } from './core/kernel-counter.js';
import { KernelGauge } from './core/kernel-gauge.js';
import { unlabelled } from './core/series.js';
import type { FlowStoreStatus } from './types.js';
import { FLOW_STORE_RECORDS, FLOW_STORE_CAPACITY, FLOW_STORE_MEMORY_BYTES, FLOW_STORE_RECORDS_TOTAL, FLOW_STORE_EVICTED_TOTAL, FLOW_STREAMS, FLOW_STREAM_SKIPPED_TOTAL } from './names.js';

export function registerFlowStore(registers: Registry[], status: FlowStoreStatus): void {
  const gauge = (name: string, help: string, value: () => number) =>
    new KernelGauge({ name, help, labelNames: [], registers, read: () => unlabelled(value()) });
  const counter = (name: string, help: string, value: () => number) =>
    new KernelCounter({ name, help, labelNames: [], registers, read: () => unlabelled(value()) });
  gauge(FLOW_STORE_RECORDS, 'Records held in the recent-flow store (/api/flows, observe, the UI).', () => status.store().records);
  gauge(FLOW_STORE_CAPACITY, 'Records the recent-flow store holds at most (flows.capacity); the oldest are evicted beyond.', () => status.store().capacity);
  gauge(FLOW_STORE_MEMORY_BYTES, 'Estimated heap bytes of the records in the recent-flow store.', () => status.store().bytes);
  counter(FLOW_STORE_RECORDS_TOTAL, 'Records added to the recent-flow store since start.', () => status.store().received);
  counter(FLOW_STORE_EVICTED_TOTAL, 'Records the recent-flow store evicted (oldest first) to make room.', () => status.store().evicted);
  gauge(FLOW_STREAMS, 'Live /api/flows?follow=true streams.', () => status.streams());
  counter(FLOW_STREAM_SKIPPED_TOTAL, 'Records not sent to a live stream because its client did not keep up.', () => status.streamSkipped());
}
