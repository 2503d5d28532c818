/**
 * Dashboard specs (what to show) and their Grafana JSON (how Grafana wants it). Specs stay small and
 * reviewable; layout, datasource and styling are decided here once, so every dashboard looks the same.
 */

/** The datasource every panel uses; infra/grafana/provisioning/datasources/prometheus.yml gives it this uid. */
export const DATASOURCE = { type: 'prometheus', uid: 'prometheus' } as const;

export interface Target {
  expr: string;
  /** Grafana legend template, e.g. '{{topic}}'. */
  legend?: string;
}

export interface PanelSpec {
  title: string;
  /** Shown as the panel's (i) tooltip: what the numbers mean and what to do about them. */
  description: string;
  targets: Target[];
  /** Grafana unit id: 'ops' (per second), 's', 'bytes', 'short', 'percentunit', 'none'. */
  unit?: string;
  /** timeseries (default) or stat (current value, e.g. versions in use). */
  kind?: 'timeseries' | 'stat';
  /** Grid columns out of 24 (default 8). */
  width?: number;
  /** stat panels: show the series name (e.g. 'serving v3') instead of its value. */
  showName?: boolean;
  min?: number;
  max?: number;
}

export interface RowSpec {
  title: string;
  panels: PanelSpec[];
}

export interface VariableSpec {
  name: string;
  label: string;
  /** label_values(<metric>, <label>) */
  metric: string;
  labelName: string;
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  /** The dashboard's file name under infra/grafana/dashboards/ (without .json). */
  file: string;
  rows: RowSpec[];
  variables?: VariableSpec[];
}

const PANEL_HEIGHT = 8;

/** Grafana's JSON model (schemaVersion 39, Grafana 10/11) of a spec. */
export function toGrafanaJson(spec: DashboardSpec): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let id = 1;
  let y = 0;
  for (const row of spec.rows) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { x: 0, y, w: 24, h: 1 } });
    y += 1;
    let x = 0;
    for (const panel of row.panels) {
      const w = panel.width ?? 8;
      if (x + w > 24) {
        x = 0;
        y += PANEL_HEIGHT;
      }
      panels.push(panelJson(panel, id++, { x, y, w, h: PANEL_HEIGHT }));
      x += w;
    }
    y += PANEL_HEIGHT;
  }
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: ['flywheel'],
    editable: false,
    graphTooltip: 1,
    refresh: '30s',
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-1h', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    annotations: { list: [] },
    links: [
      {
        title: 'Flywheel',
        type: 'dashboards',
        tags: ['flywheel'],
        asDropdown: true,
        includeVars: false,
        keepTime: true,
      },
    ],
    templating: { list: (spec.variables ?? []).map(variableJson) },
    panels,
  };
}

function panelJson(panel: PanelSpec, id: number, gridPos: { x: number; y: number; w: number; h: number }) {
  const kind = panel.kind ?? 'timeseries';
  const defaults: Record<string, unknown> = { unit: panel.unit ?? 'short' };
  if (panel.min !== undefined) defaults.min = panel.min;
  if (panel.max !== undefined) defaults.max = panel.max;
  const options =
    kind === 'stat'
      ? {
          reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
          textMode: panel.showName ? 'name' : 'value_and_name',
          colorMode: 'none',
          graphMode: 'none',
          justifyMode: 'auto',
          orientation: 'auto',
        }
      : {
          legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
          tooltip: { mode: 'multi', sort: 'desc' },
        };
  return {
    id,
    type: kind,
    title: panel.title,
    description: panel.description,
    datasource: DATASOURCE,
    gridPos,
    fieldConfig: { defaults, overrides: [] },
    options,
    targets: panel.targets.map((target, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: DATASOURCE,
      expr: target.expr,
      legendFormat: target.legend ?? '__auto',
      range: true,
      instant: false,
    })),
  };
}

function variableJson(variable: VariableSpec) {
  const query = `label_values(${variable.metric}, ${variable.labelName})`;
  return {
    name: variable.name,
    label: variable.label,
    type: 'query',
    datasource: DATASOURCE,
    query: { query, refId: 'variable' },
    definition: query,
    refresh: 2,
    includeAll: true,
    multi: true,
    allValue: '.*',
    current: { selected: true, text: ['All'], value: ['$__all'] },
    sort: 1,
  };
}
