// The HTTP surface an orchestrator and Prometheus talk to. Handlers stay
// thin: rendering lives in src/metrics, readiness is decided by the caller.

import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry, RegistryContentType } from 'prom-client';
import type { Logger } from '../log.js';
import { negotiateFormat, renderExposition } from '../metrics/core/exposition.js';
import { newFlowsApiStats, registerFlowsApi, type FlowsApiOptions, type FlowsApiStats } from './flows.js';
import { DEFAULT_API_REQUESTS_PER_SECOND, rateLimit, requireToken, type ApiProtection } from './protect.js';
import { registerUi } from './ui.js';

export interface Readiness {
  ready: boolean;
  /** Why the process is not ready yet, one short sentence each. */
  reasons: string[];
}

export interface BuildServerOptions {
  registry: Registry<RegistryContentType>;
  ready: () => Readiness;
  logger?: Logger;
  /** The flows API and the UI; without it the server has /metrics and the probes only. */
  flows?: FlowsApiOptions & { protection?: ApiProtection; onStats?: (stats: FlowsApiStats) => void };
}

export function buildServer(options: BuildServerOptions): FastifyInstance {
  const { registry, ready, logger } = options;
  // Fastify's own request logging stays off: a scrape every few seconds
  // would drown the exporter's log.
  const app = Fastify({ logger: false });

  // set first, so the plugin scopes below inherit them
  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send({ error: 'not_found', message: `no route for ${request.method} ${request.url}` }),
  );

  app.setErrorHandler(async (error, request, reply) => {
    const status = statusOf(error);
    if (status >= 500) logger?.error(`${request.method} ${request.url} failed: ${messageOf(error)}`);
    return reply.code(status).send({ error: status >= 500 ? 'internal_error' : 'bad_request', message: messageOf(error) });
  });

  if (options.flows) {
    const flows = options.flows;
    const protection = flows.protection ?? {};
    const stats = newFlowsApiStats();
    // The UI's files are static code with no data in them: they are served
    // without the token, so that a browser without it gets the page, which
    // then asks for the token when the API answers 401.
    registerUi(app);
    // The token guards routes, not URL text: its hook belongs to this plugin
    // scope, so it runs for every route registered inside it (the API),
    // whatever spelling of a path the router matched, and for no route
    // outside it (the UI's files, /metrics and the probes). Fastify's
    // encapsulation does it.
    app.register(async (guarded) => {
      requireToken(guarded, protection.token ?? null);
      // the rate limit holds for the API only (the UI page loads a few assets at once)
      await guarded.register(async (api) => {
        rateLimit(api, protection.requestsPerSecond ?? DEFAULT_API_REQUESTS_PER_SECOND, protection.now);
        registerFlowsApi(api, flows, stats);
      });
    });
    flows.onStats?.(stats);
  }

  app.get('/metrics', async (request, reply) => {
    const exposition = await renderExposition(registry, negotiateFormat(request.headers.accept));
    return reply
      .header('content-type', exposition.contentType)
      .header('vary', 'Accept')
      .header('cache-control', 'no-store')
      .send(exposition.body);
  });

  // Liveness: answering at all is the signal; nothing is checked, so a
  // slow datapath never gets the pod restarted.
  app.get('/healthz', async (_request, reply) => reply.type('text/plain; charset=utf-8').send('ok'));

  app.get('/readyz', async (_request, reply) => {
    let state: Readiness;
    try {
      state = ready();
    } catch (error) {
      state = { ready: false, reasons: [`readiness check failed: ${messageOf(error)}`] };
    }
    return reply.code(state.ready ? 200 : 503).send({ ready: state.ready, reasons: state.reasons });
  });

  return app;
}

function statusOf(error: unknown): number {
  const code = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' && code >= 400 && code <= 599 ? code : 500;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
