/**
 * StrayPrimaryFencer on fakes: it re-reads the committed topology before fencing, so a node
 * that a newer epoch made primary (the loop's copy is stale) is never fenced, and without a
 * coordination majority nothing is fenced.
 */
import { describe, expect, it } from 'vitest';

import { createLogger } from '../../../../src/adapters/logging/logger.js';
import type { NodeObservation } from '../../../../src/core/health.js';
import { EventBus } from '../../../../src/runtime/events.js';
import { StrayPrimaryFencer } from '../../../../src/runtime/sentinel/stray-primaries.js';
import { aClusterConfig, aTiming, aTopology } from '../../../builders/index.js';
import { FakeCoordinationStore, FakeRedisBackend } from '../../../fakes/coordination.js';
import { FakePostgres } from '../../../fakes/postgres.js';

const cluster = aClusterConfig();
const held = aTopology({ epoch: 1, committedBy: 's1' }); // pg1 primary
const seen = (role: 'primary' | 'standby') => ({ last: { ok: true, role } }) as NodeObservation;

async function setup() {
  const backend = new FakeRedisBackend({ servers: 3 });
  const store = new FakeCoordinationStore({ backend });
  await store.casTopology('c1', 0, held, 's1');
  const pg = FakePostgres.cluster(cluster.nodes);
  const log = createLogger({ level: 'silent', process: 's1', role: 'sentinel' });
  const fencer = new StrayPrimaryFencer({
    cluster,
    timing: aTiming(),
    sentinelId: 's1',
    clock: { mono: () => 0, wall: () => 0 },
    log,
    pg,
    store,
    bus: new EventBus(store, log),
  });
  return { backend, store, pg, fencer };
}

describe('StrayPrimaryFencer', () => {
  const observations = { pg1: seen('primary'), pg2: seen('standby'), pg3: seen('primary') };

  it('fences a stray primary of the committed topology', async () => {
    const s = await setup();
    expect(await s.fencer.fence(held, observations)).toEqual(['pg3']);
    expect(s.pg.node('pg3').fenced).toBe(true);
  });

  it('never fences the primary of a newer epoch than the one the loop holds', async () => {
    const s = await setup();
    const newer = { ...held, epoch: 2, primary: 'pg3', committedBy: 's2' };
    expect((await s.store.casTopology('c1', 1, newer, 's2')).committed).toBe(true);
    // pg1 still answers as primary too: under epoch 2 it is the stray one
    expect(await s.fencer.fence(held, observations)).toEqual(['pg1']);
    expect(s.pg.node('pg3').fenced).toBe(false);
    expect(s.pg.node('pg1').fenced).toBe(true);
  });

  it('fences nothing without a coordination majority', async () => {
    const s = await setup();
    for (const server of s.backend.servers.slice(0, 2)) server.up = false;
    expect(await s.fencer.fence(held, observations)).toEqual([]);
    expect(s.pg.node('pg3').fenced).toBe(false);
  });
});
