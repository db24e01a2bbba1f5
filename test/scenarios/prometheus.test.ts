/**
 * A real Prometheus scraping a running local cluster (3 sentinels, 2 nodes with agents, WAL
 * archiving to a pgBackRest repository) every second, with config/prometheus/alerts.yml
 * loaded: every PromQL query of every dashboard panel and every alert expression parses and
 * returns data over the test's time range (a 2-node cluster has no standby after the
 * failover: lag and slot series come from before it); a SIGKILL failover in the middle shows
 * in the role and epoch series and fires PgvigilFailover.
 *
 * The backup series (catalogue source `backup`) come from real runs through the first
 * sentinel's `POST /backups`: a full backup that pgBackRest takes, and an incremental one that
 * fails because the repository was moved away for the time of the run.
 */
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DASHBOARDS } from '../../monitoring/dashboards.js';
import { JOBS } from '../../monitoring/lib.js';
import { METRIC_LIST } from '../../src/adapters/metrics/catalogue.js';
import { loadConfig } from '../../src/config/load.js';
import { localKill } from '../../src/local/cluster.js';
import { alertRules } from '../helpers/alerts.js';
import { eventually, type LocalHandle, startLocal } from '../helpers/local.js';
import { type PromHandle, startPrometheus } from '../helpers/prometheus.js';

const BACKUP_METRICS = METRIC_LIST.filter((m) => m.source === 'backup').map((m) => m.name);
const hostPort = (url: string) => new URL(url).host;

describe('Prometheus over a live cluster: dashboards and alerts', () => {
  let h: LocalHandle;
  let prom: PromHandle;
  let killedAt = 0;
  beforeAll(async () => {
    startedAt = Date.now() / 1000;
    h = await startLocal({ nodes: 2, sentinels: 3, backups: true, token: true });
    prom = await startPrometheus({
      jobs: {
        [JOBS.sentinel]: h.state.sentinels.map((s) => hostPort(s.api)),
        [JOBS.agent]: (h.state.agents ?? []).map((a) => hostPort(a.api)),
      },
      ruleFiles: [join(import.meta.dirname, '../../config/prometheus/alerts.yml')],
    });
  });
  afterAll(async () => {
    await prom?.stop();
    await h?.down();
  });

  let startedAt = 0;
  const grafana = (expr: string) =>
    expr
      .replaceAll('$cluster', h.state.cluster)
      .replaceAll('$__rate_interval', '10s')
      .replaceAll('$__range', '5m');
  const instant = (expr: string) => prom.query(grafana(expr));
  /** as a dashboard shows it: over the test's whole time range (before and after the failover) */
  const overRange = (expr: string) =>
    prom.queryRange(grafana(expr), startedAt, Date.now() / 1000, 2);

  it('scrapes every sentinel and agent', async () => {
    const targets = h.state.sentinels.length + (h.state.agents ?? []).length;
    expect(targets).toBe(5);
    await eventually(async () => {
      const up = await prom.query('up == 1');
      return up.length === targets ? true : undefined;
    }, 20_000);
    // a few scrapes of history before the failover, for rate() and the role series
    await eventually(async () => {
      const r = await prom.query(`count_over_time(pgvigil_topology_epoch[1m])`);
      return r.length > 0 && Number(r[0]!.value![1]) >= 5 ? true : undefined;
    }, 20_000);
  });

  it('a full backup and a failed incremental one through POST /backups export the backup series', async () => {
    const api = h.state.sentinels[0]!.api;
    const auth = { authorization: `Bearer ${readFileSync(h.state.tokenFile!, 'utf8').trim()}` };
    const records = async () =>
      Object.values(
        (
          (await (await fetch(`${api}/backups`, { headers: auth })).json()) as {
            records: Record<string, Record<string, string>>;
          }
        ).records,
      );
    const start = async (type: string) => {
      const res = await fetch(`${api}/backups`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ type }),
      });
      expect(res.status, await res.text()).toBe(200);
    };
    await start('full');
    const full = await eventually(async () => {
      const r = (await records()).find((x) => x.type === 'full');
      return r && r.status === 'ok' ? r : undefined;
    }, 60_000);
    expect(Number(full.size)).toBeGreaterThan(1_000_000);
    // the repository gone for one run: pgBackRest cannot read it, the run is recorded as failed
    const repo = loadConfig({ file: h.state.config }).backup.repository;
    renameSync(repo, `${repo}.moved`);
    try {
      await start('incr');
      await eventually(async () => {
        const r = (await records()).find((x) => x.type === 'incr');
        return r && r.status === 'failed' ? r : undefined;
      }, 30_000);
    } finally {
      renameSync(`${repo}.moved`, repo);
    }
    for (const name of BACKUP_METRICS)
      await eventually(
        async () => ((await prom.query(name)).length > 0 ? true : undefined),
        10_000,
      );
  });

  it('a SIGKILL failover shows in the role and epoch series and fires PgvigilFailover', async () => {
    const before = (await h.topology())!;
    expect(before.primary).toBe('pg1');
    killedAt = Date.now() / 1000;
    await localKill({ dir: h.state.dir, name: 'agent-pg1', signal: 'KILL' });
    await localKill({ dir: h.state.dir, name: 'pg1', signal: 'KILL' });
    await eventually(async () => {
      const t = await h.topology();
      return t && t.primary === 'pg2' && t.state === 'ok' ? t : undefined;
    }, 20_000);
    const firing = await eventually(async () => {
      const { alerts } = await prom.api<{
        alerts: { labels: Record<string, string>; state: string }[];
      }>('/api/v1/alerts');
      return alerts.find((a) => a.labels.alertname === 'PgvigilFailover' && a.state === 'firing');
    }, 20_000);
    expect(firing.labels).toMatchObject({ cluster: h.state.cluster, kind: 'automatic' });
    // pg2's series has been 0 then 1; the epoch went up by one
    await eventually(async () => {
      const end = Date.now() / 1000;
      const start = killedAt - 20;
      const [pg2] = await prom.queryRange(
        `max by (node) (pgvigil_node_is_primary{node="pg2"})`,
        start,
        end,
      );
      const roles = new Set(pg2?.values?.map((v) => v[1]));
      const [epoch] = await prom.queryRange('max(pgvigil_topology_epoch)', start, end);
      const epochs = new Set(epoch?.values?.map((v) => Number(v[1])));
      return roles.has('0') &&
        roles.has('1') &&
        epochs.has(before.epoch + 1) &&
        epochs.has(before.epoch)
        ? true
        : undefined;
    }, 10_000);
  });

  it('every dashboard query parses and returns data', async () => {
    const empty: string[] = [];
    for (const d of DASHBOARDS)
      for (const p of d.panels)
        for (const { expr } of p.queries) {
          await instant(expr); // throws on a parse error
          const r = await overRange(expr);
          if (r.length === 0) empty.push(`${d.uid} / ${p.title}: ${expr}`);
        }
    expect(empty).toEqual([]);
  });

  it('every alert expression parses and each metric it uses has series', async () => {
    const { groups } = await prom.api<{
      groups: { rules: { name: string; health: string; lastError?: string }[] }[];
    }>('/api/v1/rules');
    const loaded = groups.flatMap((g) => g.rules);
    for (const r of alertRules()) {
      await instant(r.expr); // throws on a parse error
      expect(loaded.find((x) => x.name === r.alert)?.health, r.alert).toBe('ok');
      for (const [, name] of r.expr.matchAll(/\b(pgvigil_[a-z_]+|up)\b/g)) {
        const series = await prom.query(`count(last_over_time(${name}[5m]))`);
        expect(series.length, `${name} of ${r.alert} has series`).toBe(1);
      }
    }
  });
});
