// The dashboards flowlens ships, as code: layout here, queries in
// dashboards/src/queries.ts. `make dashboards` writes each to
// dashboards/<uid>.json; UIDs are fixed so links stay stable.

import {
  DashboardBuilder,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  VariableSort,
  type Dashboard,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as HeatmapPanel } from '@grafana/grafana-foundation-sdk/heatmap';
import { EdgeOptionsBuilder, PanelBuilder as NodeGraphPanel } from '@grafana/grafana-foundation-sdk/nodegraph';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';
import { Queries } from './queries.js';

const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

type Target = { expr: string; legend?: string; instant?: boolean; format?: PromQueryFormat };

function target(t: Target, refId: string): DataqueryBuilder {
  const q = new DataqueryBuilder().datasource(DATASOURCE).refId(refId).expr(t.expr);
  if (t.legend !== undefined) q.legendFormat(t.legend);
  if (t.instant) q.instant();
  if (t.format !== undefined) q.format(t.format);
  return q;
}

function timeseries(title: string, unit: string, ...targets: Target[]): TimeseriesPanel {
  const p = new TimeseriesPanel().title(title).datasource(DATASOURCE).unit(unit).span(12).height(8);
  targets.forEach((t, i) => p.withTarget(target(t, String.fromCharCode(65 + i))));
  return p;
}

function table(title: string, unit: string, expr: string): TablePanel {
  return new TablePanel()
    .title(title)
    .datasource(DATASOURCE)
    .unit(unit)
    .span(12)
    .height(8)
    .withTarget(target({ expr, instant: true, format: PromQueryFormat.Table }, 'A'))
    .withTransformation({ id: 'organize', options: { excludeByName: { Time: true }, renameByName: { Value: title } } });
}

function stat(title: string, unit: string, expr: string, legend: string): StatPanel {
  return new StatPanel().title(title).datasource(DATASOURCE).unit(unit).span(6).height(6).withTarget(target({ expr, legend }, 'A'));
}

function variables(b: DashboardBuilder, q: Queries): DashboardBuilder {
  const query = (name: string, label: string, definition: string): QueryVariableBuilder =>
    new QueryVariableBuilder(name)
      .label(label)
      .datasource(DATASOURCE)
      .query({ query: definition, refId: `${name}-variable` })
      .definition(definition)
      .refresh(VariableRefresh.OnTimeRangeChanged)
      .sort(VariableSort.AlphabeticalAsc)
      .multi(true)
      .includeAll(true)
      .allValue('.*');
  return b
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'))
    .withVariable(query('cluster', 'Cluster', q.variableClusters()))
    .withVariable(query('node', 'Node', q.variableNodes()))
    .withVariable(query('namespace', 'Namespace', q.variableNamespaces()))
    .withVariable(query('workload', 'Workload', q.variableWorkloads()));
}

function dashboard(uid: string, title: string, description: string, q: Queries): DashboardBuilder {
  return variables(
    new DashboardBuilder(title)
      .uid(uid)
      .description(description)
      .tags(['flowlens'])
      .editable()
      .refresh('30s')
      .time({ from: 'now-1h', to: 'now' })
      .timezone('browser'),
    q,
  );
}

export function buildDashboards(q: Queries = new Queries()): Dashboard[] {
  const edgeLegend = '{{source_namespace}}/{{source_workload}} → {{destination_namespace}}/{{destination_workload}}';

  const overview = dashboard('flowlens-overview', 'flowlens / Overview', 'Flows, drops, unknown sources, DNS and HTTP errors, node health.', q)
    .withRow(new RowBuilder('Traffic'))
    .withPanel(timeseries('Flows/s, forwarded vs dropped', 'cps', { expr: q.flowsByVerdict(), legend: '{{verdict}}' }))
    .withPanel(timeseries('Drops/s by reason class', 'pps', { expr: q.dropsByReasonClass(), legend: '{{reason_class}}' }))
    .withPanel(
      timeseries('Connections from unknown sources', 'cps', {
        expr: q.unknownSources(),
        legend: '{{source_class}} → {{destination_namespace}}/{{destination_workload}} ({{verdict}})',
      }),
    )
    .withPanel(table('Top talkers (bytes/s)', 'Bps', q.topTalkers()))
    .withRow(new RowBuilder('DNS and HTTP'))
    .withPanel(timeseries('DNS error ratio', 'percentunit', { expr: q.dnsErrorRatio(), legend: 'not NOERROR' }))
    .withPanel(timeseries('HTTP 5xx ratio', 'percentunit', { expr: q.httpErrorRatio(), legend: '5xx' }))
    .withRow(new RowBuilder('Nodes'))
    .withPanel(stat('Exporters up', 'none', q.up(), '{{' + q.node + '}}'))
    .withPanel(stat('Attached interfaces', 'none', q.attachedInterfaces(), '{{' + q.node + '}}'))
    .withPanel(timeseries('Lost events/s', 'short', { expr: q.eventsLost(), legend: '{{' + q.node + '}} {{source}} {{reason}}' }));

  const serviceMap = dashboard('flowlens-service-map', 'flowlens / Service map', 'Who talks to whom, by identity; dropped edges in red.', q)
    .withPanel(
      new NodeGraphPanel()
        .title('Service map (new flows/s)')
        .datasource(DATASOURCE)
        .span(24)
        .height(16)
        .withTarget(target({ expr: q.serviceMapEdges(), instant: true, format: PromQueryFormat.Table }, 'A'))
        // The Node Graph panel reads an edges frame (id, source, target, mainstat, color) and derives the nodes from it.
        .withTransformation({
          id: 'organize',
          options: {
            includeByName: { id: true, source: true, target: true, Value: true, color: true },
            renameByName: { Value: 'mainstat' },
          },
        })
        .edges(new EdgeOptionsBuilder().mainStatUnit('cps')),
    )
    .withPanel(timeseries('Edges, new flows/s', 'cps', { expr: q.serviceMapEdges(), legend: edgeLegend + ' ({{verdict}})' }))
    .withPanel(
      timeseries('TCP connection attempts by outcome', 'cps', { expr: q.connectionOutcomes(), legend: '{{outcome}}' }),
    );

  const drops = dashboard('flowlens-drops', 'flowlens / Drops', 'Packets the kernel dropped, by reason and identity pair.', q)
    .withPanel(timeseries('Drops/s by reason class', 'pps', { expr: q.dropsByReasonClass(), legend: '{{reason_class}}' }))
    .withPanel(timeseries('Drops/s by reason', 'pps', { expr: q.dropsByReason(), legend: '{{reason}}' }))
    .withPanel(timeseries('Drops/s by identity pair (top 20)', 'pps', { expr: q.dropsByEdge(), legend: edgeLegend + ' {{reason_class}}' }))
    .withPanel(table('Policy drops in the time range', 'none', q.policyDrops()));

  const dns = dashboard('flowlens-dns', 'flowlens / DNS', 'DNS queries and answers by client identity.', q)
    .withPanel(timeseries('Queries/s by type', 'reqps', { expr: q.dnsQueriesByQtype(), legend: '{{qtype}}' }))
    .withPanel(timeseries('Responses/s by rcode', 'reqps', { expr: q.dnsResponsesByRcode(), legend: '{{rcode}}' }))
    .withPanel(
      new HeatmapPanel()
        .title('Response latency')
        .datasource(DATASOURCE)
        .span(12)
        .height(8)
        .calculate(false)
        .withTarget(target({ expr: q.dnsLatencyHeatmap(), legend: '{{le}}', format: PromQueryFormat.Heatmap }, 'A')),
    )
    .withPanel(
      timeseries('Top failing clients', 'reqps', {
        expr: q.dnsTopFailingClients(),
        legend: '{{source_namespace}}/{{source_workload}} {{rcode}}',
      }),
    );

  const http = dashboard('flowlens-http', 'flowlens / HTTP', 'HTTP golden signals per edge.', q)
    .withPanel(timeseries('Traffic: requests/s per edge', 'reqps', { expr: q.httpRequestsByEdge(), legend: edgeLegend }))
    .withPanel(timeseries('Errors: 5xx ratio per edge', 'percentunit', { expr: q.httpErrorRatioByEdge(), legend: edgeLegend }))
    .withPanel(
      timeseries(
        'Latency per edge',
        's',
        { expr: q.httpLatency(0.5), legend: 'p50 ' + edgeLegend },
        { expr: q.httpLatency(0.99), legend: 'p99 ' + edgeLegend },
      ),
    )
    .withPanel(timeseries('Responses/s by status class', 'reqps', { expr: q.httpResponsesByStatusClass(), legend: '{{status_class}}' }));

  const health = dashboard('flowlens-health', 'flowlens / flowlens health', 'Is flowlens seeing everything? Lost events, map pressure, cost.', q)
    .withPanel(timeseries('Exporters up', 'none', { expr: q.up(), legend: '{{' + q.node + '}}' }))
    .withPanel(timeseries('Lost events/s', 'short', { expr: q.eventsLost(), legend: '{{' + q.node + '}} {{source}} {{reason}}' }))
    .withPanel(timeseries('BPF map fill', 'percentunit', { expr: q.mapPressure(), legend: '{{' + q.node + '}} {{map}}' }))
    .withPanel(timeseries('BPF map keys refused/s', 'short', { expr: q.mapUpdateErrors(), legend: '{{' + q.node + '}} {{map}}' }))
    .withPanel(timeseries('Program run time per packet', 'ns', { expr: q.programNsPerRun(), legend: '{{' + q.node + '}} {{program}}' }))
    .withPanel(timeseries('Label sets over the series limit/s', 'short', { expr: q.seriesLimited(), legend: '{{' + q.node + '}} {{family}}' }))
    .withPanel(timeseries('Identity sources up', 'none', { expr: q.identitySources(), legend: '{{' + q.node + '}} {{source}}' }))
    .withPanel(timeseries('Identities by source', 'none', { expr: q.identities(), legend: '{{source}}' }))
    .withPanel(timeseries('Spans dropped/s', 'short', { expr: q.spansDropped(), legend: '{{' + q.node + '}}' }))
    .withPanel(timeseries('Malformed packets/s', 'pps', { expr: q.malformedPackets(), legend: '{{reason}}' }))
    .withPanel(timeseries('Resident memory', 'bytes', { expr: q.residentMemory(), legend: '{{' + q.node + '}}' }))
    .withPanel(timeseries('CPU', 'percentunit', { expr: q.cpu(), legend: '{{' + q.node + '}}' }));

  return [overview, serviceMap, drops, dns, http, health].map((d) => d.build());
}

/** Where the Helm chart finds them: Helm's .Files cannot read outside the chart's directory. */
export const CHART_DASHBOARDS_DIR = 'charts/flowlens/files/dashboards';

/** dashboards/<uid>.json and the chart's copy -> content. */
export function renderDashboards(): Map<string, string> {
  return new Map(
    buildDashboards().flatMap((d) => {
      const content = JSON.stringify(d, null, 2) + '\n';
      return [
        [`dashboards/${d.uid}.json`, content],
        [`${CHART_DASHBOARDS_DIR}/${d.uid}.json`, content],
      ] as const;
    }),
  );
}
