// The exporter loads the OpenTelemetry SDK (sdk-node, the trace and log SDKs,
// the OTLP/gRPC exporters, gRPC) only when an OTLP endpoint is set: run.ts
// imports src/traces/sink.ts with import(). This follows the static imports of
// the built code (dist/, what node loads) from dist/cli.js and checks that none
// of them reaches those packages; import() is not followed, as it runs only
// when the code calling it does. The semantic-conventions constants (the
// package's small stable entry point) may be loaded at start.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../common/exporter.js';

const LAZY_PACKAGES = [
  '@opentelemetry/sdk-node',
  '@opentelemetry/sdk-trace-base',
  '@opentelemetry/sdk-logs',
  '@opentelemetry/resources',
  '@opentelemetry/exporter-trace-otlp-grpc',
  '@opentelemetry/exporter-logs-otlp-grpc',
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

describe('the OpenTelemetry SDK is loaded only when used', () => {
  it('the exporter\'s static imports do not reach it; the span mappings and the semantic conventions are there', () => {
    const cli = join(REPO, 'dist', 'cli.js');
    expect(existsSync(cli), 'dist/cli.js: run make build first').toBe(true);
    const reached = packagesReached(cli);
    // the walk works: it reaches what every start needs
    expect([...reached.keys()]).toEqual(expect.arrayContaining(['fastify', 'prom-client', '@opentelemetry/semantic-conventions']));
    for (const name of LAZY_PACKAGES) expect(reached.get(name), `${name} imported statically by ${reached.get(name)}`).toBeUndefined();
    // and the dynamic import is there, where run.ts loads the sink
    expect(readFileSync(join(REPO, 'dist', 'run.js'), 'utf8')).toContain("import('./traces/sink.js')");
  });
});
