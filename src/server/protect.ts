// Protection of /api, which shows addresses, DNS names and URL paths: an
// optional bearer token, and a per-client rate limit. Both are hooks of the
// plugin scope that holds those routes (src/server/app.ts), never a
// comparison of URL text. The UI's static files, /metrics and the probes are
// not guarded (the UI asks for the token when /api answers 401; scrapers and
// kubelets have their own network policy).

import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface ApiProtection {
  /** Bearer token required by /api (the UI asks for it); null or undefined: no token. */
  token?: string | null;
  /** Requests per second and client address to /api (a burst of twice as many is allowed); 0: no limit. */
  requestsPerSecond?: number;
  now?: () => number;
}

export const DEFAULT_API_REQUESTS_PER_SECOND = 20;
/** Buckets kept at most; beyond, the idle ones are forgotten (full buckets hold no state worth keeping). */
const MAX_BUCKETS = 10_000;

/**
 * The token from "Authorization: Bearer T", or from access_token=T in the
 * query: browsers cannot add headers to an EventSource, so the UI passes it there.
 */
function presented(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (m) return m[1];
  }
  const q = (request.query as Record<string, unknown> | undefined)?.access_token;
  return typeof q === 'string' ? q : undefined;
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Token buckets per client address. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when `client` may make a request now (and takes one token). */
  take(client: string): boolean {
    const now = this.now();
    const burst = this.perSecond * 2;
    let b = this.buckets.get(client);
    if (!b) {
      if (this.buckets.size >= MAX_BUCKETS) this.forgetFull(now);
      b = { tokens: burst, atMs: now };
      this.buckets.set(client, b);
    }
    b.tokens = Math.min(burst, b.tokens + ((now - b.atMs) / 1000) * this.perSecond);
    b.atMs = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private forgetFull(now: number): void {
    const burst = this.perSecond * 2;
    for (const [client, b] of this.buckets) {
      if (b.tokens + ((now - b.atMs) / 1000) * this.perSecond >= burst) this.buckets.delete(client);
    }
  }
}

/**
 * The token check, as a hook of `scope` (a fastify plugin scope): it runs for
 * every route registered in that scope and its children, whichever spelling
 * of the path the router matched (/%61pi/flows is /api/flows to the router,
 * so a guard comparing URL text let it through), and for no other route.
 * Requests that match no route get the 404 handler, which shows nothing.
 */
export function requireToken(scope: FastifyInstance, token: string | null): void {
  if (token === null) return;
  scope.addHook('onRequest', async (request, reply) => {
    const given = presented(request);
    if (given !== undefined && sameToken(given, token)) return;
    return reply
      .code(401)
      .header('www-authenticate', 'Bearer realm="flowlens"')
      .send({ error: 'unauthorized', message: 'this exporter requires a bearer token (Authorization: Bearer TOKEN, or ?access_token=TOKEN)' });
  });
}

/** The per-client rate limit, as a hook of `scope`, by route like requireToken; 0 requests per second: none. */
export function rateLimit(scope: FastifyInstance, perSecond: number, now?: () => number): void {
  if (perSecond <= 0) return;
  const limiter = new RateLimiter(perSecond, now);
  scope.addHook('onRequest', async (request, reply) => {
    if (limiter.take(request.ip)) return;
    return reply.code(429).header('retry-after', '1').send({ error: 'rate_limited', message: `more than ${perSecond} API requests per second from ${request.ip}; slow down` });
  });
}
