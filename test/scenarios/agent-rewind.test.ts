/**
 * Diverged timelines: pg1 (primary) writes rows that never reach pg2 (its replication is cut
 * by rejecting replication connections in pg1's pg_hba.conf), then dies. pg2 is promoted on a
 * new timeline; pg1's agent must rewind it (the event says `rewind`), after which pg1 no
 * longer has the rows of the dead timeline and streams from pg2.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { localKill } from '../../src/local/cluster.js';
import {
  eventually,
  inRecovery,
  type LocalHandle,
  seedRows,
  sql,
  startLocal,
  waitForPrimary,
} from '../helpers/local.js';

describe('agent: rejoin over diverged timelines', () => {
  let h: LocalHandle;
  beforeAll(async () => {
    h = await startLocal({ nodes: 2, sentinels: 3 });
  });
  afterAll(async () => {
    await h?.down();
  });

  it('rewinds the old primary: its unreplicated rows are gone, it streams from pg2', async () => {
    const pg1 = h.node('pg1');
    const pg2 = h.node('pg2');
    await seedRows(pg1, [pg2]);

    // cut replication: pg1 rejects replication connections, its walsender is ended
    const hba = join(pg1.dataDir, 'pg_hba.conf');
    const original = readFileSync(hba, 'utf8');
    writeFileSync(hba, `host replication all 127.0.0.1/32 reject\n${original}`);
    await sql(pg1, 'SELECT pg_reload_conf()');
    await eventually(async () => {
      await sql(pg1, 'SELECT pg_terminate_backend(pid) FROM pg_stat_replication');
      const senders = await sql(pg1, 'SELECT 1 FROM pg_stat_replication');
      const rx = await sql<{ status: string }>(pg2, 'SELECT status FROM pg_stat_wal_receiver');
      return senders.length === 0 && rx[0]?.status !== 'streaming' ? true : undefined;
    }, 10_000);

    // rows only the old timeline will ever have
    await sql(pg1, 'INSERT INTO t SELECT generate_series(1001, 1100)');
    expect(await sql(pg2, 'SELECT 1 FROM t WHERE id > 1000')).toEqual([]);

    await localKill({ dir: h.state.dir, name: 'pg1', signal: 'KILL' });
    writeFileSync(hba, original); // the dead node's file, back as it was
    const after = await waitForPrimary(h, 'pg2', 20_000);
    const rejoined = await eventually(
      async () => h.events.find((e) => e.type === 'node-rejoined' && e.node === 'pg1'),
      30_000,
    );
    expect(rejoined).toMatchObject({ type: 'node-rejoined', method: 'rewind', epoch: after.epoch });

    expect(await inRecovery(pg1)).toBe(true);
    expect(await sql(pg1, 'SELECT 1 FROM t WHERE id > 1000')).toEqual([]);
    const [{ n }] = (await sql<{ n: string }>(pg1, 'SELECT count(*) AS n FROM t')) as [
      { n: string },
    ];
    expect(Number(n)).toBe(100);
    const [rx] = await sql<{ status: string; port: number }>(
      pg1,
      'SELECT status, sender_port AS port FROM pg_stat_wal_receiver',
    );
    expect(rx).toMatchObject({ status: 'streaming', port: pg2.port });
    await sql(pg2, 'INSERT INTO t VALUES (101)');
    await eventually(async () =>
      (await sql(pg1, 'SELECT 1 FROM t WHERE id = 101')).length === 1 ? true : undefined,
    );
  });
});
