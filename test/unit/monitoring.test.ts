/**
 * The metric catalogue, the generated Grafana files and the README tables agree with the code:
 * regenerating changes nothing, every dashboard query names catalogue metrics only, and the
 * sentinel's and agent's registries export exactly their catalogue entries.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { DASHBOARDS } from '../../monitoring/dashboards.js';
import { generatedFiles, README_BLOCKS, spliceReadme } from '../../monitoring/outputs.js';
import { AgentMetrics } from '../../src/adapters/metrics/agent-metrics.js';
import { METRIC_LIST } from '../../src/adapters/metrics/catalogue.js';
import { SentinelMetrics } from '../../src/adapters/metrics/metrics.js';

const root = join(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(join(root, p), 'utf8');

/** metric names a PromQL expression mentions (identifiers followed by `{`, ` `, `)` or `[`). */
export function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(pgvigil_[a-z_]+|up)\b(?=\s*[{[)\s]|$)/g)].map((m) => m[1]!);
}

const catalogued = (name: string) =>
  METRIC_LIST.some(
    (m) =>
      m.name === name ||
      (m.type === 'histogram' &&
        [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`].includes(name)),
  );

describe('monitoring as code', () => {
  it('the committed grafana/ files are what npm run monitoring generates', () => {
    for (const [path, text] of Object.entries(generatedFiles()))
      expect(read(path), `${path} is stale: run npm run monitoring`).toBe(text);
  });

  it("README's metric and dashboard tables are generated from the code", () => {
    const readme = read('README.md');
    expect(spliceReadme(readme, README_BLOCKS()), 'run npm run monitoring').toBe(readme);
  });

  it('three dashboards, each with a cluster variable, only catalogued metrics', () => {
    expect(DASHBOARDS.map((d) => d.uid)).toEqual([
      'pgvigil-overview',
      'pgvigil-replication',
      'pgvigil-backups',
    ]);
    for (const d of DASHBOARDS) {
      const json = JSON.parse(read(`grafana/dashboards/${d.file}`)) as {
        templating: { list: { name: string }[] };
        panels: unknown[];
      };
      expect(json.templating.list.map((v) => v.name)).toContain('cluster');
      expect(json.panels).toHaveLength(d.panels.length);
      for (const p of d.panels)
        for (const { expr } of p.queries) {
          const names = metricNames(expr);
          expect(names.length, `${d.uid} / ${p.title}: ${expr}`).toBeGreaterThan(0);
          for (const n of names)
            expect(n === 'up' || catalogued(n), `${n} in ${d.uid} / ${p.title}`).toBe(true);
        }
    }
  });
});

describe('metric catalogue', () => {
  const exported = async (text: Promise<string>) =>
    [...(await text).matchAll(/^# HELP (pgvigil_\S+) (.*)$/gm)]
      .map((m) => m[1]!)
      .filter(
        (n) => METRIC_LIST.some((s) => s.name === n) || !/^pgvigil_(process|nodejs)_/.test(n),
      );

  it('the sentinel exports exactly the sentinel entries, with their help texts', async () => {
    const m = new SentinelMetrics(undefined, {
      defaults: false,
      quorum: { main: 2 },
      liveSentinels: { clusters: ['main'], count: async () => 3 },
    });
    const names = await exported(m.registry.metrics());
    expect(names.sort()).toEqual(
      METRIC_LIST.filter((s) => s.source === 'sentinel')
        .map((s) => s.name)
        .sort(),
    );
    const text = await m.registry.metrics();
    expect(text).toContain('pgvigil_sentinels_live{cluster="main"} 3');
    expect(text).toContain('pgvigil_cluster_quorum{cluster="main"} 2');
    for (const s of METRIC_LIST.filter((x) => x.source === 'sentinel'))
      expect(text).toContain(`# HELP ${s.name} ${s.help}`);
  });

  it("the agent exports its node's entries from its last loop", async () => {
    const m = new AgentMetrics({
      cluster: 'main',
      node: 'pg2',
      defaults: false,
      view: () => ({
        epoch: 4,
        coordination: 'majority',
        postgres: { running: true, reachable: true, role: 'standby', fenced: true, lagBytes: 42 },
      }),
      slots: async () => [{ slot: 'pgvigil_pg1', active: false, retainedBytes: 1024 }],
    });
    m.rejoined('rewind', 1_700_000_000_000);
    const text = await m.registry.metrics();
    const names = await exported(Promise.resolve(text));
    expect(names.sort()).toEqual(
      METRIC_LIST.filter((s) => s.source === 'agent')
        .map((s) => s.name)
        .sort(),
    );
    for (const line of [
      'pgvigil_node_fenced{cluster="main",node="pg2"} 1',
      'pgvigil_agent_node_is_primary{cluster="main",node="pg2"} 0',
      'pgvigil_agent_replication_lag_bytes{cluster="main",node="pg2"} 42',
      'pgvigil_agent_topology_epoch{cluster="main",node="pg2"} 4',
      'pgvigil_node_last_rejoin_timestamp_seconds{cluster="main",node="pg2",method="rewind"} 1700000000',
      'pgvigil_replication_slot_retained_bytes{cluster="main",node="pg2",slot="pgvigil_pg1"} 1024',
      'pgvigil_replication_slot_active{cluster="main",node="pg2",slot="pgvigil_pg1"} 0',
    ])
      expect(text).toContain(line);
  });

  it('names are unique, prefixed and carry help', () => {
    const names = METRIC_LIST.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    for (const s of METRIC_LIST) {
      expect(s.name).toMatch(/^pgvigil_[a-z_]+$/);
      expect(s.help.length).toBeGreaterThan(10);
    }
    for (const n of [
      'pgvigil_backup_last_success_timestamp_seconds',
      'pgvigil_backup_last_failure_timestamp_seconds',
      'pgvigil_backup_duration_seconds',
      'pgvigil_backup_size_bytes',
      'pgvigil_wal_archive_failed_total',
    ])
      expect(names).toContain(n);
  });
});
