/**
 * SIGKILL of the primary's postmaster on a 3-node cluster (primary + 2 standbys), 3 sentinels:
 * exactly one promotion, epoch + 1, the surviving standby follows the new primary, a subscriber
 * hears every step, and every row committed and replicated before the crash is still there.
 * Written against the cluster provider (test/helpers/cluster.ts): `npm run test:containers`
 * runs it again with PGVIGIL_TEST_PROVIDER=containers, on containers of the compose images.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type ClusterHandle, providerName, startCluster } from '../helpers/cluster.js';
import { eventually, inRecovery, sql } from '../helpers/local.js';

describe(`SIGKILL of the primary (3 nodes, ${providerName()} provider)`, () => {
  let h: ClusterHandle;
  beforeAll(async () => {
    h = await startCluster({ nodes: 3, sentinels: 3 });
  });
  afterAll(async () => {
    await h?.down();
  });

  it('promotes exactly one standby, keeps replicated rows, re-points the other standby', async () => {
    const pg1 = h.node('pg1');
    expect((await h.topology())?.primary).toBe('pg1');
    const epochBefore = (await h.topology())!.epoch;
    await sql(pg1, 'CREATE TABLE t (id int PRIMARY KEY, note text)');
    await sql(pg1, "INSERT INTO t SELECT g, 'before crash' FROM generate_series(1, 500) g");
    // replicated before the crash: both standbys have replayed the last row
    const { lsn } = (
      await sql<{ lsn: string }>(pg1, 'SELECT pg_current_wal_lsn()::text AS lsn')
    )[0]!;
    for (const name of ['pg2', 'pg3']) {
      await eventually(async () => {
        const [r] = await sql<{ ok: boolean }>(
          h.node(name),
          `SELECT pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn AS ok`,
        );
        return r!.ok ? true : undefined;
      });
    }

    await h.killPostgres('pg1');
    const after = await eventually(async () => {
      const t = await h.topology();
      return t && t.epoch > epochBefore && t.state === 'ok' ? t : undefined;
    }, 20_000);
    expect(after.epoch).toBe(epochBefore + 1);
    expect(['pg2', 'pg3']).toContain(after.primary);
    const newPrimary = h.node(after.primary);
    const other = h.node(after.primary === 'pg2' ? 'pg3' : 'pg2');

    // exactly one promotion: one node writable, the other still in recovery
    expect(await inRecovery(newPrimary)).toBe(false);
    expect(await inRecovery(other)).toBe(true);
    await eventually(
      async () => (h.events.some((e) => e.type === 'failover-completed') ? true : undefined),
      5000,
    );
    const completed = h.events.filter((e) => e.type === 'failover-completed');
    expect(completed).toHaveLength(1);
    const types = h.events.map((e) => e.type);
    expect(types).toContain('primary-odown');
    expect(types).toContain('failover-started');
    expect(
      h.events.filter((e) => e.type === 'topology-changed' && e.topology.primary === after.primary)
        .length,
    ).toBeGreaterThan(0);

    // nothing replicated before the crash is lost
    const { n } = (await sql<{ n: string }>(newPrimary, 'SELECT count(*) AS n FROM t'))[0]!;
    expect(Number(n)).toBe(500);
    // the new primary carries its epoch stamp (rule 3)
    const [stamp] = await sql<{ epoch: string; primary_name: string }>(
      newPrimary,
      'SELECT epoch, primary_name FROM pgvigil.epoch',
    );
    expect(Number(stamp!.epoch)).toBe(after.epoch);
    expect(stamp!.primary_name).toBe(after.primary);

    // metrics: one failover counted across the sentinels, every sentinel sees the new roles
    const scrape = async () =>
      Promise.all(h.sentinelApis.map(async (api) => (await fetch(`${api}/metrics`)).text()));
    const metric = (text: string, name: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith(name))
        .map((l) => Number(l.split(' ').pop()));
    await eventually(async () => {
      const texts = await scrape();
      const failovers = texts.flatMap((t) =>
        metric(t, `pgvigil_failovers_total{cluster="${h.cluster}",kind="automatic"}`),
      );
      const primaryRole = texts.flatMap((t) =>
        metric(t, `pgvigil_node_is_primary{cluster="${h.cluster}",node="${after.primary}"}`),
      );
      const epochs = texts.flatMap((t) =>
        metric(t, `pgvigil_topology_epoch{cluster="${h.cluster}"}`),
      );
      return failovers.reduce((a, b) => a + b, 0) === 1 &&
        primaryRole.length === 3 &&
        primaryRole.every((v) => v === 1) &&
        epochs.every((e) => e === after.epoch)
        ? true
        : undefined;
    }, 10_000);
    expect((await scrape())[0]).toMatch(
      new RegExp(`pgvigil_replication_lag_bytes\\{cluster="${h.cluster}",node="pg\\d"\\} \\d+`),
    );

    // the surviving standby streams from the new primary and sees new writes
    await eventually(async () => {
      const [r] = await sql<{ status: string; host: string; port: number }>(
        other,
        'SELECT status, sender_host AS host, sender_port AS port FROM pg_stat_wal_receiver',
      );
      const { host, port } = h.node(after.primary).advertised;
      return r?.status === 'streaming' && r.host === host && r.port === port ? true : undefined;
    }, 15_000);
    await sql(newPrimary, "INSERT INTO t VALUES (501, 'after failover')");
    await eventually(async () => {
      const rows = await sql(other, 'SELECT 1 FROM t WHERE id = 501');
      return rows.length === 1 ? true : undefined;
    });
  });
});
