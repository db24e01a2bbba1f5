/**
 * ClusterLoop on fakes, under fake timers: the whole tick (observe + coordinate -> decide ->
 * publish -> lead -> act) against FakePostgres (pg1 primary, pg2 and pg3 streaming from it)
 * and FakeCoordinationStore (3 servers), asserting on what `tick()` returns and on what the
 * fakes saw. Other sentinels exist only as the votes they publish into the shared store.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { createLogger } from '../../../../src/adapters/logging/logger.js';
import type { StampedEvent } from '../../../../src/core/events.js';
import type { Vote } from '../../../../src/core/model.js';
import { EventBus } from '../../../../src/runtime/events.js';
import { ClusterLoop, type TickOutcome } from '../../../../src/runtime/sentinel/cluster-loop.js';
import { FOLLOWER_REFRESH_MS } from '../../../../src/runtime/sentinel/coordinator.js';
import { aClusterConfig, aTiming } from '../../../builders/index.js';
import { FakeAgentControl } from '../../../fakes/agent-control.js';
import { fakeClock } from '../../../fakes/clock.js';
import { FakeCoordinationStore, FakeRedisBackend } from '../../../fakes/coordination.js';
import { RecordingMetrics } from '../../../fakes/metrics.js';
import { FakePostgres, type FakePostgresOptions } from '../../../fakes/postgres.js';

const cluster = aClusterConfig(); // c1: pg1 primary, pg2 (priority 100), pg3 (50); quorum 2
const timing = aTiming(); // probe every 500 ms, refusedAfter 1 s, tiltGap 2 s, tilt 10 s

function sentinel(o: { pg?: FakePostgresOptions } = {}) {
  const time = fakeClock();
  const backend = new FakeRedisBackend({ servers: 3, now: time.clock.wall });
  const store = new FakeCoordinationStore({ backend });
  const pg = FakePostgres.cluster(cluster.nodes, o.pg);
  const log = createLogger({ level: 'silent', process: 's1', role: 'sentinel' });
  const bus = new EventBus(store, log);
  const events: StampedEvent[] = [];
  bus.onEvent((e) => events.push(e));
  const metrics = new RecordingMetrics();
  const loop = new ClusterLoop({
    cluster,
    timing,
    sentinelId: 's1',
    clock: time.clock,
    log,
    store,
    pg,
    bus,
    metrics,
    agents: new FakeAgentControl(pg),
    apiUrl: null,
    version: 'test',
  });
  /** another sentinel's vote about pg1, fresh now */
  const voteFrom = (sentinel: string, epoch: number, down = true): Promise<void> => {
    const vote: Vote = {
      sentinel,
      epoch,
      primary: 'pg1',
      down,
      reason: down ? 'refused-for-refusedAfter' : 'ok',
      atWall: time.clock.wall(),
    };
    return store.publishVote('c1', vote, timing.voteTtlMs);
  };
  /** tick every probe interval until `until` holds (at most `max` ticks) */
  const tickUntil = async (
    until: (o: TickOutcome) => boolean,
    max = 10,
  ): Promise<TickOutcome[]> => {
    const seen: TickOutcome[] = [];
    for (let i = 0; i < max; i++) {
      await time.advance(timing.probeIntervalMs);
      const o = await loop.tick();
      seen.push(o);
      if (until(o)) return seen;
    }
    return seen;
  };
  return { time, backend, store, pg, events, metrics, loop, voteFrom, tickUntil };
}

const steps = (o: TickOutcome): string[] => o.did.map((d) => d.step);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('ClusterLoop.tick', () => {
  it('bootstraps epoch 1 on an empty store and stamps it on the primary', async () => {
    const s = sentinel();
    const o = await s.loop.tick();
    expect(o.did).toContainEqual({ step: 'bootstrapped', epoch: 1 });
    expect(o.epoch).toBe(1);
    expect(s.pg.calls).toEqual(['stamp pg1 1']);
    expect(s.pg.node('pg1').stampedEpoch).toBe(1);
    expect((await s.store.readTopology('c1')).value).toMatchObject({
      epoch: 1,
      primary: 'pg1',
      state: 'ok',
      committedBy: 's1',
    });
    expect(s.events.map((e) => e.type)).toContain('topology-changed');
    // the heartbeat goes to the primary only
    expect(s.pg.probes.filter((p) => p.heartbeat).map((p) => p.node)).toEqual(['pg1']);
  });

  it('a healthy cluster: observes, votes "not down", changes nothing', async () => {
    const s = sentinel();
    await s.loop.tick();
    const [o] = await s.tickUntil(() => true, 1);
    expect(o).toMatchObject({
      decision: { kind: 'observe', reason: 'primary-up-here' },
      did: [],
      epoch: 1,
    });
    expect(s.pg.calls).toEqual(['stamp pg1 1']);
    const votes = (await s.store.readVotes('c1')).value;
    expect(votes).toEqual([expect.objectContaining({ sentinel: 's1', down: false, epoch: 1 })]);
    expect(s.loop.view()).toMatchObject({ leader: true, coordination: 'majority', tilt: false });
    expect(s.metrics.ticks.at(-1)).toMatchObject({ cluster: 'c1', leader: true, epoch: 1 });
  });

  it('primary down, a quorum of votes, leader: fails over to pg2, epoch 2, pg3 re-pointed', async () => {
    const s = sentinel();
    await s.loop.tick(); // epoch 1
    s.pg.down('pg1');
    await s.voteFrom('s2', 1);
    const seen = await s.tickUntil((o) => o.decision.kind === 'failover');
    const o = seen.at(-1)!;
    expect(o.decision).toMatchObject({
      kind: 'failover',
      reason: 'primary-odown',
      candidate: 'pg2',
    });
    expect(o.did).toContainEqual({ step: 'failover', outcome: 'completed', epoch: 2 });
    expect(o.epoch).toBe(2);
    // refused probes for refusedAfterMs (1 s) from the last success: the third tick acts
    expect(seen.length).toBeLessThanOrEqual(3);
    expect(s.pg.node('pg2').role).toBe('primary');
    expect(s.pg.calls).toEqual([
      'stamp pg1 1',
      'promote pg2',
      'stamp pg2 2',
      'slot pg2 pg3',
      'repoint pg3 -> pg2',
    ]);
    expect(s.pg.node('pg3').upstream).toBe('pg2');
    expect((await s.store.readTopology('c1')).value).toMatchObject({
      epoch: 2,
      primary: 'pg2',
      previousPrimary: 'pg1',
      state: 'ok',
    });
    expect(s.events.map((e) => e.type)).toEqual(
      expect.arrayContaining([
        'node-down',
        'primary-odown',
        'failover-started',
        'failover-completed',
      ]),
    );
    expect(s.metrics.failovers).toEqual([
      { cluster: 'c1', kind: 'automatic', durationMs: expect.any(Number) },
    ]);
    // the next tick follows the new primary: healthy again
    const [after] = await s.tickUntil(() => true, 1);
    expect(after!.decision).toMatchObject({ kind: 'observe', reason: 'primary-up-here', epoch: 2 });
  });

  it('a failover whose promotion is not confirmed says degraded, not completed', async () => {
    const s = sentinel();
    await s.loop.tick(); // epoch 1
    s.pg.down('pg1');
    s.pg.fail('promote', { node: 'pg2' });
    await s.voteFrom('s2', 1);
    const o = (await s.tickUntil((t) => t.decision.kind === 'failover')).at(-1)!;
    expect(o.did).toContainEqual({ step: 'failover', outcome: 'degraded', epoch: 2 });
    expect((await s.store.readTopology('c1')).value).toMatchObject({ epoch: 2, state: 'degraded' });
  });

  it('the same without a quorum (no other sentinel votes down): no failover', async () => {
    const s = sentinel();
    await s.loop.tick();
    s.pg.down('pg1');
    await s.voteFrom('s2', 1, false);
    const seen = await s.tickUntil(() => false, 8);
    expect(seen.map((o) => o.decision.kind)).not.toContain('failover');
    expect(seen.at(-1)!.decision).toMatchObject({ kind: 'vote-down', reason: 'no-quorum' });
    expect(s.pg.calls).toEqual(['stamp pg1 1']);
  });

  it('no Redis majority: never fails over, even with the primary down and a quorum', async () => {
    const s = sentinel();
    await s.loop.tick();
    s.pg.down('pg1');
    await s.voteFrom('s2', 1);
    s.backend.down(0);
    s.backend.down(1);
    const seen = await s.tickUntil(() => false, 8);
    expect(seen.map((o) => o.decision.reason)).toEqual(Array(8).fill('no-coordination-majority'));
    expect(seen.flatMap((o) => o.did)).toEqual([]);
    expect(s.pg.calls).toEqual(['stamp pg1 1']);
    expect(s.loop.view().coordination).toBe('no-majority');
    expect(s.pg.node('pg2').role).toBe('standby');
  });

  it('enters TILT after a long gap between ticks (a paused process) and does not act', async () => {
    const s = sentinel();
    await s.loop.tick();
    await s.tickUntil(() => true, 1);
    s.pg.down('pg1');
    s.time.jump(5000); // paused for 5 s (tiltGapMs 2 s): no timer ran meanwhile
    await s.voteFrom('s2', 1);
    const o = await s.loop.tick();
    expect(o.decision).toMatchObject({ kind: 'observe', reason: 'tilt' });
    expect(s.loop.view().tilt).toBe(true);
    // while TILT lasts (10 s) it keeps observing, though pg1 is down and s2 votes so
    const during = await s.tickUntil(() => false, 6);
    expect(during.map((x) => x.decision.reason)).toEqual(Array(6).fill('tilt'));
    expect(s.pg.calls).toEqual(['stamp pg1 1']);
    // our vote says "not down" in TILT
    const ours = (await s.store.readVotes('c1')).value.find((v) => v.sentinel === 's1');
    expect(ours).toMatchObject({ down: false, reason: 'tilt' });
  });

  it('a tick waiting on a hung primary longer than tiltGapMs is not a pause: no TILT, it fails over', async () => {
    // each probe of the hung pg1 answers after 2.5 s, over tiltGapMs (2 s): the ticks are that
    // far apart, but the process ran all along (the guard timer beat in between)
    const s = sentinel({ pg: { probeTimeoutMs: 2500 } });
    s.loop.start();
    await s.time.advance(3 * timing.probeIntervalMs);
    s.pg.hang('pg1').set('pg2', { receiver: null }).set('pg3', { receiver: null }); // no walsender
    await s.voteFrom('s2', 1);
    let tilt = false;
    for (let t = 0; t < 8000; t += 100) {
      await s.time.advance(100);
      tilt ||= s.loop.view().tilt;
      if (t % 1000 === 0) await s.voteFrom('s2', 1);
      if (s.pg.node('pg2').role === 'primary') break;
    }
    const stopped = s.loop.stop(); // waits for the tick in flight, maybe on a hung probe
    await s.time.advance(3000);
    await stopped;
    expect(tilt).toBe(false);
    expect(s.pg.node('pg2').role).toBe('primary');
  });

  it('judges a hung node by its silence while its probe is still in flight (probes run on their own)', async () => {
    // a probe of the hung pg1 answers only after 8 s, far over downAfterMs (3 s): the loop
    // must not wait for it to find pg1 down, nor stop probing pg2 and pg3 meanwhile
    const s = sentinel({ pg: { probeTimeoutMs: 8000 } });
    s.loop.start();
    await s.time.advance(3 * timing.probeIntervalMs);
    s.pg.hang('pg1');
    const hungAt = s.time.elapsed();
    const pg2Before = s.pg.probes.filter((p) => p.node === 'pg2').length;
    let downAt: number | null = null;
    for (let t = 0; t < 6000 && downAt === null; t += 100) {
      await s.time.advance(100);
      if (s.events.some((e) => e.type === 'node-down' && e.node === 'pg1'))
        downAt = s.time.elapsed();
    }
    const pg2Probes = s.pg.probes.filter((p) => p.node === 'pg2').length - pg2Before;
    const stopped = s.loop.stop(); // waits for the hung probe in flight
    await s.time.advance(8000);
    await stopped;
    expect(downAt).not.toBeNull();
    // down once silent for downAfterMs (counted from the last answer, up to one interval
    // before the hang), seen within a tick of it: long before the 8 s probe returns
    expect(downAt! - hungAt).toBeLessThanOrEqual(timing.downAfterMs + 2 * timing.probeIntervalMs);
    expect(pg2Probes).toBeGreaterThanOrEqual(
      Math.floor(timing.downAfterMs / timing.probeIntervalMs) - 1,
    );
  });

  it('fences a stray primary (answers as primary, the topology says standby) once per epoch', async () => {
    const s = sentinel();
    await s.loop.tick();
    s.pg.set('pg3', { role: 'primary' });
    const [o] = await s.tickUntil(() => true, 1);
    expect(o!.did).toContainEqual({ step: 'fenced-stray', nodes: ['pg3'] });
    expect(s.pg.calls).toEqual(['stamp pg1 1', 'fence pg3']);
    expect(s.pg.node('pg3').fenced).toBe(true);
    expect(s.events.find((e) => e.type === 'node-fenced')).toMatchObject({ node: 'pg3', epoch: 1 });
    const [again] = await s.tickUntil(() => true, 1);
    expect(steps(again!)).not.toContain('fenced-stray');
    expect(s.pg.calls.filter((c) => c === 'fence pg3')).toHaveLength(1);
  });

  it('a tick awaiting its own I/O longer than tiltGapMs is not a pause: the guard timer beats meanwhile, no TILT', async () => {
    // the stray fence answers after 2.5 s (over tiltGapMs, 2 s) inside the leader's tick, with
    // no bounded-work mark: only the guard's beats keep the next tick's gap short
    const s = sentinel({ pg: { latencyMs: { fence: 2500 } } });
    s.loop.start();
    await s.time.advance(3 * timing.probeIntervalMs);
    s.pg.set('pg3', { role: 'primary' });
    let tilt = false;
    for (let t = 0; t < 6000; t += 100) {
      await s.time.advance(100);
      tilt ||= s.loop.view().tilt;
    }
    const stopped = s.loop.stop();
    await s.time.advance(3000);
    await stopped;
    expect(s.pg.calls).toContain('fence pg3');
    expect(tilt).toBe(false);
  });
});

describe('ClusterLoop.start/stop', () => {
  const ticks = (pg: FakePostgres): number => pg.probes.filter((p) => p.node === 'pg1').length;

  it('a follower reads Redis and bids for the lead once a second while the primary answers here, every tick once it fails', async () => {
    const s = sentinel();
    const leader = new FakeCoordinationStore({ backend: s.backend });
    expect(await leader.tryLead('c1', timing.lockTtlMs)).toBe(true); // another sentinel leads
    await s.loop.tick(); // bootstraps epoch 1 (no topology yet: a read every tick)
    const reads = vi.spyOn(s.store, 'readTopology');
    const bids = vi.spyOn(s.store, 'tryLead');
    // the other sentinel keeps its lock (extended after each of our ticks)
    const renew = () => void leader.tryLead('c1', timing.lockTtlMs);
    const healthy = await s.tickUntil(() => (renew(), false), 8); // 8 ticks, 500 ms apart
    expect(healthy.map((o) => o.decision.reason)).toEqual(Array(8).fill('not-leader'));
    expect(s.loop.view()).toMatchObject({ leader: false, coordination: 'majority' });
    // every FOLLOWER_REFRESH_MS (1000 ms): 4 of 8 ticks, not 8
    expect(reads).toHaveBeenCalledTimes(4);
    expect(bids).toHaveBeenCalledTimes(4);
    reads.mockClear();
    bids.mockClear();
    s.pg.down('pg1');
    await s.tickUntil(() => (renew(), false), 4);
    expect(s.loop.view().leader).toBe(false);
    // the first tick decides on the probe it started; from then on every tick reads and bids
    expect(reads.mock.calls.length).toBeGreaterThanOrEqual(3);
    expect(bids.mock.calls.length).toBe(reads.mock.calls.length);
  });

  it('a follower takes the lead within FOLLOWER_REFRESH_MS of the leader lock expiring', async () => {
    const s = sentinel();
    const leader = new FakeCoordinationStore({ backend: s.backend });
    expect(await leader.tryLead('c1', timing.lockTtlMs)).toBe(true);
    const lockedAt = s.time.clock.wall();
    await s.loop.tick();
    const seen = await s.tickUntil(() => s.loop.view().leader, 20);
    expect(s.loop.view().leader).toBe(true);
    const tookOver = s.time.clock.wall() - lockedAt;
    expect(seen.length).toBeGreaterThan(1);
    expect(tookOver).toBeGreaterThanOrEqual(timing.lockTtlMs - 100);
    expect(tookOver).toBeLessThanOrEqual(
      timing.lockTtlMs + FOLLOWER_REFRESH_MS + timing.probeIntervalMs,
    );
  });

  it('ticks at once, then every probeIntervalMs jittered by +-10%', async () => {
    const random = vi.spyOn(Math, 'random').mockReturnValue(0); // the shortest: 0.9 x 500 ms
    const s = sentinel();
    s.loop.start();
    await s.time.advance(0);
    expect(ticks(s.pg)).toBe(1);
    await s.time.advance(449);
    expect(ticks(s.pg)).toBe(1);
    await s.time.advance(1);
    expect(ticks(s.pg)).toBe(2);
    random.mockReturnValue(1); // the longest: 1.1 x 500 ms
    await s.time.advance(450); // the delay after tick 2 was drawn at 0: tick 3 at +450
    expect(ticks(s.pg)).toBe(3);
    await s.time.advance(549);
    expect(ticks(s.pg)).toBe(3);
    await s.time.advance(1);
    expect(ticks(s.pg)).toBe(4);
    await s.loop.stop();
  });

  it('stop() waits for the tick in flight, then no tick runs and the leader lock is released', async () => {
    const s = sentinel({ pg: { probeLatencyMs: 200 } });
    s.loop.start();
    await s.time.advance(0); // tick 1 starts: its probes answer after 200 ms
    expect(ticks(s.pg)).toBe(1);
    let stopped = false;
    const stop = s.loop.stop().then(() => {
      stopped = true;
    });
    await s.time.advance(100);
    expect(stopped).toBe(false);
    await s.time.advance(100);
    await stop;
    expect(stopped).toBe(true);
    expect(s.loop.lastTickMono).not.toBeNull(); // tick 1 completed
    await s.time.advance(5000);
    expect(ticks(s.pg)).toBe(1);
    const other = new FakeCoordinationStore({ backend: s.backend });
    expect(await other.tryLead('c1', 5000)).toBe(true);
  });
});
