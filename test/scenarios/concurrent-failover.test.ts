/**
 * Two sentinels whose leader locks overlapped both try to fail over at once, each to a different
 * standby (the worst case). The epoch compare-and-set lets exactly one commit epoch e+1 and
 * promote; the other aborts with `epoch-cas-lost` BEFORE sending any promotion (rule 3).
 * The redlock step is bypassed on purpose: the CAS alone must be enough.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Decision } from '../../src/core/decide.js';
import { localKill } from '../../src/local/cluster.js';
import { eventually, inRecovery, type LocalHandle, startLocal } from '../helpers/local.js';
import { makeRacer } from '../helpers/racer.js';

describe('two sentinels failing over at once', () => {
  let h: LocalHandle;
  const closers: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    h = await startLocal({ nodes: 3, sentinels: 3, agents: false });
  });
  afterAll(async () => {
    for (const c of closers) await c().catch(() => undefined);
    await h?.down();
  });

  const racer = (id: string) => makeRacer(h, id, closers);

  it('commits exactly one epoch and promotes exactly one standby', async () => {
    // keep the real sentinels out of it: maintenance mode stops their automatic failover
    await h.store.setPause(h.state.cluster, { paused: true, by: 'test', atWall: Date.now() });
    await eventually(async () => {
      const s = (await (await fetch(`${h.state.api}/status`)).json()) as {
        paused: { paused: boolean };
      };
      return s.paused.paused ? true : undefined;
    });
    const topology = (await h.topology())!;
    await localKill({ dir: h.state.dir, name: 'pg1', signal: 'KILL' });

    const a = racer('racer-a');
    const b = racer('racer-b');
    const decision = (candidate: string): Decision => ({
      kind: 'failover',
      reason: 'primary-odown',
      evidence: 'race test',
      vote: null,
      candidate,
      from: 'pg1',
      epoch: topology.epoch,
      events: [],
    });
    const [ra, rb] = await Promise.all([
      a.executor.run(topology, decision('pg2'), {}),
      b.executor.run(topology, decision('pg3'), {}),
    ]);

    const winners = [ra, rb].filter((r) => r !== null);
    expect(winners).toHaveLength(1);
    const winner = winners[0]!;
    expect(winner.epoch).toBe(topology.epoch + 1);
    const loser = ra === null ? a : b;
    expect(
      loser.events.some((e) => e.type === 'failover-aborted' && e.reason === 'epoch-cas-lost'),
    ).toBe(true);
    expect(loser.events.some((e) => e.type === 'failover-started')).toBe(false);

    const promoted = winner.primary;
    const other = promoted === 'pg2' ? 'pg3' : 'pg2';
    expect(await inRecovery(h.node(promoted))).toBe(false);
    expect(await inRecovery(h.node(other))).toBe(true);
    const stored = (await h.topology())!;
    expect(stored.epoch).toBe(topology.epoch + 1);
    expect(stored.primary).toBe(promoted);
  });
});
