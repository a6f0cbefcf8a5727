// Health of the kernel side: map pressure, lost events, program cost and
// attachment count. Values are absolute kernel totals, replaced every scrape.

import type { Registry } from 'prom-client';
import { KernelCounter } from './core/kernel-counter.js';
import { KernelGauge } from './core/kernel-gauge.js';
import type { ScrapeScope } from './core/scrape.js';
import { sumByLabels, unlabelled } from './core/series.js';
import { BPF_MAP_ENTRIES, BPF_MAP_CAPACITY, BPF_MAP_UPDATE_ERRORS_TOTAL, EVENTS_LOST_TOTAL, BPF_PROGRAM_RUNS_TOTAL, BPF_PROGRAM_RUN_SECONDS_TOTAL, ATTACHED_INTERFACES } from './names.js';

export function registerDatapathStatus(registers: Registry[], scope: ScrapeScope): void {
  const snapshot = () => scope.current().snapshot;
  new KernelGauge({
    name: BPF_MAP_ENTRIES,
    help:
      'Entries in a BPF map; compare with flowlens_bpf_map_capacity: a full counter map counts new keys under ' +
      'its overflow key (the "overflow" series), losing who they were.',
    labelNames: ['map'],
    registers,
    read: () => sumByLabels(snapshot().maps.map((m) => [{ map: m.map }, m.entries])),
  });
  new KernelGauge({
    name: BPF_MAP_CAPACITY,
    help: 'Maximum entries of a BPF map (max_entries).',
    labelNames: ['map'],
    registers,
    read: () => sumByLabels(snapshot().maps.map((m) => [{ map: m.map }, m.capacity])),
  });
  new KernelCounter({
    name: BPF_MAP_UPDATE_ERRORS_TOTAL,
    help:
      'Counts whose key a full BPF map could not take, by map. A counter map adds them to its overflow key, ' +
      'exported as the family\'s "overflow" series, so totals stay exact; a state map (flow_conntrack, ' +
      'http_connections) loses that state.',
    labelNames: ['map'],
    registers,
    read: () => sumByLabels(snapshot().mapUpdateErrors.map((e) => [{ map: e.map }, e.count])),
  });
  new KernelCounter({
    name: EVENTS_LOST_TOTAL,
    help: 'Events (new flows, TCP outcomes, DNS exchanges, drops) the kernel could not deliver to user space, by event source and reason (rate_limit, ring_full).',
    labelNames: ['source', 'reason'],
    registers,
    read: () => sumByLabels(snapshot().eventsLost.map((e) => [{ source: e.source, reason: e.reason }, e.count])),
  });
  new KernelCounter({
    name: BPF_PROGRAM_RUNS_TOTAL,
    help: 'Runs of a BPF program (kernel bpf_stats; 0 while kernel.bpf_stats_enabled is off).',
    labelNames: ['program'],
    registers,
    read: () => sumByLabels(snapshot().programs.map((p) => [{ program: p.program }, p.runs])),
  });
  new KernelCounter({
    name: BPF_PROGRAM_RUN_SECONDS_TOTAL,
    help: 'Time spent running a BPF program (kernel bpf_stats; 0 while kernel.bpf_stats_enabled is off).',
    labelNames: ['program'],
    registers,
    read: () => sumByLabels(snapshot().programs.map((p) => [{ program: p.program }, p.runSeconds])),
  });
  new KernelGauge({
    name: ATTACHED_INTERFACES,
    help: 'Network interfaces the datapath programs are attached to.',
    labelNames: [],
    registers,
    read: () => unlabelled(snapshot().attachedInterfaces),
  });
}
