/**
 * Dashboards as code: each dashboard is a list of panel specs (title, kind, unit, PromQL), built
 * into Grafana JSON with @grafana/grafana-foundation-sdk. The same specs feed the README tables
 * and the Prometheus test that runs every query (test/scenarios/prometheus.test.ts).
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

/** The provisioned datasource (grafana/provisioning/datasources/prometheus.yml). */
export const DATASOURCE = { type: 'prometheus', uid: 'pgvigil-prometheus' } as const;
/** Prometheus job names (config/prometheus/prometheus.yml, config/compose/prometheus.yml). */
export const JOBS = { sentinel: 'pgvigil-sentinel', agent: 'pgvigil-agent' } as const;

export interface QuerySpec {
  expr: string;
  legend: string;
}

export interface PanelSpec {
  title: string;
  kind: 'timeseries' | 'stat' | 'state-timeline';
  unit?: string;
  description: string;
  queries: QuerySpec[];
  /** value -> text shown instead (state timeline of roles) */
  mappings?: Record<string, string>;
  width?: number;
}

export interface DashboardSpec {
  uid: string;
  title: string;
  /** file name under grafana/dashboards/ */
  file: string;
  description: string;
  panels: PanelSpec[];
}

export const q = (expr: string, legend = ''): QuerySpec => ({ expr, legend });

function valueMappings(m: Record<string, string> | undefined): dashboard.ValueMapping[] {
  if (!m) return [];
  const options: Record<string, dashboard.ValueMappingResult> = {};
  Object.entries(m).forEach(([value, text], index) => (options[value] = { text, index }));
  return [{ type: dashboard.MappingType.ValueToText, options }];
}

function targets(p: PanelSpec): prometheus.DataqueryBuilder[] {
  return p.queries.map((x, i) =>
    new prometheus.DataqueryBuilder()
      .expr(x.expr)
      .legendFormat(x.legend || '__auto')
      .refId(String.fromCharCode(65 + i)),
  );
}

function panel(p: PanelSpec): dashboard.Panel {
  const width = p.width ?? (p.kind === 'stat' ? 6 : 12);
  const height = p.kind === 'stat' ? 5 : 8;
  const b =
    p.kind === 'stat'
      ? new stat.PanelBuilder()
          .textMode(common.BigValueTextMode.ValueAndName)
          .graphMode(common.BigValueGraphMode.None)
          .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']))
      : p.kind === 'state-timeline'
        ? new statetimeline.PanelBuilder().showValue(common.VisibilityMode.Never)
        : new timeseries.PanelBuilder().legend(
            new common.VizLegendOptionsBuilder()
              .showLegend(true)
              .displayMode(common.LegendDisplayMode.Table)
              .placement(common.LegendPlacement.Bottom)
              .calcs(['lastNotNull', 'max']),
          );
  b.title(p.title)
    .description(p.description)
    .datasource(DATASOURCE)
    .span(width)
    .height(height)
    .targets(targets(p));
  if (p.unit) b.unit(p.unit);
  const mappings = valueMappings(p.mappings);
  if (mappings.length) b.mappings(mappings);
  return b.build();
}

/** The Grafana JSON model of one dashboard (stable key order, so the committed files diff). */
export function buildDashboard(d: DashboardSpec): dashboard.Dashboard {
  const cluster = new dashboard.QueryVariableBuilder('cluster')
    .label('cluster')
    .datasource(DATASOURCE)
    .query('label_values(pgvigil_topology_epoch, cluster)')
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .includeAll(false);
  const b = new dashboard.DashboardBuilder(d.title)
    .uid(d.uid)
    .description(d.description)
    .tags(['pgvigil'])
    .refresh('10s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser')
    .withVariable(cluster);
  const built = b.build();
  // panels laid out left to right, rows of 24 columns
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  built.panels = d.panels.map((p, i) => {
    const json = panel(p);
    const w = json.gridPos?.w ?? 12;
    const h = json.gridPos?.h ?? 8;
    if (x + w > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    json.id = i + 1;
    json.gridPos = { x, y, w, h };
    x += w;
    rowHeight = Math.max(rowHeight, h);
    return json;
  });
  return built;
}

/** The README table of a dashboard: every panel and the PromQL behind it. */
export function dashboardMarkdown(d: DashboardSpec): string {
  const rows = d.panels.flatMap((p) =>
    p.queries.map(
      (x, i) =>
        `| ${i === 0 ? p.title : ''} | ${i === 0 ? p.kind : ''} | \`${x.expr.replaceAll('|', '\\|')}\` |`,
    ),
  );
  return [
    `**${d.title}** (\`grafana/dashboards/${d.file}\`, uid \`${d.uid}\`): ${d.description}`,
    '',
    '| panel | kind | query |',
    '|---|---|---|',
    ...rows,
  ].join('\n');
}
