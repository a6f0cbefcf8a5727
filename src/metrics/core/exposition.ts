// Renders a registry in either exposition format. prom-client fixes the
// format per registry, and rendering OpenMetrics renames counters in place
// (it strips _total from metric.name), which would corrupt every later
// Prometheus-text scrape of the same registry. So OpenMetrics is rendered
// through a throwaway registry of stand-ins that read the real metrics.

import { Registry, type RegistryContentType } from 'prom-client';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

export const CONTENT_TYPES: Readonly<Record<ExpositionFormat, string>> = {
  prometheus: Registry.PROMETHEUS_CONTENT_TYPE,
  openmetrics: Registry.OPENMETRICS_CONTENT_TYPE,
};

/**
 * Picks the format from an Accept header: OpenMetrics when the client
 * accepts application/openmetrics-text at least as much as text/plain (as
 * Prometheus does when it prefers OpenMetrics), else the Prometheus text
 * format, which every scraper understands.
 */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (!accept) return 'prometheus';
  let openMetrics = 0;
  let text = 0;
  let wildcard = 0;
  for (const range of accept.split(',')) {
    const [type = '', ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    let q = 1;
    for (const param of params) {
      const [name, value] = param.split('=').map((p) => p.trim());
      if (name === 'q' && value !== undefined) {
        const parsed = Number(value);
        q = Number.isFinite(parsed) ? parsed : 0;
      }
    }
    if (type === 'application/openmetrics-text') openMetrics = Math.max(openMetrics, q);
    else if (type === 'text/plain' || type === 'text/*') text = Math.max(text, q);
    else if (type === '*/*') wildcard = Math.max(wildcard, q);
  }
  const plain = Math.max(text, wildcard);
  return openMetrics > 0 && openMetrics >= plain ? 'openmetrics' : 'prometheus';
}

export interface Exposition {
  contentType: string;
  body: string;
}

export async function renderExposition(registry: Registry<RegistryContentType>, format: ExpositionFormat): Promise<Exposition> {
  const target: RegistryContentType = format === 'openmetrics' ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE;
  const direct = format === 'prometheus' && registry.contentType === Registry.PROMETHEUS_CONTENT_TYPE;
  const body = direct ? await registry.metrics() : await viewAs(registry, target).metrics();
  return { contentType: target, body };
}

// What the registry needs of a metric; prom-client's typings of
// getMetricsAsArray() leave out get(), which every metric has.
interface RenderableMetric {
  name: string;
  help: string;
  type: string;
  get(): Promise<{ name: string }>;
}

// Default labels set on the source registry are not carried over: flowlens
// sets none, and prom-client offers no way to read them.
function viewAs(registry: Registry<RegistryContentType>, contentType: RegistryContentType): Registry<RegistryContentType> {
  const view = new Registry<RegistryContentType>();
  view.setContentType(contentType);
  for (const metric of registry.getMetricsAsArray() as unknown as RenderableMetric[]) {
    const standIn: RenderableMetric & { reset(): void } = {
      name: metric.name,
      help: metric.help,
      type: metric.type,
      // The view's own rendering may rename the stand-in; the rendered name follows it.
      async get() {
        const result = await metric.get();
        return { ...result, name: standIn.name };
      },
      reset() {},
    };
    view.registerMetric(standIn as unknown as Parameters<Registry['registerMetric']>[0]);
  }
  return view;
}
