/**
 * Issue 7, item 5: coordination loss never rolls the epoch back. After a first failover
 * (epoch 2, pg2 primary, pg1 rejoined), the only Redis server is killed and started empty
 * (`local start --wipe`) and every sentinel restarted (nothing in memory either): the
 * sentinels re-seed from the epoch stamped in pg2 (a new epoch above it, never epoch 1 over the
 * live cluster, pg2 never fenced), and a crash of pg2 then gives one failover, to an epoch
 * above every earlier one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { localKill } from '../../src/local/cluster.js';
import { localStart } from '../../src/local/start.js';
import {
  eventually,
  type LocalHandle,
  sleep,
  sql,
  startLocal,
  waitForPrimary,
} from '../helpers/local.js';

describe('every Redis server wiped under a running cluster', () => {
  let h: LocalHandle;
  beforeAll(async () => {
    h = await startLocal({ nodes: 2, sentinels: 3, redis: 1 });
  });
  afterAll(async () => {
    await h?.down();
  });

  it('re-seeds above the highest stamped epoch; the next failover goes higher still', async () => {
    await sql(h.node('pg1'), 'CREATE TABLE t (id serial PRIMARY KEY)');
    await localKill({ dir: h.state.dir, name: 'pg1' });
    const t2 = await waitForPrimary(h, 'pg2', 30_000);
    expect(t2.epoch).toBe(2);
    // pg1 rejoins as a standby of pg2
    await eventually(async () => {
      const rows = await sql<{ r: boolean }>(
        h.node('pg1'),
        'SELECT pg_is_in_recovery() AS r',
      ).catch(() => []);
      return rows[0]?.r === true ? true : undefined;
    }, 60_000);

    for (const s of h.state.sentinels) await localKill({ dir: h.state.dir, name: s.id });
    await localKill({ dir: h.state.dir, name: 'redis-1' });
    await sleep(500);
    expect(await localStart({ dir: h.state.dir, name: 'redis-1', wipe: true })).toMatch(/empty/);
    // our own store reconnects within half a second: then it reads nothing at all
    await eventually(async () =>
      h.topology().then(
        (t) => (t === null ? true : undefined),
        () => undefined,
      ),
    );
    for (const s of h.state.sentinels) await localStart({ dir: h.state.dir, name: s.id });

    const t3 = await eventually(async () => {
      const t = await h.topology().catch(() => null);
      return t && t.epoch > 2 ? t : undefined;
    }, 30_000);
    console.log(`re-seeded: epoch ${t3.epoch}, primary ${t3.primary} (${t3.reason})`);
    expect(t3).toMatchObject({ epoch: 3, primary: 'pg2' });
    await sql(h.node('pg2'), 'INSERT INTO t DEFAULT VALUES'); // the real primary was never fenced

    const crashAt = Date.now();
    await localKill({ dir: h.state.dir, name: 'pg2' });
    const t4 = await waitForPrimary(h, 'pg1', 30_000);
    console.log(`failover after the re-seed: epoch ${t4.epoch} in ${Date.now() - crashAt} ms`);
    expect(t4.epoch).toBe(4);
    await sleep(3000);
    expect((await h.topology())?.epoch).toBe(4); // exactly one failover
  });
});
