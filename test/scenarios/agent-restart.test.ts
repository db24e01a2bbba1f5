/**
 * A crashed primary comes back as a primary only when the sentinel leader says no failover
 * will happen: paused cluster -> SIGKILL pg1 -> leader verdict `paused` -> pg1's agent
 * restarts it, writable, same epoch. Then the switchover half of the agent API, with a bearer
 * token: `/stop` is refused without the token or outside a switchover, stops pg1 cleanly for
 * the epoch that is switching over (final checkpoint LSN), and `/start` brings it back.
 */
import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Topology } from '../../src/core/model.js';
import { localKill } from '../../src/local/cluster.js';
import { RECORDS } from '../../src/ports/records.js';
import { eventually, inRecovery, type LocalHandle, sql, startLocal } from '../helpers/local.js';

describe('agent: crashed primary restart, switchover stop/start', () => {
  let h: LocalHandle;
  let token = '';
  beforeAll(async () => {
    h = await startLocal({ nodes: 2, sentinels: 3, token: true });
    token = readFileSync(h.state.tokenFile!, 'utf8').trim();
  });
  afterAll(async () => {
    await h?.down();
  });

  const post = async (path: string, body: unknown, auth = true) => {
    const api = h.state.agents!.find((a) => a.node === 'pg1')!.api;
    const res = await fetch(`${api}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(auth ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    return { code: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('restarts a crashed primary as primary when the leader verdict is `paused`', async () => {
    const pg1 = h.node('pg1');
    await sql(pg1, 'CREATE TABLE t (id serial PRIMARY KEY)');
    await h.store.setPause(h.state.cluster, { paused: true, by: 'test', atWall: Date.now() });
    await eventually(async () => {
      const { name, schema } = RECORDS.verdict;
      const v = (await h.store.getRecord(h.state.cluster, name, schema)).value;
      return v?.reason === 'paused' ? v : undefined;
    }, 10_000);
    await localKill({ dir: h.state.dir, name: 'pg1', signal: 'KILL' });
    await eventually(async () => {
      await sql(pg1, 'INSERT INTO t VALUES (DEFAULT)');
      return true;
    }, 15_000);
    expect(await inRecovery(pg1)).toBe(false);
    expect(await h.topology()).toMatchObject({ primary: 'pg1', epoch: 1, state: 'ok' });
    await h.store.setPause(h.state.cluster, { paused: false, by: 'test', atWall: Date.now() });
  });

  it('stops cleanly for a switchover of its epoch only, and starts again', async () => {
    const pg1 = h.node('pg1');
    const t = (await h.topology())!;
    expect((await post('/stop', { epoch: t.epoch }, false)).code).toBe(401);
    expect((await post('/stop', { epoch: 'one' })).code).toBe(400);
    expect(await post('/stop', { epoch: t.epoch })).toMatchObject({ code: 409 });

    // what the leader commits before it asks: epoch + 1, same primary, switching-over
    const switching: Topology = {
      ...t,
      epoch: t.epoch + 1,
      state: 'switching-over',
      reason: 'test switchover',
    };
    expect((await h.store.casTopology(h.state.cluster, t.epoch, switching, 'test')).committed).toBe(
      true,
    );
    expect((await post('/stop', { epoch: t.epoch })).code).toBe(409); // stale epoch
    await sql(pg1, 'INSERT INTO t VALUES (DEFAULT)');
    // pg1 was restarted by the previous test: the standby must stream again before the stop
    const pg2Api = h.state.agents!.find((a) => a.node === 'pg2')!.api;
    await eventually(
      async () => ((await fetch(`${pg2Api}/replica`)).ok ? true : undefined),
      15_000,
    );
    // and have replayed everything pg1 wrote: a standby still catching up when the primary
    // shuts down may miss the final checkpoint (its walsender gives up after wal_sender_timeout)
    const [{ lsn: head }] = (await sql<{ lsn: string }>(
      pg1,
      "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') AS lsn",
    )) as [{ lsn: string }];
    await eventually(async () => {
      const [r] = await sql<{ lsn: string }>(
        h.node('pg2'),
        "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0') AS lsn",
      );
      return Number(r!.lsn) >= Number(head) ? true : undefined;
    }, 15_000);
    const stop = await post('/stop', { epoch: switching.epoch });
    expect(stop).toMatchObject({ code: 200, body: { status: 'success' } });
    const lsn = stop.body.checkpointLsn as number;
    expect(lsn).toBeGreaterThan(0);
    expect(stop.body.checkpointLsnText).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    await expect(sql(pg1, 'SELECT 1')).rejects.toThrow();
    // the standby replays the stopped primary's final checkpoint (what rule 7 waits for)
    await eventually(async () => {
      const [r] = await sql<{ lsn: string }>(
        h.node('pg2'),
        "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0') AS lsn",
      );
      return Number(r!.lsn) >= lsn ? true : undefined;
    });
    // hands off during the switchover: the agent does not restart it by itself
    await new Promise((r) => setTimeout(r, 1500));
    await expect(sql(pg1, 'SELECT 1')).rejects.toThrow();

    // aborted switchover: start it again as it was
    expect(await post('/start', { epoch: switching.epoch })).toMatchObject({
      code: 200,
      body: { status: 'success' },
    });
    expect(await inRecovery(pg1)).toBe(false);
    const restored: Topology = { ...switching, state: 'ok', reason: 'test switchover aborted' };
    expect((await h.store.updateTopology(h.state.cluster, restored, 'test')).committed).toBe(true);
    await eventually(async () => {
      await sql(pg1, 'INSERT INTO t VALUES (DEFAULT)');
      return true;
    });
  });
});
