// The shipped dashboards: generated JSON up to date, fixed UIDs, the template
// variables, the panels the issue asks for, and every query valid PromQL
// (promtool parses them as the server would) using $__rate_interval.

import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildDashboards, CHART_DASHBOARDS_DIR, renderDashboards } from '../../dashboards/src/dashboards.js';
import { dashboardQueries, panelsOf } from '../common/dashboards.js';
import { promtoolCheckExpressions, substituteGrafanaVariables } from '../common/promql.js';

const dashboards = buildDashboards();
const queries = dashboardQueries(dashboards);
const byUid = new Map(dashboards.map((d) => [d.uid!, d]));
const titles = (uid: string): string[] => panelsOf(byUid.get(uid)!).map((p) => p.title ?? '');

describe('generated dashboards', () => {
  it('are what dashboards/src generates (run `make dashboards` after changing it)', () => {
    const rendered = renderDashboards();
    for (const dir of ['dashboards', CHART_DASHBOARDS_DIR]) {
      expect(readdirSync(dir).filter((f) => f.endsWith('.json')).sort()).toEqual(
        [...rendered.keys()].filter((p) => p.startsWith(`${dir}/`)).map((p) => p.slice(dir.length + 1)).sort(),
      );
    }
    expect(rendered.size).toBe(12);
    for (const [path, content] of rendered) expect(readFileSync(path, 'utf8'), `${path} is stale: run make dashboards`).toBe(content);
  });

  it('have fixed UIDs and the flowlens tag', () => {
    expect([...byUid.keys()]).toEqual([
      'flowlens-overview',
      'flowlens-service-map',
      'flowlens-drops',
      'flowlens-dns',
      'flowlens-http',
      'flowlens-health',
    ]);
    for (const d of dashboards) expect(d.tags).toEqual(['flowlens']);
  });

  it.each([...byUid.keys()])('%s has the datasource, cluster, node, namespace and workload variables', (uid) => {
    const list = byUid.get(uid)!.templating!.list!;
    expect(list.map((v) => v.name)).toEqual(['datasource', 'cluster', 'node', 'namespace', 'workload']);
    expect(list[0]).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const v of list.slice(1)) expect(v).toMatchObject({ type: 'query', includeAll: true, multi: true, allValue: '.*' });
  });

  it('have the panels the issue asks for', () => {
    expect(titles('flowlens-overview')).toEqual([
      'Flows/s, forwarded vs dropped',
      'Drops/s by reason class',
      'Connections from unknown sources',
      'Top talkers (bytes/s)',
      'DNS error ratio',
      'HTTP 5xx ratio',
      'Exporters up',
      'Attached interfaces',
      'Lost events/s',
    ]);
    expect(titles('flowlens-service-map')[0]).toBe('Service map (new flows/s)');
    expect(titles('flowlens-drops')).toEqual([
      'Drops/s by reason class',
      'Drops/s by reason',
      'Drops/s by identity pair (top 20)',
      'Policy drops in the time range',
    ]);
    expect(titles('flowlens-dns')).toEqual(['Queries/s by type', 'Responses/s by rcode', 'Response latency', 'Top failing clients']);
    expect(titles('flowlens-http')).toEqual([
      'Traffic: requests/s per edge',
      'Errors: 5xx ratio per edge',
      'Latency per edge',
      'Responses/s by status class',
    ]);
    expect(titles('flowlens-health')).toEqual(
      expect.arrayContaining([
        'Lost events/s',
        'BPF map fill',
        'Program run time per packet',
        'Label sets over the series limit/s',
        'Identity sources up',
        'Spans dropped/s',
        'Resident memory',
        'CPU',
      ]),
    );
  });

  it('the service map is a Node Graph of edges, dropped ones red', () => {
    const panel = panelsOf(byUid.get('flowlens-service-map')!)[0]! as unknown as {
      type: string;
      targets: { expr: string; format: string; instant: boolean }[];
      transformations: { id: string; options: { includeByName: Record<string, boolean>; renameByName: Record<string, string> } }[];
    };
    expect(panel.type).toBe('nodeGraph');
    expect(panel.targets[0]).toMatchObject({ format: 'table', instant: true });
    const expr = panel.targets[0]!.expr;
    expect(expr).toContain('verdict="dropped"}[$__rate_interval])), "color", "red"');
    expect(expr).toContain('verdict="forwarded"}[$__rate_interval])), "color", "green"');
    expect(panel.transformations[0]!.options.renameByName).toEqual({ Value: 'mainstat' });
    expect(Object.keys(panel.transformations[0]!.options.includeByName).sort()).toEqual(['Value', 'color', 'id', 'source', 'target']);
  });
});

describe('dashboard queries', () => {
  const panelQueries = queries.filter((q) => q.kind === 'panel');

  it('every latency panel (a duration histogram\'s buckets) asks for exemplars, so its points link to traces', () => {
    let latency = 0;
    for (const d of dashboards) {
      for (const p of panelsOf(d)) {
        for (const t of (p.targets ?? []) as Array<{ expr?: string; exemplar?: boolean }>) {
          if (!/_duration_seconds_bucket/.test(t.expr ?? '')) continue;
          latency += 1;
          expect(t.exemplar, `${d.uid} / ${p.title}`).toBe(true);
        }
      }
    }
    // DNS response latency (heatmap), HTTP p50 and p99
    expect(latency).toBe(3);
  });

  it('every panel has a query, on the ${datasource} variable', () => {
    for (const d of dashboards) {
      for (const p of panelsOf(d)) {
        expect((p.targets ?? []).length, `${d.uid} / ${p.title}`).toBeGreaterThan(0);
        for (const t of p.targets ?? []) expect((t as { datasource?: { uid?: string } }).datasource?.uid).toBe('${datasource}');
      }
    }
  });

  it.each(panelQueries.map((q) => [q.where, q.expr]))('%s ranges over $__rate_interval (or the time range)', (_, expr) => {
    const ranges = [...expr.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1]);
    for (const r of ranges) expect(['$__rate_interval', '$__range']).toContain(r);
    expect(expr).toMatch(/\{[^}]*cluster=~"\$cluster"[^}]*instance=~"\$node"/);
  });

  it('promtool parses every query (Grafana variables substituted)', () => {
    const exprs = queries.map((q) => substituteGrafanaVariables(q.expr));
    expect(promtoolCheckExpressions(exprs)).toContain(`SUCCESS: ${exprs.length} rules found`);
  });

  it('promtool refuses a broken query, so the check above can fail', () => {
    expect(() => promtoolCheckExpressions(['sum(rate(flowlens_flows_total[5m])'])).toThrow(/promtool check rules/);
  });
});
