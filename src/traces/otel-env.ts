// Whether flowlens sends anything over OTLP, decided before the OpenTelemetry
// SDK is loaded (it is loaded only then). The endpoint is
// flowlens' own otlpEndpoint (config file, FLOWLENS_OTLP_ENDPOINT or
// --otlp-endpoint) or else the standard OTEL_EXPORTER_OTLP_TRACES_ENDPOINT /
// OTEL_EXPORTER_OTLP_ENDPOINT, which the SDK's exporter then reads itself.

type Env = Record<string, string | undefined>;

function set(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/**
 * The endpoint spans go to, or null for none: then no span is ever built.
 * OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none turn export off, as
 * they do for any OpenTelemetry SDK.
 */
export function otlpEndpoint(configured: string | null, env: Env): string | null {
  if (set(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return null;
  if ((set(env, 'OTEL_TRACES_EXPORTER') ?? '').split(',').map((s) => s.trim()).includes('none')) return null;
  return configured ?? set(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? set(env, 'OTEL_EXPORTER_OTLP_ENDPOINT') ?? null;
}
