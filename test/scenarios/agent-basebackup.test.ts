/**
 * Rule 5's last resort: when pg_rewind cannot repair the old primary (here its WAL is gone, so
 * neither crash recovery nor a rewind can run), the agent moves the data directory aside
 * (`<dataDir>.old-<stamp>`, kept by default) and takes a fresh base backup from the new
 * primary; the node then streams from it and the event says `basebackup`.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

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

describe('agent: rejoin by base backup when pg_rewind fails', () => {
  let h: LocalHandle;
  beforeAll(async () => {
    h = await startLocal({ nodes: 2, sentinels: 3 });
  });
  afterAll(async () => {
    await h?.down();
  });

  it('moves the broken data directory aside and copies the new primary', async () => {
    const pg1 = h.node('pg1');
    const pg2 = h.node('pg2');
    await seedRows(pg1, [pg2]);

    await localKill({ dir: h.state.dir, name: 'pg1', signal: 'KILL' });
    const wal = join(pg1.dataDir, 'pg_wal');
    for (const f of readdirSync(wal))
      if (/^[0-9A-F]{24}$/.test(f)) rmSync(join(wal, f), { force: true });

    const after = await waitForPrimary(h, 'pg2', 20_000);
    const rejoined = await eventually(
      async () => h.events.find((e) => e.type === 'node-rejoined' && e.node === 'pg1'),
      40_000,
    );
    expect(rejoined).toMatchObject({ method: 'basebackup', epoch: after.epoch });

    // the old directory is kept aside (agent.keepOldDataDirs defaults to true)
    const aside = readdirSync(dirname(pg1.dataDir)).filter((d) =>
      d.startsWith(`${basename(pg1.dataDir)}.old-`),
    );
    expect(aside).toHaveLength(1);
    expect(existsSync(join(dirname(pg1.dataDir), aside[0]!, 'PG_VERSION'))).toBe(true);

    expect(await inRecovery(pg1)).toBe(true);
    const [rx] = await sql<{ status: string; port: number }>(
      pg1,
      'SELECT status, sender_port AS port FROM pg_stat_wal_receiver',
    );
    expect(rx).toMatchObject({ status: 'streaming', port: pg2.port });
    // node-local settings survived the copy: its own port, its own slot
    const [s] = await sql<{ port: string; slot: string }>(
      pg1,
      "SELECT current_setting('port') AS port, current_setting('primary_slot_name') AS slot",
    );
    expect(s).toEqual({ port: String(pg1.port), slot: 'pg1' });
    await sql(pg2, 'INSERT INTO t VALUES (101)');
    await eventually(async () =>
      (await sql(pg1, 'SELECT 1 FROM t WHERE id = 101')).length === 1 ? true : undefined,
    );
  });
});
