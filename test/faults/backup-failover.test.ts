/**
 * Backups across a failover, and from a standby (slow: kept out of `npm test`):
 * - `backup.fromStandby`: the full is copied from the standby (its record says pg2/standby);
 * - the primary is killed, the sentinel promotes pg2 (CHECKPOINT after pg_promote, notes G5);
 *   an incremental then runs against the new primary with the same config file, and a restore
 *   of the latest backup holds the rows of both timelines;
 * - fromStandby with no standby left falls back to the primary (notes G12).
 */
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readPostmasterPid, stopNode } from '../../src/adapters/process/index.js';
import { localKill } from '../../src/local/cluster.js';
import { archiveNow, backupOf, batch, cli, lastJson, sql } from '../helpers/backup.js';
import { eventually, type LocalHandle, startLocal } from '../helpers/local.js';

describe('backups across a failover', () => {
  let h: LocalHandle;
  let plain: ReturnType<typeof backupOf>;
  let standby: ReturnType<typeof backupOf>;

  beforeAll(async () => {
    h = await startLocal({ backups: true, sentinels: 1, agents: false, profile: 'fast' });
    plain = backupOf(h);
    standby = backupOf(h, 'from-standby', { backup: { fromStandby: true } });
  });
  afterAll(async () => {
    await plain?.close();
    await standby?.close();
    await h?.down();
  });

  it('backup.fromStandby copies from the standby', async () => {
    await batch(h.node('pg1'), 'tl1', 200);
    const r = await standby.runner.run('full');
    expect(r.kind).toBe('done');
    if (r.kind === 'done')
      expect(r.record).toMatchObject({ node: 'pg2', role: 'standby', status: 'ok', timeline: '1' });
  });

  it('after a failover, a backup against the new primary works with no config change; a restore holds both timelines', async () => {
    await archiveNow(h.node('pg1'));
    const [{ lsn }] = (await sql<{ lsn: string }>(
      h.node('pg1'),
      'SELECT pg_current_wal_lsn()::text AS lsn',
    )) as [{ lsn: string }];
    await eventually(async () => {
      const [x] = await sql<{ ok: boolean }>(
        h.node('pg2'),
        `SELECT pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn AS ok`,
      );
      return x!.ok ? true : undefined;
    });
    const epoch = (await h.topology())!.epoch;
    await localKill({ dir: h.state.dir, name: 'pg1', signal: 'KILL' });
    await eventually(async () => {
      const t = await h.topology();
      return t && t.epoch > epoch && t.primary === 'pg2' && t.state === 'ok' ? t : undefined;
    }, 30_000);
    await batch(h.node('pg2'), 'tl2', 70);
    const r = await plain.runner.run('incr');
    expect(r.kind).toBe('done');
    if (r.kind !== 'done') return;
    expect(r.record).toMatchObject({ node: 'pg2', role: 'primary', status: 'ok' });
    expect(Number(r.record.timeline)).toBeGreaterThanOrEqual(2);
    await batch(h.node('pg2'), 'tl2-after', 5);
    await archiveNow(h.node('pg2'));

    const to = join(h.state.dataRoot, 'restore-after-failover');
    const out = await cli(h, 'backup', 'restore', '--to', to, '--start', '--json');
    expect(out.code, out.stderr).toBe(0);
    const { port } = lastJson<{ port: number }>(out.stdout);
    try {
      const rows = await sql<{ batch: string; n: string }>(
        { conn: { ...h.node('pg2').conn, port } },
        'SELECT batch, count(*) AS n FROM marks GROUP BY batch ORDER BY batch',
      );
      expect(rows.map((x) => `${x.batch}:${x.n}`)).toEqual(['tl1:200', 'tl2:70', 'tl2-after:5']);
    } finally {
      await stopNode(
        { name: 'restore', dataDir: to, pid: readPostmasterPid(to) ?? 0 },
        'immediate',
      );
    }
  });

  it('fromStandby with no standby answering falls back to the primary', async () => {
    const r = await standby.runner.run('incr');
    expect(r.kind).toBe('done');
    if (r.kind === 'done')
      expect(r.record).toMatchObject({ node: 'pg2', role: 'primary', status: 'ok' });
  });
});
