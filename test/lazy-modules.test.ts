// The exporter loads the Kubernetes client and the OpenTelemetry SDK only when
// it uses them (kubernetes on, an OTLP endpoint set): loaded, they are about
// 65 MiB and 25 MiB of RSS at rest (bench/memory.bench.ts). This follows the
// static imports of the built code (dist/, what node loads) from dist/cli.js
// and checks that none of them reaches those packages; import() is not
// followed: it runs only when the code calling it does.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './common/exporter.js';

const LAZY_PACKAGES = [
  '@kubernetes/client-node',
  '@opentelemetry/sdk-node',
  '@opentelemetry/sdk-trace-base',
  '@opentelemetry/sdk-logs',
  '@opentelemetry/resources',
  '@opentelemetry/exporter-trace-otlp-grpc',
  '@opentelemetry/exporter-logs-otlp-grpc',
  // the semantic conventions' incubating entry point is about 1 MB of constants (src/traces/semconv.ts copies
  // the few it needs); the stable one is small and loaded at start
  '@opentelemetry/semantic-conventions/incubating',
  '@grpc/grpc-js',
];

/** Specifiers of the static imports and export-froms of a built module. */
function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)';|^import\s+'([^']+)';/gms)) out.push(m[1] ?? m[2]!);
  return out;
}

/** Every package the static import graph from `entry` reaches, with one module that imports it. */
function packagesReached(entry: string): Map<string, string> {
  const seen = new Set<string>();
  const packages = new Map<string, string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.')) queue.push(resolve(dirname(file), spec));
      else if (!spec.startsWith('node:')) packages.set(spec, file);
    }
  }
  return packages;
}

describe('modules loaded only when used', () => {
  it('the exporter\'s static imports reach neither the Kubernetes client nor the OpenTelemetry SDK', () => {
    const cli = join(REPO, 'dist', 'cli.js');
    expect(existsSync(cli), 'dist/cli.js: run make build first').toBe(true);
    const reached = packagesReached(cli);
    // the walk works: it reaches what every start needs
    expect([...reached.keys()]).toEqual(expect.arrayContaining(['fastify', 'prom-client', 'zod', '@opentelemetry/semantic-conventions']));
    for (const name of LAZY_PACKAGES) expect(reached.get(name), `${name} imported statically by ${reached.get(name)}`).toBeUndefined();
  });
});
