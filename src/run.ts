import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { AttachManager, MissingInterfaceError } from './datapath/attach.js';
import { DropReasons } from './datapath/drop-reasons.js';
import { DropDatapath } from './datapath/drop.js';
import { FlowDatapath } from './datapath/flow.js';
import { withDrops, withRetransmits } from './datapath/snapshot.js';
import { RetransmitDatapath } from './datapath/retransmit.js';
import { migrateRenamedPins, preparePinPath } from './datapath/pins.js';
import { mapMemoryProblem, memTotalBytes } from './datapath/map-memory.js';
import { possibleCpus, RingReader, type ReaderThreadStatus } from './bpf/index.js';
import { createError, readTextFile, wrapError } from './errors.js';
import { FlowStore } from './flows/store.js';
import { RecordBuilder } from './flows/record.js';
import { identityResolver } from './flows/identities.js';
import type { FlowsApiStats } from './server/flows.js';
import { parseCidr } from './net/cidr.js';
import { identityContexts } from './identity/contexts.js';
import { DropExplainer, dropTuple, type ExplainedDropEvent } from './identity/drop-explainer.js';
import { IpcacheSync } from './identity/ipcache-sync.js';
import { inCluster } from './identity/in-cluster.js';
import { KUBERNETES_SOURCE } from './identity/kube-derive.js';
import type { KubernetesIdentitySource } from './identity/kubernetes.js';
import { StaticIdentitySource, STATIC_SOURCE } from './identity/static-source.js';
import { IdentityStore } from './identity/store.js';
import type { Logger } from './log.js';
import { createMetrics, DnsQueryNames, ExchangeExemplars } from './metrics/index.js';
import type { IdentitySourceStatus } from './metrics/types.js';
import { buildServer, startServer } from './server/index.js';
import { closeHttpServer, trackConnections } from './shutdown.js';
import { dnsExchange } from './traces/dns.js';
import { httpExchange, pathRedactions } from './traces/http.js';
import { redactPath } from './traces/http-span.js';
import { otlpEndpoint } from './traces/otel-env.js';
import type { SpanSink } from './traces/sink.js';

/** The registered error for a failed load; a pinned map of another layout gets its own. */
function loadError(err: unknown, object: string, log: Logger): Error {
  const e = err as Error & { verifierLog?: string };
  const pinned = /couldn't reuse pinned map at '([^']+)'/.exec(e.message);
  if (pinned) return wrapError(err, 'FLOWLENS_ERR_PINNED_MAP_MISMATCH', pinned[1]!);
  // preflight() saw the capabilities in the effective set: an EPERM now comes from a filter in front of the kernel's capability checks
  if ((err as { code?: unknown }).code === 'EPERM') return wrapError(err, 'FLOWLENS_ERR_BPF_DENIED', object, e.message);
  if (e.verifierLog) log.error(`verifier log:\n${e.verifierLog}`);
  return wrapError(err, 'FLOWLENS_ERR_BPF_LOAD_FAILED', object, e.message);
}

/** The bearer token from its file: one token of visible characters; a trailing newline is fine. */
export function readApiToken(path: string): string {
  const token = readTextFile(path, 'FLOWLENS_ERR_API_TOKEN_UNREADABLE').trim();
  if (token === '') throw createError('FLOWLENS_ERR_API_TOKEN_UNREADABLE', path, 'the file is empty');
  if (!/^[\x21-\x7e]+$/.test(token)) throw createError('FLOWLENS_ERR_API_TOKEN_UNREADABLE', path, 'the token must be visible ASCII characters without spaces');
  return token;
}

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8'));
  return String(pkg.version);
}

/** fn, at most once per intervalMs: a receiver that is down must not flood the log. */
function throttled<T>(intervalMs: number, fn: (arg: T) => void): (arg: T) => void {
  let last = -Infinity;
  return (arg) => {
    const now = Date.now();
    if (now - last < intervalMs) return;
    last = now;
    fn(arg);
  };
}

/** A running exporter; stop() undoes everything start did, in reverse order. */
export interface Exporter {
  address: { host: string; port: number };
  stop(): Promise<void>;
  /** The step stop() is in (e.g. "the HTTP server"), for a shutdown that takes too long to say so. */
  readonly stopping: string | undefined;
}

/**
 * Starts the exporter: identities, the kernel side, interface attachment, then
 * the HTTP server. Any failure undoes what was already set up before it is
 * rethrown, so a failed start leaves no program attached.
 */
export async function startExporter(config: Config, log: Logger): Promise<Exporter> {
  // each step named, so that a shutdown that hangs can say where
  const undo: Array<[what: string, step: () => void | Promise<void>]> = [];
  let stopping: string | undefined;
  const stop = async () => {
    for (const [what, step] of undo.reverse()) {
      stopping = what;
      try {
        await step();
      } catch (err) {
        log.warn(`shutdown: ${what}: ${(err as Error).message}`);
      }
    }
    stopping = undefined;
    undo.length = 0;
  };

  try {
    const store = new IdentityStore({
      clusterCidrs: config.clusterCidrs.map((c) => parseCidr(c)),
      onCollision: (err) => log.error(err.message),
    });

    let staticSource: StaticIdentitySource | undefined;
    if (config.identities) {
      staticSource = new StaticIdentitySource({
        path: config.identities,
        store,
        exclude: config.identityLabels.exclude,
        onError: (err) => log.error(`identity file reload failed, keeping the last good identities: ${err.message}`),
        onReload: (count) => log.info(`loaded ${count} identities from ${config.identities}`),
      });
      staticSource.start();
      undo.push(['the identity file watch', () => staticSource!.stop()]);
    }

    // the node's name: in Kubernetes its Node object's, and the name records and the flows API report
    const nodeName = config.nodeName ?? hostname();

    // The kubeconfig is checked before anything touches the kernel: a bad one is a start-up error.
    let kubeSource: KubernetesIdentitySource | undefined;
    const kubernetes = config.kubernetes.enabled === 'on' ||
      (config.kubernetes.enabled === 'auto' && (config.kubeconfig !== null || config.kubeContext !== null || inCluster()));
    if (kubernetes) {
      // loaded only when used: the Kubernetes client is about 65 MiB of RSS once loaded (bench/memory.bench.ts)
      const { loadKubeConfig, serverOf } = await import('./identity/kube-client.js');
      const { KubernetesIdentitySource } = await import('./identity/kubernetes.js');
      const kubeconfig = loadKubeConfig({ path: config.kubeconfig, context: config.kubeContext });
      kubeSource = new KubernetesIdentitySource({
        kubeconfig,
        store,
        nodeName,
        exclude: config.identityLabels.exclude,
        staleGraceMs: config.kubernetes.staleGraceSeconds * 1000,
        networkPolicies: config.kubernetes.networkPolicies,
        log,
      });
      kubeSource.start();
      undo.push(['the Kubernetes watches', () => kubeSource!.stop()]);
      log.info(`kubernetes: watching ${serverOf(kubeconfig)} as node ${nodeName}`);
    }

    // the recent-flow store, fed by the events of both programs
    const reasons = DropReasons.fromKernel(config.drops.reasonClasses);
    const flows = new FlowStore(config.flows.capacity);
    const records = new RecordBuilder({
      node: nodeName,
      resolve: identityResolver(store),
      dropReason: (value) => {
        const r = reasons.get(value);
        return { name: r.name, reasonClass: r.reasonClass };
      },
    });
    const apiToken = config.apiTokenFile === null ? null : readApiToken(config.apiTokenFile);

    const contexts = identityContexts(store);
    const redactions = pathRedactions(config.http.redactPaths);
    const redact = (path: string): string => redactPath(path, redactions);
    // no endpoint, no sink: exchanges are then never turned into spans, and the OpenTelemetry SDK and
    // gRPC (about 25 MiB of RSS once loaded) are not loaded
    const endpoint = otlpEndpoint(config.otlpEndpoint, process.env);
    const telemetry = endpoint === null ? null : await (await import('./traces/sink.js')).startTelemetry(
      { endpoint: config.otlpEndpoint, ...config.traces },
      {
        serviceVersion: packageVersion(),
        nodeName,
        workloads: (id) => store.resolve(id),
        podAt: (address) => kubeSource?.policyPodAt(address)?.name,
        flowLogs: config.flowLogs,
        onExportError: throttled(60_000, (err) => log.warn(`OTLP export failed (counted in flowlens_spans_dropped_total / flowlens_flow_logs_dropped_total): ${err.message}`)),
      },
    );
    const spans: SpanSink | null = telemetry?.spans ?? null;
    // trace ids of exported spans, shown as exemplars of the latency histograms
    const exemplars = new ExchangeExemplars();
    if (telemetry) {
      undo.push(['the OTLP export', () => telemetry.shutdown()]);
      log.info(`sending spans${telemetry.flowLogs ? ' and flow logs' : ''} to ${endpoint}`);
      const flowLogs = telemetry.flowLogs;
      if (flowLogs) undo.push(['the flow-log subscription', flows.subscribe((record) => flowLogs.emit(record))]);
    }

    // exchanges by query name, when dns.queryNames is on: counted from the exchange events
    const dnsNames = DnsQueryNames.fromConfig(config.dns.queryNames, config.metrics.seriesLimit);
    if (dnsNames) {
      const { mode, suffixes, top } = config.dns.queryNames;
      log.info(`DNS query names: ${mode === 'top' ? `the top ${top}` : `under ${suffixes.join(', ')}`}; the rest as "other"`);
    }

    // the counter maps are preallocated: refuse a size the node cannot afford before creating any
    const mapMemory = mapMemoryProblem(config.datapath.mapEntries, possibleCpus(), memTotalBytes());
    if (mapMemory) throw createError('FLOWLENS_ERR_CONFIG_INVALID', 'datapath.mapEntries', mapMemory);

    if (config.pinPath) {
      preparePinPath(config.pinPath, log);
      migrateRenamedPins(config.pinPath, log);
    }
    // after the programs' rings close (undo runs in reverse): stop() returns once the thread that read them has ended
    undo.push(['the event reader thread', () => RingReader.threadStopped()]);
    let datapath: FlowDatapath;
    try {
      datapath = FlowDatapath.load({
        pinPath: config.pinPath,
        attachMode: config.datapath.attachMode,
        flowIdleTimeoutSeconds: config.datapath.flowIdleTimeoutSeconds,
        eventsPerSecond: config.datapath.eventsPerSecond,
        ringBufferBytes: config.datapath.ringBufferBytes,
        mapEntries: config.datapath.mapEntries,
        destinationPorts: config.metrics.destinationPorts,
        programStats: config.datapath.programStats,
        tcpUnansweredTimeoutSeconds: config.datapath.tcpUnansweredTimeoutSeconds,
        onFlowEvent: (event) => flows.push(records.fromFlow(event)),
        onTcpOutcome: (event) => flows.push(records.fromTcpOutcome(event)),
        dnsPorts: config.dns.ports,
        dnsUnansweredTimeoutSeconds: config.dns.unansweredTimeoutSeconds,
        onDnsEvent: (event) => {
          flows.push(records.fromDns(event));
          dnsNames?.observe(event);
          const traceId = spans?.record(dnsExchange(event, contexts));
          if (traceId !== undefined) exemplars.observeDns(event, traceId);
        },
        http: config.http.enabled,
        onHttpEvent: (event) => {
          flows.push(records.fromHttp(event, redact));
          const traceId = spans?.record(httpExchange(event, contexts, redactions));
          if (traceId !== undefined) exemplars.observeHttp(event, traceId);
        },
        log,
      });
    } catch (err) {
      throw loadError(err, 'flow.bpf.o', log);
    }
    undo.push(['the flow programs', () => datapath.close()]);

    for (const name of Object.keys(config.drops.reasonClasses)) {
      if (reasons.valueOf(name) === undefined) log.warn(`drops.reasonClasses: this kernel has no drop reason "${name}"`);
    }
    // Drop events reach their consumers enriched: a policy-class drop carries
    // the NetworkPolicy explanation (`policy`) when NetworkPolicies are watched.
    const explainer = kubeSource && config.kubernetes.networkPolicies
      ? new DropExplainer({ policies: kubeSource, reasonClass: (r) => reasons.get(r).reasonClass, resolve: (id) => store.resolve(id) })
      : undefined;
    const dropConsumers: Array<(event: ExplainedDropEvent) => void> = [
      (event) => flows.push(records.fromDrop(event)),
      (event) => {
        if (event.policy) log.debug(`policy drop ${dropTuple(event)} (${reasons.get(event.reason).name}): ${event.policy.explanation}`);
      },
    ];
    let drops: DropDatapath;
    try {
      drops = DropDatapath.load({
        identityMaps: datapath.identityMaps(),
        pinPath: config.pinPath,
        eventsPerSecond: config.datapath.eventsPerSecond,
        ringBufferBytes: config.datapath.ringBufferBytes,
        mapEntries: config.datapath.mapEntries,
        destinationPorts: config.metrics.destinationPorts,
        onDropEvent: (event) => {
          const enriched = explainer ? explainer.explain(event) : event;
          for (const consume of dropConsumers) consume(enriched);
        },
      });
    } catch (err) {
      throw loadError(err, 'drop.bpf.o', log);
    }
    undo.push(['the drop tracer', () => drops.close()]);

    // the events of both programs are read by one thread, which lowers itself to SCHED_IDLE
    let reader: ReaderThreadStatus;
    try {
      reader = await RingReader.threadStarted()!;
    } catch (err) {
      throw createError('FLOWLENS_ERR_EVENT_READER_FAILED', (err as Error).message);
    }
    if (reader.idle) log.info(`events are read by thread ${reader.tid} at SCHED_IDLE, on CPU time the node's workloads leave over`);
    else log.warn(`events are read by thread ${reader.tid} at normal priority: SCHED_IDLE was refused (${reader.error})`);

    let retransmits: RetransmitDatapath;
    try {
      retransmits = RetransmitDatapath.load({
        identityMaps: datapath.identityMaps(),
        pinPath: config.pinPath,
        mapEntries: config.datapath.mapEntries,
      });
    } catch (err) {
      throw loadError(err, 'retransmit.bpf.o', log);
    }
    undo.push(['the retransmit tracer', () => retransmits.close()]);

    // identities into the kernel before the first packet is attributed
    const sync = new IpcacheSync(datapath.ipcacheWriter());
    const syncIpcache = () => {
      try {
        const { set, deleted } = sync.sync(store.prefixes());
        if (set || deleted) log.debug(`ipcache: ${set} prefixes set, ${deleted} deleted`);
      } catch (err) {
        log.error(`ipcache update failed (will retry on the next change): ${(err as Error).message}`);
      }
    };
    syncIpcache();
    const unsubscribe = store.subscribe(syncIpcache);
    undo.push(['the ipcache sync', unsubscribe]);

    const manager = new AttachManager({
      endpointPatterns: config.interfaces,
      nodePatterns: config.nodeInterfaces,
      attacher: datapath,
      scanIntervalMs: config.datapath.interfaceScanMilliseconds,
      log,
    });
    try {
      manager.start();
    } catch (err) {
      if (err instanceof MissingInterfaceError) throw createError('FLOWLENS_ERR_INTERFACE_NOT_FOUND', err.names.join(', '));
      throw err;
    }
    undo.push(['the interface attachments', () => manager.stop()]);
    log.info(`attached to ${manager.attachedCount} interfaces; following ${[...config.interfaces, ...config.nodeInterfaces].join(', ')}`);

    let apiStats: FlowsApiStats | undefined;
    const registry = createMetrics({
      config: config.metrics,
      identities: contexts,
      ...(spans ? { spans: spans.stats } : {}),
      ...(telemetry?.flowLogs ? { flowLogs: telemetry.flowLogs.stats } : {}),
      exemplars,
      dnsNames,
      datapath: {
        snapshot: () =>
          withRetransmits(withDrops(datapath.snapshot(manager.attachedCount), drops.snapshot(), reasons), retransmits.snapshot()),
      },
      identityStatus: {
        sources: (): IdentitySourceStatus[] => {
          const counts = store.counts();
          const out: IdentitySourceStatus[] = [];
          if (staticSource) {
            out.push({ source: STATIC_SOURCE, up: staticSource.up, identities: counts.get(STATIC_SOURCE) ?? 0, reloadFailures: staticSource.reloadFailures });
          }
          if (kubeSource) {
            out.push({
              source: KUBERNETES_SOURCE,
              up: kubeSource.up,
              identities: counts.get(KUBERNETES_SOURCE) ?? 0,
              reloadFailures: 0,
              watchRestarts: kubeSource.watchRestarts,
              ...(kubeSource.lastSyncSeconds !== undefined ? { lastSyncSeconds: kubeSource.lastSyncSeconds } : {}),
            });
          }
          return out;
        },
      },
      build: { version: packageVersion(), node: process.version },
      eventReader: () => RingReader.threadStatus(),
      flowStore: {
        store: () => flows.stats(),
        streams: () => apiStats?.streams ?? 0,
        streamSkipped: () => apiStats?.streamSkipped ?? 0,
      },
    });

    const app: FastifyInstance = buildServer({
      registry,
      // ready once the programs are attached and the identities loaded: start() got this far only if
      // both hold, except for the Kubernetes source, which must have listed everything once
      ready: () => {
        const pending = kubeSource?.pendingResources() ?? [];
        if (!kubeSource || kubeSource.synced) return { ready: true, reasons: [] };
        return { ready: false, reasons: [`waiting for the first sync with the Kubernetes API server (${pending.join(', ') || 'publishing'})`] };
      },
      logger: log,
      flows: {
        store: flows,
        version: packageVersion(),
        protection: { token: apiToken, requestsPerSecond: config.api.requestsPerSecond },
        onStats: (stats) => (apiStats = stats),
      },
    });
    const connections = trackConnections(app.server);
    const address = await startServer(app, config.listen);
    undo.push(['the HTTP server', () => closeHttpServer(app, connections, log)]);
    const base = `http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
    log.info(`serving metrics on ${base}/metrics, flows on ${base}/api/flows and the UI on ${base}/${apiToken === null ? '' : ' (bearer token required)'}`);
    return {
      address,
      stop,
      get stopping() {
        return stopping;
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
