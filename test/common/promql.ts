// PromQL as the tests see it: parsed with Prometheus's own Lezer grammar
// (@prometheus-io/lezer-promql, the parser of Prometheus's web UI), and
// checked with promtool, which parses as the server does.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import YAML from 'yaml';

export interface Matcher {
  label: string;
  op: string;
  value: string;
}

export interface Selector {
  metric: string;
  matchers: Matcher[];
}

/** Text of every syntax error the grammar found; [] for a valid expression. */
export function syntaxErrors(expr: string): string[] {
  const errors: string[] = [];
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError) errors.push(`at ${node.from}: ${JSON.stringify(expr.slice(Math.max(0, node.from - 20), node.to + 20))}`);
    },
  });
  return errors;
}

/** Every vector selector with a metric name, with its label matchers. */
export function selectors(expr: string): Selector[] {
  const found: Selector[] = [];
  const cursor = parser.parse(expr).cursor();
  const text = (from: number, to: number): string => expr.slice(from, to);
  do {
    if (cursor.name !== 'VectorSelector') continue;
    const node = cursor.node;
    const identifier = node.getChild('Identifier');
    if (!identifier) continue;
    const matchers: Matcher[] = [];
    for (const m of node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
      const name = m.getChild('LabelName');
      const op = m.getChild('MatchOp');
      const value = m.getChild('StringLiteral');
      if (!name || !op || !value) continue;
      matchers.push({ label: text(name.from, name.to), op: text(op.from, op.to), value: JSON.parse(text(value.from, value.to)) as string });
    }
    found.push({ metric: text(identifier.from, identifier.to), matchers });
  } while (cursor.next());
  return found;
}

/** Grafana's variables replaced by values Prometheus accepts, so promtool can parse a dashboard query. */
export function substituteGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$__range|\$__interval/g, '5m')
    .replace(/\$\{?(cluster|node|namespace|workload)\}?/g, '.*');
}

/**
 * Runs `promtool check rules` over expressions (as recording rules of one
 * group); returns promtool's output, throwing with it when promtool refuses.
 */
export function promtoolCheckExpressions(exprs: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'flowlens-promql-'));
  try {
    const file = join(dir, 'queries.rules.yaml');
    writeFileSync(file, YAML.stringify({ groups: [{ name: 'queries', rules: exprs.map((expr, i) => ({ record: `query:${i}`, expr })) }] }));
    return promtool(['check', 'rules', file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function promtool(args: readonly string[], cwd?: string): string {
  try {
    return execFileSync('promtool', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`promtool ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}
