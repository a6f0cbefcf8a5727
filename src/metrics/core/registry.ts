// Builds the registry that GET /metrics renders. Every family computes its
// values at scrape time from one datapath snapshot (see scrape.ts), so what a
// scrape shows is exactly what the kernel had counted at that moment.

import { collectDefaultMetrics, Registry } from 'prom-client';

/** Resolution of nodejs_eventloop_lag_*: how often the event loop is sampled. */
export const EVENT_LOOP_SAMPLE_MS = 100;
import { registerBuildInfo, type BuildInfo } from '../build-info.js';
import { registerConnectionAttempts } from '../connections.js';
import { registerDatapathStatus } from '../datapath-status.js';
import type { FamilyContext } from './family-context.js';
import { registerFlows } from '../flows.js';
import { registerFlowStore } from '../flow-store.js';
import { registerEventReader } from '../event-reader.js';
import { registerHttp, registerHttpMessages } from '../http.js';
import { registerIdentitySources } from '../identity-sources.js';
import { IdentityExpiry } from './identity-ttl.js';
import { contextLabelNames, PortFolder, validateContexts } from './labels.js';
import { registerPacketParse } from '../packet-parse.js';
import { ScrapeScope } from './scrape.js';
import { registerSeriesLimited } from '../series-limited.js';
import type { SeriesTable } from './series.js';
import { registerTcpFlags } from '../tcp-flags.js';
import { registerTcpRetransmits } from '../retransmits.js';
import { registerDrops } from '../drops.js';
import { registerDns } from '../dns.js';
import { registerDnsQueryNames, type DnsQueryNames } from '../dns-names.js';
import { registerTraffic } from '../traffic.js';
import { registerUnknownSources } from '../unknown-sources.js';
import type { EventReaderStatus, FlowStoreStatus, IdentityStatus, MetricsConfig, SpanStatus } from '../types.js';
import type { IdentityLookup } from '../../identity/contexts.js';
import type { DatapathSource } from '../../datapath/records.js';
import { registerSpans } from '../spans.js';
import type { ExchangeExemplars } from '../exemplars.js';

export interface CreateMetricsOptions {
  /** Registry to add the families to; a new one (Prometheus text format) by default. */
  registry?: Registry;
  config: MetricsConfig;
  identities: IdentityLookup;
  datapath: DatapathSource;
  identityStatus: IdentityStatus;
  build: BuildInfo;
  /** Clock for metrics.identityTtlSeconds; Date.now by default. */
  now?: () => number;
  /** The recent-flow store's self-metrics; left out when there is no store. */
  flowStore?: FlowStoreStatus;
  /** The event reader thread's scheduling; left out where events are not read (fakes, benchmarks). */
  eventReader?: EventReaderStatus;
  /** Span export counters; absent when no spans are built (the self-metrics then read 0). */
  spans?: SpanStatus;
  /** Flow-log export counters; absent when flow records are not exported (the self-metrics then read 0). */
  flowLogs?: SpanStatus;
  /** Trace ids of exported spans for the latency histograms' exemplars (OpenMetrics only). */
  exemplars?: ExchangeExemplars;
  /** Exchange counts by query name (dns.queryNames); without them there is no per-name family. */
  dnsNames?: DnsQueryNames | null;
  /** prom-client's process_* and nodejs_* metrics; on by default. */
  processMetrics?: boolean;
}

export function createMetrics(options: CreateMetricsOptions): Registry {
  const { config } = options;
  validateContexts(config.contexts);
  if (!(config.seriesLimit >= 0)) throw new RangeError(`seriesLimit must be a number >= 0, got ${config.seriesLimit}`);

  const registry = options.registry ?? new Registry();
  const registers = [registry];
  const expiry = config.identityTtlSeconds === undefined
    ? undefined
    : new IdentityExpiry(options.identities, config.identityTtlSeconds * 1000, options.now);
  const scope = new ScrapeScope(options.datapath, options.identities, [...config.contexts], expiry);
  const tables: SeriesTable[] = [];
  const flowContext: FamilyContext = {
    scope,
    contextLabelNames: contextLabelNames(config.contexts),
    seriesLimit: config.seriesLimit,
    registers,
    tables,
  };

  registerBuildInfo(registers, options.build);
  const ports = new PortFolder(config.destinationPorts);
  registerFlows(flowContext, ports);
  registerConnectionAttempts(flowContext, ports);
  registerTraffic(flowContext);
  registerTcpFlags(flowContext);
  registerTcpRetransmits(flowContext);
  registerDrops(flowContext);
  registerUnknownSources(flowContext, ports);
  registerDns(flowContext, registers, options.exemplars);
  if (options.dnsNames) registerDnsQueryNames(flowContext, options.dnsNames);
  registerHttp(flowContext, options.exemplars);
  // After the flow families: prom-client collects in registration order, so
  // refusals made by this scrape are already counted when this one reads them.
  registerSeriesLimited(registers, tables);
  registerPacketParse(registers, scope);
  registerHttpMessages(registers, scope);
  registerDatapathStatus(registers, scope);
  registerIdentitySources(registers, options.identityStatus);
  if (options.flowStore) registerFlowStore(registers, options.flowStore);
  if (options.eventReader) registerEventReader(registers, options.eventReader);
  registerSpans(registers, options.spans, options.flowLogs);
  // The event-loop lag histogram samples with a timer: prom-client's default of
  // every 10 ms woke the exporter 100 times a second, on the CPUs of the node's
  // workloads (iperf3 between two namespaces: 0.966 of its throughput with an
  // exporter attached to nothing). Every 100 ms still catches any stall.
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  return registry;
}
