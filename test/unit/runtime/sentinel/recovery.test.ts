/**
 * Rolling forward a failover whose leader died half-way (recovery.ts), on fakes: epoch 8 was
 * committed `failing-over` to pg2 by s9, which never finished. The candidate's last probe
 * decides: a standby is promoted, a primary is kept, an unreachable one leaves `degraded`.
 */
import { describe, expect, it } from 'vitest';

import { createLogger } from '../../../../src/adapters/logging/logger.js';
import type { StampedEvent } from '../../../../src/core/events.js';
import { nextTopology } from '../../../../src/core/failover/topology.js';
import type { ProbeResult, Topology } from '../../../../src/core/model.js';
import { EventBus } from '../../../../src/runtime/events.js';
import type { FailoverDeps } from '../../../../src/runtime/sentinel/deps.js';
import {
  interruptedAfterMs,
  isInterrupted,
  isUnpromoted,
  settleInterruptedFailover,
} from '../../../../src/runtime/sentinel/recovery.js';
import {
  aClusterConfig,
  aProbe,
  aTiming,
  aTopology,
  EPOCH,
  NOW_MONO,
  NOW_WALL,
  observe,
} from '../../../builders/index.js';
import { FakeCoordinationStore } from '../../../fakes/coordination.js';
import { FakePostgres } from '../../../fakes/postgres.js';

const cluster = aClusterConfig();
const timing = aTiming(); // interrupted after promoteTimeout 5 s + 2 x lockTtl 5 s = 15 s
const STARTED_WALL = NOW_WALL - 60_000;
const interrupted: Topology = nextTopology(
  aTopology({ committedBy: 's0' }),
  'pg2',
  STARTED_WALL,
  'automatic failover pg1 -> pg2',
  's9',
);

async function setup() {
  const store = new FakeCoordinationStore();
  for (let e = 1; e <= EPOCH; e++)
    await store.casTopology('c1', e - 1, aTopology({ epoch: e }), 's0');
  await store.casTopology('c1', EPOCH, interrupted, 's9');
  const pg = FakePostgres.cluster(cluster.nodes).down('pg1');
  const log = createLogger({ level: 'silent', process: 's1', role: 'sentinel' });
  const bus = new EventBus(store, log);
  const events: StampedEvent[] = [];
  bus.onEvent((e) => events.push(e));
  const deps: Omit<FailoverDeps, 'metrics'> = {
    cluster,
    timing,
    sentinelId: 's1',
    clock: { mono: () => NOW_MONO, wall: () => NOW_WALL },
    log,
    store,
    pg,
    bus,
  };
  const settle = (...probes: ProbeResult[]) =>
    settleInterruptedFailover(deps, interrupted, observe(probes, NOW_MONO, timing));
  return { store, pg, events, settle };
}

describe('isInterrupted', () => {
  const at = (ms: number) => STARTED_WALL + ms;
  it('only a failing-over topology older than interruptedAfterMs', () => {
    expect(interruptedAfterMs(timing)).toBe(15_000);
    expect(isInterrupted(interrupted, at(15_000), timing)).toBe(false);
    expect(isInterrupted(interrupted, at(15_001), timing)).toBe(true);
    expect(isInterrupted({ ...interrupted, state: 'ok' }, at(60_000), timing)).toBe(false);
    expect(isInterrupted({ ...interrupted, state: 'switching-over' }, at(60_000), timing)).toBe(
      false,
    );
    expect(isInterrupted({ ...interrupted, updatedAt: 'garbage' }, at(60_000), timing)).toBe(false);
  });
});

describe('isUnpromoted (a degraded failover whose candidate is still a standby)', () => {
  const degraded: Topology = { ...interrupted, state: 'degraded' };
  const wall = STARTED_WALL + timing.promoteTimeoutMs + 1;
  const seen = (p: ProbeResult) => observe([p], NOW_MONO, timing);
  const standby = seen(aProbe('pg2').standby().at(NOW_MONO).build());
  it('degraded, the named primary answers as a standby, older than promoteTimeoutMs', () => {
    expect(isUnpromoted(degraded, standby, wall, timing)).toBe(true);
    expect(isUnpromoted(degraded, standby, wall - 1, timing)).toBe(false);
    expect(isUnpromoted({ ...degraded, state: 'ok' }, standby, wall, timing)).toBe(false);
    expect(
      isUnpromoted(degraded, seen(aProbe('pg2').primary().at(NOW_MONO).build()), wall, timing),
    ).toBe(false);
    expect(
      isUnpromoted(degraded, seen(aProbe('pg2').refused().at(NOW_MONO).build()), wall, timing),
    ).toBe(false);
  });
});

describe('settleInterruptedFailover', () => {
  it('candidate still a standby: promoted, stamped e+1, the others re-pointed, ok at e+1', async () => {
    const s = await setup();
    const t = await s.settle(aProbe('pg2').standby().at(NOW_MONO).build());
    expect(t).toMatchObject({ epoch: 9, primary: 'pg2', state: 'ok', committedBy: 's1' });
    expect(t?.reason).toMatch(/rolled forward by s1/);
    expect(s.pg.calls).toEqual([
      'promote pg2',
      'stamp pg2 9',
      'slot pg2 pg3',
      'repoint pg3 -> pg2',
    ]);
    expect(s.pg.node('pg2').role).toBe('primary');
    expect((await s.store.readTopology('c1')).value).toEqual(t);
    expect(s.events).toEqual([expect.objectContaining({ type: 'topology-changed', epoch: 9 })]);
  });

  it('candidate already a primary: not promoted again, the others re-pointed', async () => {
    const s = await setup();
    s.pg.set('pg2', { role: 'primary' });
    const t = await s.settle(aProbe('pg2').primary().at(NOW_MONO).build());
    expect(t).toMatchObject({ epoch: 9, primary: 'pg2', state: 'ok' });
    expect(s.pg.calls).toEqual(['stamp pg2 9', 'slot pg2 pg3', 'repoint pg3 -> pg2']);
  });

  it('candidate unreachable: degraded at e+1 (decide() fails over from it normally), no calls', async () => {
    const s = await setup();
    s.pg.down('pg2');
    const t = await s.settle(aProbe('pg2').refused().at(NOW_MONO).build());
    expect(t).toMatchObject({ epoch: 9, primary: 'pg2', state: 'degraded' });
    expect(t?.reason).toMatch(/pg2 unreachable/);
    expect(s.pg.attempts).toEqual([]);
  });

  it('a failed promote: degraded at e+1 with the error, nothing re-pointed', async () => {
    const s = await setup();
    s.pg.fail('promote');
    const t = await s.settle(aProbe('pg2').standby().at(NOW_MONO).build());
    expect(t).toMatchObject({ epoch: 9, state: 'degraded' });
    expect(t?.reason).toMatch(/settled: promote pg2 .*ECONNREFUSED/);
    expect(s.pg.calls).toEqual([]);
  });

  it('another sentinel settled it first (lost CAS): null', async () => {
    const s = await setup();
    await s.store.casTopology('c1', 8, { ...interrupted, epoch: 9, state: 'ok' }, 's2');
    expect(await s.settle(aProbe('pg2').primary().at(NOW_MONO).build())).toBeNull();
    expect(s.events).toEqual([]);
  });
});
