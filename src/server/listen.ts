import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { parseListen, type ListenAddress } from '../config/validators.js';
import { createError, wrapError } from '../errors.js';

/**
 * Starts serving on HOST:PORT or [V6]:PORT (port 0 picks a free port).
 * Returns the address actually bound. Fails with FLOWLENS_ERR_CONFIG_INVALID
 * for an address that does not parse and FLOWLENS_ERR_LISTEN_FAILED when the
 * socket cannot be bound, with the reason in words.
 */
export async function startServer(app: FastifyInstance, listen: string): Promise<ListenAddress> {
  const parsed = parseListen(listen);
  if (!parsed.ok) throw createError('FLOWLENS_ERR_CONFIG_INVALID', 'listen', `${parsed.reason}, got "${listen}"`);
  try {
    await app.listen({ host: parsed.value.host, port: parsed.value.port });
  } catch (error) {
    throw wrapError(error, 'FLOWLENS_ERR_LISTEN_FAILED', listen, listenFailureReason(error));
  }
  const bound = app.server.address() as AddressInfo | null;
  return bound ? { host: bound.address, port: bound.port } : parsed.value;
}

const REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the address is already in use',
  EACCES: 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)',
  EADDRNOTAVAIL: 'the address does not belong to this host',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved (temporary DNS failure)',
};

function listenFailureReason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && REASONS[code]) return `${REASONS[code]} (${code})`;
  return error instanceof Error ? error.message : String(error);
}
