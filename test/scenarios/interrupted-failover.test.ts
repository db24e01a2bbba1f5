/**
 * A leader that dies right after committing epoch e+1 (state `failing-over`) and before sending
 * the promotion (a crash point, as Redis Sentinel's SIMULATE-FAILURE crash-after-election):
 * the next leader must roll the failover forward instead of leaving the cluster stuck.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { localKill } from '../../src/local/cluster.js';
import { eventually, inRecovery, type LocalHandle, startLocal } from '../helpers/local.js';
import { failoverDecision, makeRacer } from '../helpers/racer.js';

describe('failover interrupted after the epoch commit', () => {
  let h: LocalHandle;
  const closers: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    // short timings so "interrupted" is reached quickly: promoteTimeoutMs + 2 * lockTtlMs = 4 s
    h = await startLocal({
      nodes: 2,
      sentinels: 3,
      agents: false, // the sentinel alone must settle it
      timing: { promoteTimeoutMs: 2000, lockTtlMs: 1000 },
    });
  });
  afterAll(async () => {
    for (const c of closers) await c().catch(() => undefined);
    await h?.down();
  });

  it('is rolled forward by the leader: the committed candidate is promoted', async () => {
    await h.store.setPause(h.state.cluster, { paused: true, by: 'test', atWall: Date.now() });
    const before = (await h.topology())!;
    await localKill({ dir: h.state.dir, name: 'pg1', signal: 'KILL' });
    const racer = makeRacer(h, 'crashing-leader', closers);
    const result = await racer.executor.run(
      before,
      failoverDecision('pg2', 'pg1', before.epoch),
      {},
      { crashAfter: 'cas' },
    );
    expect(result).toBeNull();
    const stuck = (await h.topology())!;
    expect(stuck).toMatchObject({ epoch: before.epoch + 1, primary: 'pg2', state: 'failing-over' });
    expect(await inRecovery(h.node('pg2'))).toBe(true); // the promotion was never sent

    const settled = await eventually(async () => {
      const t = await h.topology();
      return t && t.epoch === before.epoch + 2 ? t : undefined;
    }, 20_000);
    expect(settled).toMatchObject({ primary: 'pg2', state: 'ok' });
    expect(settled.reason).toMatch(/rolled forward/);
    expect(await inRecovery(h.node('pg2'))).toBe(false);
  });
});
