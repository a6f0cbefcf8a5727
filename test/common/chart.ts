// Renders charts/flowlens with .build/chart-render/flowlens-chart-render (Go's
// text/template + sprig, the engine Helm uses; built by `make chart-renderer`)
// and parses the result, for the chart tests.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CHART_DIR = `${REPO_ROOT}charts/flowlens`;
export const RENDERER = `${REPO_ROOT}.build/chart-render/flowlens-chart-render`;

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
};

export type RenderOptions = {
  /** Values files merged over values.yaml, in order. */
  values?: string[];
  chartDir?: string;
  name?: string;
  namespace?: string;
  /** Kubernetes version for .Capabilities (the renderer's default: v1.30.0). */
  kubeVersion?: string;
};

function args(opts: RenderOptions): string[] {
  const out = ['--chart', opts.chartDir ?? CHART_DIR, '--name', opts.name ?? 'flowlens', '--namespace', opts.namespace ?? 'observability'];
  for (const v of opts.values ?? []) out.push('-f', v);
  if (opts.kubeVersion) out.push('--kube-version', opts.kubeVersion);
  return out;
}

function renderer(): string {
  if (!existsSync(RENDERER)) throw new Error(`${RENDERER} is missing: build it with \`make chart-renderer\``);
  return RENDERER;
}

/** Runs the renderer; a template error comes back as a non-zero status. */
export function runRenderer(opts: RenderOptions, extra: string[] = []): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(renderer(), [...args(opts), ...extra], { encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Renders the chart like `helm template` and returns every object with its template. */
export function renderChart(opts: RenderOptions = {}): { text: string; objects: { source: string; object: K8sObject }[] } {
  const text = execFileSync(renderer(), args(opts), { encoding: 'utf8' });
  const objects: { source: string; object: K8sObject }[] = [];
  let source = '';
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]!.message}`);
    const m = /# Source: (\S+)/.exec(doc.commentBefore ?? '');
    if (m) source = m[1]!;
    const object = doc.toJS() as K8sObject | null;
    if (object !== null) objects.push({ source, object });
  }
  return { text, objects };
}

/** The values the templates see: values.yaml merged with the files, as JSON. */
export function mergedValues(opts: RenderOptions = {}): Record<string, unknown> {
  return JSON.parse(execFileSync(renderer(), [...args(opts), '--values-json'], { encoding: 'utf8' }));
}

export function renderNotes(opts: RenderOptions = {}): string {
  return execFileSync(renderer(), [...args(opts), '--notes'], { encoding: 'utf8' });
}
