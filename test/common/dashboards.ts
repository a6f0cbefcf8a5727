// Walks generated dashboards for what tests check: every query of every
// panel, and the label_values() selectors of the template variables.

import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';

export interface DashboardQuery {
  /** `dashboard uid / panel title / refId` or `dashboard uid / $variable`. */
  where: string;
  expr: string;
  kind: 'panel' | 'variable';
}

interface PanelLike {
  title?: string;
  type?: string;
  targets?: { expr?: string; refId?: string }[];
  panels?: PanelLike[];
}

export function panelsOf(d: Dashboard): PanelLike[] {
  return ((d.panels ?? []) as PanelLike[]).flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]));
}

export function dashboardQueries(dashboards: readonly Dashboard[]): DashboardQuery[] {
  const found: DashboardQuery[] = [];
  for (const d of dashboards) {
    for (const p of panelsOf(d)) {
      for (const t of p.targets ?? []) {
        found.push({ where: `${d.uid} / ${p.title} / ${t.refId}`, expr: t.expr ?? '', kind: 'panel' });
      }
    }
    for (const v of d.templating?.list ?? []) {
      if (v.type !== 'query') continue;
      const definition = String(v.definition ?? '');
      // label_values(SELECTOR, label): the selector is PromQL.
      const m = /^label_values\((.*), *[a-z_]+\)$/.exec(definition);
      found.push({ where: `${d.uid} / $${v.name}`, expr: m ? m[1]! : definition, kind: 'variable' });
    }
  }
  return found;
}
