// The web UI's static assets (src/ui, copied to dist/ui by make, with the
// layout library's browser files): a fixed list, read once, so no request can
// name a file outside it.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

/** src/ui from src/server (vitest), dist/ui from dist/server (built). */
export const UI_DIR = fileURLToPath(new URL('../ui/', import.meta.url));

const JS = 'text/javascript; charset=utf-8';

/** The page, its modules and elkjs's API and layout worker (vendor: copied from node_modules by make). */
export const UI_ASSETS: ReadonlyArray<{ route: string; file: string; type: string; vendor?: string }> = [
  { route: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { route: '/ui/app.js', file: 'app.js', type: JS },
  { route: '/ui/model.js', file: 'model.js', type: JS },
  { route: '/ui/map.js', file: 'map.js', type: JS },
  { route: '/ui/table.js', file: 'table.js', type: JS },
  { route: '/ui/style.css', file: 'style.css', type: 'text/css; charset=utf-8' },
  { route: '/ui/elk-api.js', file: 'elk-api.js', type: JS, vendor: 'elkjs/lib/elk-api.js' },
  { route: '/ui/elk-worker.min.js', file: 'elk-worker.min.js', type: JS, vendor: 'elkjs/lib/elk-worker.min.js' },
];

/** A vendor file: beside the UI in dist/ui, or (running from the sources, as the tests do) in node_modules. */
function assetPath(dir: string, asset: (typeof UI_ASSETS)[number]): string {
  const local = dir + asset.file;
  if (asset.vendor === undefined || existsSync(local)) return local;
  return createRequire(import.meta.url).resolve(asset.vendor);
}

export function registerUi(app: FastifyInstance, dir: string = UI_DIR): void {
  for (const asset of UI_ASSETS) {
    const body = readFileSync(assetPath(dir, asset));
    app.get(asset.route, async (_request, reply) =>
      reply
        .type(asset.type)
        .header('cache-control', 'no-cache')
        // the UI loads nothing from elsewhere; the layout runs in a worker from this server
        .header('content-security-policy', "default-src 'self'; style-src 'self'; img-src 'self' data:; worker-src 'self'")
        .send(body),
    );
  }
}
