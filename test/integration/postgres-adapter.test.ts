/**
 * PgAdapter against real PostgreSQL: pg1 primary, pg2 and pg3 streaming standbys with slots.
 * The tests run in order and share the cluster: probe, hang (SIGSTOP), crash (SIGKILL),
 * promote pg2, repoint pg3 to it, fence and unfence pg2.
 */
import { performance } from 'node:perf_hooks';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PgAdapter } from '../../src/adapters/postgres/index.js';
import { PostgresCommandFailed, PostgresUnreachable } from '../../src/core/errors.js';
import type { ProbeResult } from '../../src/core/model.js';
import { type LocalNode, signalNode } from '../../src/local/postgres.js';
import { eventually, type PgPair, specOf, sqlOn, startPgPair } from '../helpers/pg.js';

const QUERY_TIMEOUT_MS = 1000;
const CONNECT_TIMEOUT_MS = 1000;

let pair: PgPair;
let adapter: PgAdapter;
let pg1: LocalNode, pg2: LocalNode, pg3: LocalNode;

const nowMono = (): number => performance.now();
const probe = (n: LocalNode, heartbeat = true): Promise<ProbeResult> =>
  adapter.probe(specOf(n), { nowMono, sentinel: 'it-sentinel', heartbeat });

beforeAll(async () => {
  pair = await startPgPair({ standbys: 2 });
  [pg1, pg2, pg3] = pair.nodes as [LocalNode, LocalNode, LocalNode];
  adapter = new PgAdapter({
    user: 'postgres',
    password: pair.superPassword,
    database: 'postgres',
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    queryTimeoutMs: QUERY_TIMEOUT_MS,
    replication: { user: pair.replUser, password: pair.replPassword },
    applicationName: 'pgvigil-it',
  });
});

afterAll(async () => {
  await adapter?.close();
  await pair?.stop();
});

describe('PgAdapter on a real primary + 2 standbys', () => {
  it('probes the primary: role, LSN, replicas, heartbeat row, epoch stamp', async () => {
    const r = await probe(pg1);
    expect(r).toMatchObject({ node: 'pg1', ok: true, role: 'primary' });
    expect(r.currentLsn).toBeGreaterThan(0);
    expect(r.replicas?.map((x) => x.name)).toEqual(['pg2', 'pg3']);
    expect(r.replicas?.every((x) => x.state === 'streaming' && x.syncState === 'async')).toBe(true);
    const rows = await sqlOn(
      pg1,
      "SELECT sentinel FROM pgvigil.heartbeat WHERE sentinel = 'it-sentinel'",
    );
    expect(rows).toHaveLength(1);

    await adapter.stampEpoch(specOf(pg1), 1, 'pg1');
    expect((await probe(pg1)).stampedEpoch).toBe(1);
    await expect(adapter.stampEpoch(specOf(pg1), 0, 'pg1')).rejects.toBeInstanceOf(
      PostgresCommandFailed,
    );
  });

  it('probes a standby: receiver streaming from pg1, recent message, lag, replicated stamp', async () => {
    const r = await eventually(async () => {
      const p = await probe(pg2);
      return p.stampedEpoch === 1 ? p : undefined;
    });
    expect(r).toMatchObject({ ok: true, role: 'standby' });
    expect(r.walReceiver).toMatchObject({ status: 'streaming', senderPort: pg1.port });
    expect(r.walReceiver!.lastMsgAgeMs).toBeLessThan(2500);
    expect(r.receivedLsn).toBeGreaterThan(0);
    expect(r.lagSeconds).toBeGreaterThanOrEqual(0);
    expect(r.lagSeconds).toBeLessThan(5);
  });

  it('reports a wrong password as auth', async () => {
    const bad = new PgAdapter({
      user: 'postgres',
      password: 'wrong',
      database: 'postgres',
      connectTimeoutMs: 1000,
      queryTimeoutMs: 1000,
      replication: { user: 'x', password: 'y' },
      applicationName: 'bad',
    });
    const r = await bad.probe(specOf(pg1), { nowMono, sentinel: 's', heartbeat: true });
    await bad.close();
    expect(r).toMatchObject({ ok: false, failure: 'auth' });
  });

  it('SIGSTOP of every primary process: timeout within the probe budget; after CONT ok again', async () => {
    await sqlOn(pg1, 'CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100)');
    expect((await probe(pg1)).ok).toBe(true); // the persistent session is open
    await signalNode(pg1, 'STOP');
    try {
      const hung = await probe(pg1);
      expect(hung).toMatchObject({ ok: false, failure: 'timeout' });
      expect(hung.durationMs).toBeGreaterThanOrEqual(QUERY_TIMEOUT_MS - 50);
      // a heartbeat that hung is followed by a check on a fresh connection (stuck I/O, stuck.ts)
      // within what is left of the probe's own budget, connect + query timeout: never longer
      expect(hung.durationMs).toBeLessThan(CONNECT_TIMEOUT_MS + QUERY_TIMEOUT_MS + 500);
      const reconnect = await probe(pg1); // a new session: connect times out
      expect(reconnect).toMatchObject({ ok: false, failure: 'timeout' });
      expect(reconnect.durationMs).toBeLessThan(CONNECT_TIMEOUT_MS + 500);
    } finally {
      await signalNode(pg1, 'CONT');
    }
    const back = await probe(pg1);
    expect(back).toMatchObject({ ok: true, role: 'primary' });
  });

  it('SIGKILL of the primary postmaster: refused in well under 1 s', async () => {
    const primaryLsn = (await probe(pg1)).currentLsn!;
    // async replication: let pg2 replay everything before the crash
    await eventually(async () =>
      (await probe(pg2)).replayedLsn! >= primaryLsn ? true : undefined,
    );
    await signalNode(pg1, 'KILL');
    const t0 = performance.now();
    // A probe racing the kill may still be answered by the orphaned backend (it has not yet
    // seen the postmaster die): probe as a sentinel would, but much faster.
    let dead = await probe(pg1);
    while (dead.ok && performance.now() - t0 < 1000) {
      await new Promise((r) => setTimeout(r, 20));
      dead = await probe(pg1);
    }
    const detectMs = performance.now() - t0;
    console.log(
      `SIGKILL -> refused probe: ${detectMs.toFixed(0)} ms (last probe ${dead.durationMs.toFixed(1)} ms)`,
    );
    expect(dead).toMatchObject({ ok: false, failure: 'refused' });
    expect(detectMs).toBeLessThan(1000);
    const again = await probe(pg1);
    expect(again).toMatchObject({ ok: false, failure: 'refused' });
    expect(again.durationMs).toBeLessThan(200);
    await expect(adapter.fence(specOf(pg1))).rejects.toBeInstanceOf(PostgresUnreachable);
    // rule 2: a standby whose primary died stops reporting a streaming receiver
    await eventually(
      async () => ((await probe(pg3)).walReceiver?.status !== 'streaming' ? true : undefined),
      8000,
    );
  });

  it('promotes pg2: primary on a new timeline, with every row', async () => {
    const t0 = performance.now();
    await adapter.promote(specOf(pg2), 10_000);
    const promoteMs = performance.now() - t0;
    const r = await probe(pg2);
    expect(r).toMatchObject({ ok: true, role: 'primary' });
    const [tl] = await sqlOn<{ timeline_id: number }>(
      pg2,
      'SELECT timeline_id FROM pg_control_checkpoint()',
    );
    expect(tl!.timeline_id).toBe(2);
    expect(await sqlOn(pg2, 'SELECT count(*)::int AS n FROM t')).toEqual([{ n: 100 }]);
    await adapter.promote(specOf(pg2), 10_000); // a retried promote is a no-op
    await adapter.stampEpoch(specOf(pg2), 2, 'pg2');
    expect((await probe(pg2)).stampedEpoch).toBe(2);
    console.log(`promote + CHECKPOINT: ${promoteMs.toFixed(0)} ms`);
  });

  it('repoints pg3 to pg2: streams from the new primary within a few seconds', async () => {
    await adapter.ensureSlot(specOf(pg2), 'pg3');
    await adapter.ensureSlot(specOf(pg2), 'pg3'); // idempotent
    const t0 = performance.now();
    await adapter.repoint(specOf(pg3), specOf(pg2), 'pg3');
    const r = await eventually(
      async () => {
        const p = await probe(pg3);
        return p.walReceiver?.status === 'streaming' && p.walReceiver.senderPort === pg2.port
          ? p
          : undefined;
      },
      10_000,
      50,
    );
    console.log(`repoint -> streaming: ${(performance.now() - t0).toFixed(0)} ms`);
    expect(r.role).toBe('standby');
    const onPrimary = await eventually(async () => {
      const p = await probe(pg2);
      return p.replicas?.some((x) => x.name === 'pg3' && x.state === 'streaming') ? p : undefined;
    });
    expect(onPrimary.replicas?.map((x) => x.name)).toEqual(['pg3']);
    await sqlOn(pg2, 'INSERT INTO t VALUES (101)');
    await eventually(async () =>
      (await sqlOn<{ n: number }>(pg3, 'SELECT count(*)::int AS n FROM t'))[0]?.n === 101
        ? true
        : undefined,
    );
  });

  it('fences pg2: writes refused, sessions ended, heartbeat probe write-failed; unfence restores', async () => {
    const old = new pg.Client({ connectionString: pg2.url });
    old.on('error', () => undefined);
    await old.connect();
    await adapter.fence(specOf(pg2));
    await expect(old.query('SELECT 1')).rejects.toThrow();
    await expect(sqlOn(pg2, 'INSERT INTO t VALUES (102)')).rejects.toMatchObject({ code: '25006' });
    const r = await probe(pg2);
    expect(r).toMatchObject({ ok: false, failure: 'write-failed', role: 'primary' });
    expect((await probe(pg2, false)).ok).toBe(true); // still answers: only writes fail
    await adapter.unfence(specOf(pg2));
    await sqlOn(pg2, 'INSERT INTO t VALUES (102)');
    expect(await probe(pg2)).toMatchObject({ ok: true, role: 'primary' });
  });
});
