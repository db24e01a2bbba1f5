/**
 * A primary that accepts connections but cannot commit (here: made read-only, as a full disk or
 * stuck I/O would make it unable to commit) counts as down (rule 1): the sentinels' heartbeat
 * INSERT fails, and the failover happens even though the standby still streams from it (rule 2
 * does not apply: the sentinels reached it, they are not cut off).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { inRecovery, type LocalHandle, sql, startLocal, waitForPrimary } from '../helpers/local.js';

describe('a primary that cannot commit', () => {
  let h: LocalHandle;
  beforeAll(async () => {
    h = await startLocal({ nodes: 2, sentinels: 3, agents: false });
  });
  afterAll(async () => {
    await h?.down();
  });

  it('is failed over', async () => {
    const pg1 = h.node('pg1');
    await sql(pg1, 'ALTER SYSTEM SET default_transaction_read_only = on');
    await sql(pg1, 'SELECT pg_reload_conf()');
    const t = await waitForPrimary(h, 'pg2', 20_000);
    expect(t.epoch).toBe(2);
    expect(await inRecovery(h.node('pg2'))).toBe(false);
    const down = h.events.find((e) => e.type === 'node-down' && e.node === 'pg1');
    expect(down && 'reason' in down ? down.reason : '').toMatch(/no-success-for-downAfter/);
  });
});
