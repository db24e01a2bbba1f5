/**
 * FailoverExecutor on fakes, under fake timers: it drives the core failover machine with the
 * results of real calls on FakePostgres and FakeCoordinationStore, each bounded by its state's
 * deadline. The decision is the one core `decide()` makes on aCluster().withPrimaryDown():
 * pg1 (epoch 7) down, pg2 the candidate, pg3 the other standby.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { createLogger } from '../../../../src/adapters/logging/logger.js';
import { decide } from '../../../../src/core/decide.js';
import type { StampedEvent } from '../../../../src/core/events.js';
import { nextTopology } from '../../../../src/core/failover/topology.js';
import type { NodeObservation } from '../../../../src/core/health.js';
import type { Topology } from '../../../../src/core/model.js';
import { EventBus } from '../../../../src/runtime/events.js';
import type { FailoverDeps } from '../../../../src/runtime/sentinel/deps.js';
import { FailoverExecutor } from '../../../../src/runtime/sentinel/failover-executor.js';
import { EpochStamps } from '../../../../src/runtime/sentinel/stamps.js';
import { aCluster, aTopology, EPOCH } from '../../../builders/index.js';
import { fakeClock } from '../../../fakes/clock.js';
import { FakeCoordinationStore, FakeRedisBackend } from '../../../fakes/coordination.js';
import { RecordingMetrics } from '../../../fakes/metrics.js';
import { FakePostgres, type FakePostgresOptions } from '../../../fakes/postgres.js';

const input = aCluster().withPrimaryDown().build();
const topology: Topology = aTopology({ committedBy: 's0' }); // epoch 7, pg1 primary

async function setup(pgOptions: FakePostgresOptions = {}) {
  const time = fakeClock();
  const store = new FakeCoordinationStore({
    backend: new FakeRedisBackend({ now: time.clock.wall }),
  });
  for (let e = 1; e <= EPOCH; e++)
    await store.casTopology('c1', e - 1, { ...topology, epoch: e }, 's0');
  const pg = FakePostgres.cluster(input.cluster.nodes, pgOptions).down('pg1');
  const log = createLogger({ level: 'silent', process: 's1', role: 'sentinel' });
  const bus = new EventBus(store, log);
  const events: StampedEvent[] = [];
  bus.onEvent((e) => events.push(e));
  const metrics = new RecordingMetrics();
  const deps: FailoverDeps = {
    cluster: input.cluster,
    timing: input.timing,
    sentinelId: 's1',
    clock: time.clock,
    log,
    store,
    pg,
    bus,
    metrics,
  };
  const decision = decide(input);
  expect(decision).toMatchObject({ kind: 'failover', candidate: 'pg2', epoch: EPOCH });
  const observations = Object.fromEntries(
    Object.entries(input.health).filter((e): e is [string, NodeObservation] => e[1] !== undefined),
  );
  const run = () => new FailoverExecutor(deps).run(topology, decision, observations);
  return { time, store, pg, events, metrics, run, deps };
}

const types = (events: StampedEvent[]): string[] => events.map((e) => e.type);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('FailoverExecutor.run', () => {
  it('runs to done: commit, promote + stamp, repoint, fence attempt, publish, in that order', async () => {
    const s = await setup();
    const after = await s.run();
    expect(after).toMatchObject({ epoch: 8, primary: 'pg2', state: 'ok', committedBy: 's1' });
    expect((await s.store.readTopology('c1')).value).toEqual(after);
    expect(after?.nodes.find((n) => n.name === 'pg1')).toMatchObject({
      role: 'standby',
      state: 'down', // the fence found it unreachable: its agent self-fences
    });
    expect(s.pg.calls).toEqual([
      'promote pg2',
      'stamp pg2 8',
      'slot pg2 pg3',
      'repoint pg3 -> pg2',
    ]);
    expect(s.pg.attempts.map((a) => `${a.op} ${a.node} ${a.outcome}`)).toContain(
      'fence pg1 failed',
    );
    expect(types(s.events)).toEqual([
      'failover-started',
      'topology-changed', // promoted: clients may follow at once (state failing-over)
      'topology-changed', // published: ok
      'failover-completed',
    ]);
    expect(s.events[1]).toMatchObject({ topology: { epoch: 8, state: 'failing-over' } });
    expect(s.events[3]).toMatchObject({ from: 'pg1', to: 'pg2', epoch: 8 });
    expect(s.metrics.failovers).toEqual([
      { cluster: 'c1', kind: 'automatic', durationMs: expect.any(Number) },
    ]);
  });

  it('fences the old primary when it still answers (an unwritable primary)', async () => {
    const s = await setup();
    s.pg.set('pg1', { reach: 'up', writeFails: true });
    await s.run();
    expect(s.pg.calls).toContain('fence pg1');
    expect(s.pg.node('pg1').fenced).toBe(true);
    expect(types(s.events)).toContain('node-fenced');
  });

  it('CAS lost (another sentinel took epoch 8): aborted, nothing promoted, topology unchanged', async () => {
    const s = await setup();
    const theirs = nextTopology(topology, 'pg3', 0, 'theirs', 's2');
    expect((await s.store.casTopology('c1', EPOCH, theirs, 's2')).committed).toBe(true);
    expect(await s.run()).toBeNull();
    expect(s.pg.calls).toEqual([]);
    expect(s.pg.attempts).toEqual([]);
    expect((await s.store.readTopology('c1')).value).toMatchObject({
      epoch: 8,
      primary: 'pg3',
      committedBy: 's2',
    });
    expect(types(s.events)).toEqual(['failover-aborted']);
    expect(s.events[0]).toMatchObject({ reason: 'epoch-cas-lost', from: 'pg1', to: 'pg2' });
    expect(s.metrics.failovers).toEqual([]);
  });

  it('promote fails: past the point of no return, so carried forward as degraded, never aborted', async () => {
    const s = await setup();
    s.pg.fail('promote', { node: 'pg2' });
    const after = await s.run();
    expect(after).toMatchObject({ epoch: 8, primary: 'pg2', state: 'degraded' });
    expect(after?.reason).toMatch(/promotion of pg2 not confirmed: promotion of pg2 failed/);
    expect((await s.store.readTopology('c1')).value).toMatchObject({ epoch: 8, state: 'degraded' });
    // the promotion may have reached it: nothing is rolled back, and the rest still runs
    expect(s.pg.attempts.map((a) => a.op)).toEqual(['promote', 'fence']);
    expect(types(s.events)).toEqual(['failover-started', 'topology-changed']);
    expect(types(s.events)).not.toContain('failover-aborted');
    expect(s.events[1]).toMatchObject({ topology: { state: 'degraded' } });
  });

  it('a hung promote hits the promoting deadline (promoteTimeout + connectTimeout) as a timeout', async () => {
    const s = await setup();
    s.pg.fail('promote', { node: 'pg2', when: 'hang' });
    let after: Topology | null | undefined;
    const running = s.run().then((t) => {
      after = t;
    });
    const deadline = input.timing.promoteTimeoutMs + input.timing.connectTimeoutMs; // 6 s
    await s.time.advance(deadline - 1);
    expect(after).toBeUndefined();
    expect(s.pg.attempts.map((a) => `${a.op} ${a.outcome}`)).toEqual(['promote hung']);
    await s.time.advance(1);
    await running;
    expect(after).toMatchObject({ epoch: 8, primary: 'pg2', state: 'degraded' });
    expect(after?.reason).toMatch(/promotion of pg2 timed out/);
    expect(s.time.elapsed()).toBe(deadline);
  });

  it('epoch superseded after the promotion: no repoint and no fence under the stale epoch', async () => {
    const s = await setup({ latencyMs: { promote: 100 } });
    s.pg.set('pg1', { reach: 'up', writeFails: true }); // fenceable, were the epoch still ours
    let after: Topology | null | undefined;
    const running = s.run().then((t) => {
      after = t;
    });
    await s.time.advance(50); // the promotion of pg2 (epoch 8) is under way
    const ours = (await s.store.readTopology('c1')).value!;
    expect(ours).toMatchObject({ epoch: 8, committedBy: 's1' });
    const theirs = { ...ours, epoch: 9, primary: 'pg3', committedBy: 's2' };
    expect((await s.store.casTopology('c1', 8, theirs, 's2')).committed).toBe(true);
    for (let i = 0; i < 20 && after === undefined; i++) await s.time.advance(500);
    await running;
    expect(s.pg.calls).toEqual(['promote pg2', 'stamp pg2 8']);
    expect(s.pg.attempts.map((x) => x.op)).not.toContain('fence');
    expect(s.pg.node('pg1').fenced).toBe(false);
    expect((await s.store.readTopology('c1')).value).toMatchObject({ epoch: 9, committedBy: 's2' });
    expect(types(s.events)).not.toContain('failover-completed');
    // the settled topology could not be published at the superseded epoch (3 attempts)
    expect(after).toMatchObject({ epoch: 8, state: 'failing-over' });
  });

  it('a hung repoint hits the repointing deadline; the failover completes with a problem', async () => {
    const s = await setup();
    s.pg.fail('repoint', { node: 'pg3', when: 'hang' });
    const running = s.run();
    await s.time.advance(input.timing.connectTimeoutMs + input.timing.queryTimeoutMs);
    const after = await running;
    expect(after).toMatchObject({ epoch: 8, primary: 'pg2', state: 'ok' });
    expect(types(s.events)).toContain('failover-completed');
  });

  it('a pause between the CAS and the promotion: the epoch is read again, superseded: no promote', async () => {
    const s = await setup();
    const cas = s.store.casTopology.bind(s.store);
    s.deps.store = {
      readTopology: (c) => s.store.readTopology(c),
      updateTopology: (c, t, w) => s.store.updateTopology(c, t, w),
      casTopology: async (c, e, next, w) => {
        const res = await cas(c, e, next, w);
        // while this sentinel was stopped, another one took epoch 9 and promoted pg3
        await cas(c, 8, { ...next, epoch: 9, primary: 'pg3', committedBy: 's2' }, 's2');
        s.time.jump(5000);
        return res;
      },
    };
    let done = false;
    const running = s.run().then(() => (done = true));
    for (let i = 0; i < 40 && !done; i++) await s.time.advance(500);
    await running;
    expect(s.pg.attempts.map((a) => a.op)).not.toContain('promote');
    expect((await s.store.readTopology('c1')).value).toMatchObject({ epoch: 9, primary: 'pg3' });
    expect(types(s.events)).not.toContain('failover-completed');
  });

  it('a failed epoch stamp is kept and retried by the loop, not swallowed', async () => {
    const s = await setup();
    s.deps.stamps = new EpochStamps(s.deps);
    s.pg.fail('stampEpoch', { node: 'pg2', times: 1 });
    const after = await s.run();
    expect(after).toMatchObject({ epoch: 8, primary: 'pg2', state: 'ok' });
    expect(s.pg.calls).not.toContain('stamp pg2 8');
    expect(s.deps.stamps.pending).toEqual([{ node: 'pg2', epoch: 8, attempts: 1 }]);
    expect(await s.deps.stamps.retry(after!)).toEqual([{ node: 'pg2', epoch: 8 }]);
    expect(s.pg.calls).toContain('stamp pg2 8');
    expect(s.deps.stamps.pending).toEqual([]);
  });

  it('a pending stamp superseded by a newer epoch is dropped', async () => {
    const s = await setup();
    const stamps = new EpochStamps(s.deps);
    stamps.defer(input.cluster.nodes[1]!, 8, 'pg2');
    expect(await stamps.retry({ ...topology, epoch: 9, primary: 'pg3' })).toEqual([]);
    expect(stamps.pending).toEqual([]);
    expect(s.pg.calls).toEqual([]);
  });

  it('no slot and no repoint for a standby unreachable at the failover', async () => {
    const s = await setup();
    const obs = Object.fromEntries(
      Object.entries(input.health).filter((e): e is [string, NodeObservation] => !!e[1]),
    );
    const pg3 = obs.pg3!;
    obs.pg3 = { ...pg3, last: { ...pg3.last!, ok: false } as never };
    s.pg.down('pg3');
    const after = await new FailoverExecutor(s.deps).run(topology, decide(input), obs);
    expect(after).toMatchObject({ epoch: 8, primary: 'pg2' });
    expect(s.pg.calls).not.toContain('slot pg2 pg3');
    expect(after?.reason ?? '').not.toMatch(/^$/);
  });
});
