import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { AttachManager, MissingInterfaceError } from './datapath/attach.js';
import { DropReasons } from './datapath/drop-reasons.js';
import { DropDatapath } from './datapath/drop.js';
import { FlowDatapath } from './datapath/flow.js';
import { withDrops } from './datapath/snapshot.js';
import { preparePinPath } from './datapath/pins.js';
import { createError, wrapError } from './errors.js';
import { parseCidr } from './identity/cidr.js';
import { identityContexts } from './identity/contexts.js';
import { IpcacheSync } from './identity/ipcache-sync.js';
import { StaticIdentitySource, STATIC_SOURCE } from './identity/static-source.js';
import { IdentityStore } from './identity/store.js';
import type { Logger } from './log.js';
import { createMetrics } from './metrics/index.js';
import type { IdentitySourceStatus } from './metrics/types.js';
import { buildServer, startServer } from './server/index.js';

/** The registered error for a failed load; a pinned map of another layout gets its own. */
function loadError(err: unknown, object: string, log: Logger): Error {
  const e = err as Error & { verifierLog?: string };
  const pinned = /couldn't reuse pinned map at '([^']+)'/.exec(e.message);
  if (pinned) return wrapError(err, 'FLOWLENS_ERR_PINNED_MAP_MISMATCH', pinned[1]!);
  if (e.verifierLog) log.error(`verifier log:\n${e.verifierLog}`);
  return wrapError(err, 'FLOWLENS_ERR_BPF_LOAD_FAILED', object, e.message);
}

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8'));
  return String(pkg.version);
}

/** A running exporter; stop() undoes everything start did, in reverse order. */
export interface Exporter {
  address: { host: string; port: number };
  stop(): Promise<void>;
}

/**
 * Starts the exporter: identities, the kernel side, interface attachment, then
 * the HTTP server. Any failure undoes what was already set up before it is
 * rethrown, so a failed start leaves no program attached.
 */
export async function startExporter(config: Config, log: Logger): Promise<Exporter> {
  const undo: Array<() => void | Promise<void>> = [];
  const stop = async () => {
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch (err) {
        log.warn(`shutdown: ${(err as Error).message}`);
      }
    }
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
      undo.push(() => staticSource!.stop());
    }

    if (config.pinPath) preparePinPath(config.pinPath, log);
    let datapath: FlowDatapath;
    try {
      datapath = FlowDatapath.load({
        pinPath: config.pinPath,
        attachMode: config.datapath.attachMode,
        flowIdleTimeoutSeconds: config.datapath.flowIdleTimeoutSeconds,
        eventsPerSecond: config.datapath.eventsPerSecond,
        ringBufferBytes: config.datapath.ringBufferBytes,
        mapEntries: config.datapath.mapEntries,
        programStats: config.datapath.programStats,
        tcpUnansweredTimeoutSeconds: config.datapath.tcpUnansweredTimeoutSeconds,
        http: config.http.enabled,
        log,
      });
    } catch (err) {
      throw loadError(err, 'flow.bpf.o', log);
    }
    undo.push(() => datapath.close());

    const reasons = DropReasons.fromKernel(config.drops.reasonClasses);
    for (const name of Object.keys(config.drops.reasonClasses)) {
      if (reasons.valueOf(name) === undefined) log.warn(`drops.reasonClasses: this kernel has no drop reason "${name}"`);
    }
    let drops: DropDatapath;
    try {
      drops = DropDatapath.load({
        identityMaps: datapath.identityMaps(),
        pinPath: config.pinPath,
        eventsPerSecond: config.datapath.eventsPerSecond,
        ringBufferBytes: config.datapath.ringBufferBytes,
        mapEntries: config.datapath.mapEntries,
      });
    } catch (err) {
      throw loadError(err, 'drop.bpf.o', log);
    }
    undo.push(() => drops.close());

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
    undo.push(unsubscribe);

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
    undo.push(() => manager.stop());
    log.info(`attached to ${manager.attachedCount} interfaces; following ${[...config.interfaces, ...config.nodeInterfaces].join(', ')}`);

    const registry = createMetrics({
      config: config.metrics,
      identities: identityContexts(store),
      datapath: { snapshot: () => withDrops(datapath.snapshot(manager.attachedCount), drops.snapshot(), reasons) },
      identityStatus: {
        sources: (): IdentitySourceStatus[] => {
          const counts = store.counts();
          return staticSource
            ? [{ source: STATIC_SOURCE, up: staticSource.up, identities: counts.get(STATIC_SOURCE) ?? 0, reloadFailures: staticSource.reloadFailures }]
            : [];
        },
      },
      build: { version: packageVersion(), node: process.version },
    });

    const app: FastifyInstance = buildServer({
      registry,
      // ready once the programs are attached and the identities loaded: start() got this far only if both hold
      ready: () => ({ ready: true, reasons: [] }),
      logger: log,
    });
    const address = await startServer(app, config.listen);
    undo.push(() => app.close());
    log.info(`serving metrics on http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}/metrics`);
    return { address, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
