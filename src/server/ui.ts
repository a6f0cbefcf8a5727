// The web UI's static assets (src/ui, copied to dist/ui by make): a fixed
// list, read once, so no request can name a file outside it.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

/** src/ui from src/server (vitest), dist/ui from dist/server (built). */
export const UI_DIR = fileURLToPath(new URL('../ui/', import.meta.url));

const ASSETS: ReadonlyArray<{ route: string; file: string; type: string }> = [
  { route: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { route: '/ui/app.js', file: 'app.js', type: 'text/javascript; charset=utf-8' },
  { route: '/ui/style.css', file: 'style.css', type: 'text/css; charset=utf-8' },
];

export function registerUi(app: FastifyInstance, dir: string = UI_DIR): void {
  for (const asset of ASSETS) {
    const body = readFileSync(dir + asset.file);
    app.get(asset.route, async (_request, reply) =>
      reply
        .type(asset.type)
        .header('cache-control', 'no-cache')
        // the UI loads nothing from elsewhere
        .header('content-security-policy', "default-src 'self'; style-src 'self'; img-src 'self' data:")
        .send(body),
    );
  }
}
