// Health of the kernel side: map pressure, lost events, program cost and
// attachment count. Values are absolute kernel totals, replaced every scrape.

import { Counter, Gauge, type Registry } from 'prom-client';
import type { ScrapeScope } from './core/scrape.js';
import { BPF_MAP_ENTRIES, BPF_MAP_CAPACITY, BPF_MAP_UPDATE_ERRORS_TOTAL, EVENTS_LOST_TOTAL, BPF_PROGRAM_RUNS_TOTAL, BPF_PROGRAM_RUN_SECONDS_TOTAL, ATTACHED_INTERFACES } from './names.js';

export function registerDatapathStatus(registers: Registry[], scope: ScrapeScope): void {
  new Gauge({
    name: BPF_MAP_ENTRIES,
    help:
      'Entries in a BPF map; compare with flowlens_bpf_map_capacity: a full counter map counts new keys under ' +
      'its overflow key (the "overflow" series), losing who they were.',
    labelNames: ['map'],
    registers,
    collect() {
      this.reset();
      for (const m of scope.current().snapshot.maps) this.inc({ map: m.map }, m.entries);
    },
  });
  new Gauge({
    name: BPF_MAP_CAPACITY,
    help: 'Maximum entries of a BPF map (max_entries).',
    labelNames: ['map'],
    registers,
    collect() {
      this.reset();
      for (const m of scope.current().snapshot.maps) this.inc({ map: m.map }, m.capacity);
    },
  });
  new Counter({
    name: BPF_MAP_UPDATE_ERRORS_TOTAL,
    help:
      'Counts whose key a full BPF map could not take, by map. A counter map adds them to its overflow key, ' +
      'exported as the family\'s "overflow" series, so totals stay exact; a state map (flow_conntrack, ' +
      'http_connections) loses that state.',
    labelNames: ['map'],
    registers,
    collect() {
      this.reset();
      for (const e of scope.current().snapshot.mapUpdateErrors) this.inc({ map: e.map }, e.count);
    },
  });
  new Counter({
    name: EVENTS_LOST_TOTAL,
    help: 'Events (new flows, TCP outcomes, DNS exchanges, drops) the kernel could not deliver to user space, by event source and reason (rate_limit, ring_full).',
    labelNames: ['source', 'reason'],
    registers,
    collect() {
      this.reset();
      for (const e of scope.current().snapshot.eventsLost) this.inc({ source: e.source, reason: e.reason }, e.count);
    },
  });
  new Counter({
    name: BPF_PROGRAM_RUNS_TOTAL,
    help: 'Runs of a BPF program (kernel bpf_stats; 0 while kernel.bpf_stats_enabled is off).',
    labelNames: ['program'],
    registers,
    collect() {
      this.reset();
      for (const p of scope.current().snapshot.programs) this.inc({ program: p.program }, p.runs);
    },
  });
  new Counter({
    name: BPF_PROGRAM_RUN_SECONDS_TOTAL,
    help: 'Time spent running a BPF program (kernel bpf_stats; 0 while kernel.bpf_stats_enabled is off).',
    labelNames: ['program'],
    registers,
    collect() {
      this.reset();
      for (const p of scope.current().snapshot.programs) this.inc({ program: p.program }, p.runSeconds);
    },
  });
  new Gauge({
    name: ATTACHED_INTERFACES,
    help: 'Network interfaces the datapath programs are attached to.',
    registers,
    collect() {
      this.set(scope.current().snapshot.attachedInterfaces);
    },
  });
}
