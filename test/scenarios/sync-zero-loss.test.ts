/**
 * `replication.mode: sync` with real processes (PostgreSQL, Redis, 3 sentinel processes):
 * - 3 nodes: the leader records one synchronous standby within a few seconds and the primary's
 *   synchronous_standby_names names it; SIGKILL of the primary promotes exactly that standby,
 *   then the new primary gets the other standby as its synchronous standby.
 * - 10 trials on fresh 2-node clusters: a writer commits every 10 ms through a PgvigilClient
 *   (it follows topology-changed), the primary's host crashes (SIGKILL of its agent and its
 *   postmaster), and every acknowledged write must be on the new primary.
 * - 2 nodes, the standby dies: the primary keeps accepting writes; `syncStandbys = []` is
 *   committed before the names are cleared, so no failover could pick a standby missing writes.
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';

import { PgvigilClient } from '../../src/client/index.js';
import type { Topology } from '../../src/core/model.js';
import { syncStandbyNamesFor } from '../../src/core/sync.js';
import { localKill } from '../../src/local/cluster.js';
import {
  eventually,
  inRecovery,
  type LocalHandle,
  sleep,
  sql,
  startLocal,
  type TestNode,
} from '../helpers/local.js';

const TRIALS = 10;
/** clusters set up at once in the trial loop (each ~4-5 s to start) */
const PARALLEL = 2;
const handles = new Set<LocalHandle>();

afterAll(async () => {
  await Promise.all([...handles].map((h) => h.down().catch(() => undefined)));
});

async function up(nodes: number): Promise<LocalHandle> {
  const h = await startLocal({ nodes, sentinels: 3, replicationMode: 'sync' });
  handles.add(h);
  return h;
}

async function down(h: LocalHandle): Promise<void> {
  handles.delete(h);
  await h.down();
}

/**
 * The host of `node` crashes: its agent first (else it would restart or rejoin that postgres
 * at once), then its postmaster, both SIGKILL.
 */
async function crash(h: LocalHandle, node: string): Promise<void> {
  if (h.state.agents?.some((a) => a.node === node))
    await localKill({ dir: h.state.dir, name: `agent-${node}`, signal: 'KILL' });
  await localKill({ dir: h.state.dir, name: node, signal: 'KILL' });
}

async function names(node: TestNode): Promise<string> {
  const [r] = await sql<{ v: string }>(
    node,
    "SELECT current_setting('synchronous_standby_names') AS v",
  );
  return r!.v;
}

/** Wait until the topology, settled under `primary`, records exactly one sync standby. */
async function recordedSync(h: LocalHandle, primary: string, ms = 10_000): Promise<Topology> {
  return eventually(async () => {
    const t = await h.topology();
    return t?.primary === primary && t.state === 'ok' && t.syncStandbys.length === 1
      ? t
      : undefined;
  }, ms);
}

interface TrialResult {
  acked: number;
  ackedAfterFailover: number;
  failed: number;
  lost: number[];
  failoverMs: number;
  newPrimary: string;
  sync: string;
}

/**
 * Writer every 10 ms through a PgvigilClient, SIGKILL of the primary after ~400 ms of writes,
 * stop once 20 writes were acknowledged by the new primary; then count the acknowledged ids
 * missing on it.
 */
async function killPrimaryUnderWrites(h: LocalHandle): Promise<TrialResult> {
  const before = await recordedSync(h, 'pg1');
  const sync = before.syncStandbys[0]!;
  const pg1 = h.node('pg1');
  await sql(pg1, 'CREATE TABLE w (id int PRIMARY KEY)');
  const client = await PgvigilClient.connect({
    redis: h.state.redis,
    redisAuth: { password: h.secrets.redisPassword },
    cluster: h.state.cluster,
    pg: { user: pg1.conn.user, password: pg1.conn.password, database: pg1.conn.database },
    poolSize: 2,
  });
  const acked: number[] = [];
  let ackedAfter = 0;
  let failed = 0;
  let killedAt = 0;
  let stop = false;
  const writer = (async () => {
    for (let id = 1; !stop; id++) {
      const via = client.primary;
      try {
        await client.query('INSERT INTO w VALUES ($1)', [id]);
        acked.push(id);
        if (killedAt && via !== 'pg1') ackedAfter++;
      } catch {
        failed++;
      }
      await sleep(10);
    }
  })();
  try {
    await eventually(async () => (acked.length >= 40 ? true : undefined), 5000);
    await crash(h, 'pg1');
    killedAt = Date.now();
    const after = await eventually(async () => {
      const t = await h.topology();
      return t && t.primary !== 'pg1' && t.state === 'ok' ? t : undefined;
    }, 20_000);
    const failoverMs = Date.now() - killedAt;
    await eventually(async () => (ackedAfter >= 20 ? true : undefined), 10_000);
    stop = true;
    await writer;
    const newPrimary = h.node(after.primary);
    expect(await inRecovery(newPrimary)).toBe(false);
    const present = new Set(
      (await sql<{ id: number }>(newPrimary, 'SELECT id FROM w')).map((r) => r.id),
    );
    return {
      acked: acked.length,
      ackedAfterFailover: ackedAfter,
      failed,
      lost: acked.filter((id) => !present.has(id)),
      failoverMs,
      newPrimary: after.primary,
      sync,
    };
  } finally {
    stop = true;
    await writer;
    await client.close();
  }
}

describe('sync mode (real processes)', () => {
  it('3 nodes: records a sync standby, promotes it on SIGKILL, then names the other one', async () => {
    const h = await up(3);
    const started = Date.now();
    const t = await recordedSync(h, 'pg1', 5000);
    const recordedMs = Date.now() - started;
    const sync = t.syncStandbys[0]!;
    expect(['pg2', 'pg3']).toContain(sync);
    expect(await names(h.node('pg1'))).toBe(syncStandbyNamesFor(sync));
    const [row] = await sql<{ sync_state: string; state: string }>(
      h.node('pg1'),
      'SELECT sync_state, state FROM pg_stat_replication WHERE application_name = $1',
      [sync],
    );
    expect(row).toEqual({ sync_state: 'sync', state: 'streaming' });

    const r = await killPrimaryUnderWrites(h);
    expect(r.newPrimary).toBe(sync); // only the recorded sync standby may be promoted
    expect(r.lost).toEqual([]);
    const other = sync === 'pg2' ? 'pg3' : 'pg2';
    const reElected = await recordedSync(h, sync, 15_000);
    expect(reElected.syncStandbys).toEqual([other]);
    expect(await names(h.node(sync))).toBe(syncStandbyNamesFor(other));
    console.log(
      `[sync 3 nodes] sync standby recorded ${recordedMs} ms after local up returned; ` +
        `failover to ${r.newPrimary} in ${r.failoverMs} ms; acked ${r.acked}, lost ${r.lost.length}; ` +
        `then ${other} recorded as the new sync standby at epoch ${reElected.epoch}`,
    );
    await down(h);
  });

  it(`${TRIALS} SIGKILLs of a sync primary under a 10 ms writer: 0 acknowledged writes lost`, async () => {
    const results: TrialResult[] = [];
    for (let i = 0; i < TRIALS; i += PARALLEL) {
      const batch = Array.from({ length: Math.min(PARALLEL, TRIALS - i) }, async () => {
        const h = await up(2);
        try {
          return await killPrimaryUnderWrites(h);
        } finally {
          await down(h);
        }
      });
      results.push(...(await Promise.all(batch)));
    }
    for (const [i, r] of results.entries())
      console.log(
        `[sync trial ${i + 1}] acked ${r.acked} (after failover ${r.ackedAfterFailover}), ` +
          `failed ${r.failed}, lost ${r.lost.length}, failover ${r.failoverMs} ms -> ${r.newPrimary}`,
      );
    const lost = results.reduce((n, r) => n + r.lost.length, 0);
    const acked = results.reduce((n, r) => n + r.acked, 0);
    console.log(`[sync zero-loss] trials ${results.length}, acknowledged ${acked}, lost ${lost}`);
    expect(results).toHaveLength(TRIALS);
    for (const r of results) expect(r.newPrimary).toBe(r.sync);
    expect(lost).toBe(0);
  });

  it('2 nodes, the standby dies: [] is recorded before the names are cleared; writes go on', async () => {
    const h = await up(2);
    const pg1 = h.node('pg1');
    const t0 = await recordedSync(h, 'pg1');
    expect(t0.syncStandbys).toEqual(['pg2']);
    await sql(pg1, 'CREATE TABLE s (id int PRIMARY KEY)');
    await sql(pg1, 'INSERT INTO s VALUES (0)'); // commits wait for pg2 while it is the sync standby

    const c = new pg.Client({ ...pg1.conn, query_timeout: 20_000 });
    c.on('error', () => undefined);
    await c.connect();
    try {
      await crash(h, 'pg2');
      const killedAt = Date.now();
      // pg2's WAL receiver is gone (it exits with its postmaster): it can acknowledge nothing more
      await eventually(async () => {
        const rows = await sql(
          pg1,
          "SELECT 1 FROM pg_stat_replication WHERE application_name = 'pg2'",
        );
        return rows.length === 0 ? true : undefined;
      }, 10_000);
      // This commit waits until the leader gives up pg2. When it returns, the names were
      // cleared, and the record of [] came first: reading the topology now must show it.
      await c.query('INSERT INTO s VALUES (1)');
      const blockedMs = Date.now() - killedAt;
      const t1 = await h.topology();
      expect(t1?.syncStandbys).toEqual([]);
      expect(t1?.primary).toBe('pg1');
      expect(t1!.epoch).toBeGreaterThan(t0.epoch);
      expect(await names(pg1)).toBe('');
      // writes go on at once
      const t = Date.now();
      for (let i = 2; i < 12; i++) await c.query('INSERT INTO s VALUES ($1)', [i]);
      const tenWritesMs = Date.now() - t;
      expect(tenWritesMs).toBeLessThan(3000);
      // in sync mode no standby may be promoted now, and none was
      expect(h.events.some((e) => e.type === 'failover-started')).toBe(false);
      const changed = h.events.filter(
        (e) => e.type === 'topology-changed' && e.topology.syncStandbys.length === 0,
      );
      expect(changed.length).toBeGreaterThan(0);
      console.log(
        `[sync standby dies] a commit waited ${blockedMs} ms; syncStandbys [] at epoch ${t1!.epoch}, names cleared; 10 more writes in ${tenWritesMs} ms`,
      );
    } finally {
      await c.end().catch(() => undefined);
    }
    await down(h);
  });
});
