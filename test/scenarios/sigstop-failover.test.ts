/**
 * SIGSTOP of every process of the primary (a hung host, not a dead one): connections are not
 * refused, they just hang. The sentinels must still see it down after `downAfterMs`, fail over,
 * and fence the old primary once it wakes up (it must not take writes as a second primary).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TIMING_DEFAULTS } from '../../src/config/defaults.js';
import { localKill } from '../../src/local/cluster.js';
import {
  eventually,
  inRecovery,
  type LocalHandle,
  seedRows,
  sql,
  startLocal,
} from '../helpers/local.js';

describe('SIGSTOP of the primary (hung, not dead)', () => {
  let h: LocalHandle;
  beforeAll(async () => {
    h = await startLocal({ nodes: 2, sentinels: 3 });
  });
  afterAll(async () => {
    await localKill({ dir: h.state.dir, name: 'pg1', signal: 'CONT' }).catch(() => undefined);
    await h?.down();
  });

  it('fails over to the standby, then fences the old primary when it comes back', async () => {
    const pg1 = h.node('pg1');
    const pg2 = h.node('pg2');
    await seedRows(pg1, [pg2]);

    const stoppedAt = Date.now();
    await localKill({ dir: h.state.dir, name: 'pg1', signal: 'STOP' });
    const after = await eventually(async () => {
      const t = await h.topology();
      return t && t.primary === 'pg2' && t.state === 'ok' ? t : undefined;
    }, 30_000);
    // A hung node is judged on downAfterMs (3 s by default), not the shorter refusedAfterMs
    // (1 s). downAfterMs counts from the last successful probe (DESIGN.md: "no successful
    // probe for downAfterMs"), which may have ended up to one probe interval (300 ms) before
    // the SIGSTOP: the earliest honest failover is 2700 ms after it, well past 1 s.
    const { downAfterMs, probeIntervalMs } = TIMING_DEFAULTS.default;
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(downAfterMs - probeIntervalMs);
    expect(after.epoch).toBe(2);
    expect(await inRecovery(pg2)).toBe(false);
    const odown = h.events.find((e) => e.type === 'primary-odown');
    expect(odown).toBeDefined();
    const { n } = (await sql<{ n: string }>(pg2, 'SELECT count(*) AS n FROM t'))[0]!;
    expect(Number(n)).toBe(100);

    // The old primary wakes up still believing it is a primary: the leader fences it.
    await localKill({ dir: h.state.dir, name: 'pg1', signal: 'CONT' });
    await eventually(
      async () =>
        h.events.some((e) => e.type === 'node-fenced' && e.node === 'pg1') ? true : undefined,
      20_000,
    );
    // never writable again: read-only (fenced), in recovery, or down while its agent rewinds it
    await expect(sql(pg1, 'INSERT INTO t VALUES (101)')).rejects.toThrow();
    const rows = await sql(h.node('pg2'), 'SELECT 1 FROM t WHERE id = 101');
    expect(rows).toHaveLength(0);
  });
});
