/**
 * IntentRunner + SwitchoverExecutor against fakes: FakeCoordinationStore, the shared
 * FakePostgres (pg1 primary, pg2 and pg3 streaming from it) and FakeAgentControl over it (a
 * stop writes the shutdown checkpoint at 5 000 100, the standbys receive it). Real timers
 * (short timings).
 */
import { describe, expect, it } from 'vitest';

import { createLogger } from '../../../../src/adapters/logging/logger.js';
import { SentinelMetrics } from '../../../../src/adapters/metrics/metrics.js';
import type { ClusterConfig } from '../../../../src/config/types.js';
import type { StampedEvent } from '../../../../src/core/events.js';
import type { Topology } from '../../../../src/core/model.js';
import { type IntentOp, type IntentRecord, RECORDS } from '../../../../src/ports/records.js';
import { EventBus } from '../../../../src/runtime/events.js';
import type { IntentDeps } from '../../../../src/runtime/sentinel/deps.js';
import { IntentRunner } from '../../../../src/runtime/sentinel/intents.js';
import {
  aClusterConfig,
  aProbe,
  aTiming,
  aTopology,
  NOW_MONO,
  observe,
} from '../../../builders/index.js';
import { FakeAgentControl } from '../../../fakes/agent-control.js';
import { FakeCoordinationStore } from '../../../fakes/coordination.js';
import { FakePostgres } from '../../../fakes/postgres.js';

const cluster: ClusterConfig = aClusterConfig({
  nodes: aClusterConfig().nodes.map((n, i) => ({
    ...n,
    agent: { url: `http://127.0.0.1:${8008 + i}` },
  })),
});

function setup(timing: Parameters<typeof aTiming>[0] = {}) {
  const store = new FakeCoordinationStore();
  const pg = FakePostgres.cluster(cluster.nodes);
  const agent = new FakeAgentControl(pg);
  const log = createLogger({ level: 'silent', process: 's1', role: 'sentinel' });
  const t0 = performance.now();
  const events: StampedEvent[] = [];
  const bus = new EventBus(store, log);
  bus.onEvent((e) => events.push(e));
  const deps: IntentDeps = {
    cluster,
    timing: aTiming({
      switchoverTimeoutMs: 300,
      lockTtlMs: 1000,
      promoteTimeoutMs: 200,
      ...timing,
    }),
    store,
    pg,
    bus,
    log,
    metrics: new SentinelMetrics(undefined, { defaults: false }),
    clock: { mono: () => NOW_MONO + (performance.now() - t0), wall: () => Date.now() },
    sentinelId: 's1',
    agents: agent,
  };
  const runner = new IntentRunner(deps);
  return { store, pg, agent, events, runner };
}

const topology = aTopology({ epoch: 1, committedBy: 's1' });
/** pg1 primary, pg2 and pg3 streaming from it (aCluster addresses), probed ok "now". */
const healthyObs = (timing = aTiming()) =>
  observe(
    [
      aProbe('pg1').primary().at(NOW_MONO).build(),
      aProbe('pg2').standby().streaming().at(NOW_MONO).build(),
      aProbe('pg3').standby().streaming().at(NOW_MONO).build(),
    ],
    NOW_MONO,
    timing,
  );

async function request(store: FakeCoordinationStore, op: IntentOp, to?: string): Promise<string> {
  const id = `intent-${op}-${to ?? ''}`;
  await store.casTopology('c1', 0, topology, 's1');
  await store.tryLead('c1', 1000);
  const rec: IntentRecord = {
    id,
    atWall: Date.now(),
    op,
    requestedBy: 'test',
    ...(to ? { to } : {}),
  };
  const { name, schema } = RECORDS.intent;
  expect(await store.claimRecord('c1', name, rec, 5000, schema)).toBe(true);
  return id;
}

const result = async (store: FakeCoordinationStore, id: string) =>
  (await store.getRecord('c1', RECORDS.intentResult(id).name, RECORDS.intentResult(id).schema))
    .value;

describe('IntentRunner: switchover', () => {
  it('stops the primary, waits for replay, promotes, re-points and publishes', async () => {
    const { store, pg, agent, events, runner } = setup();
    const id = await request(store, 'switchover', 'pg2');
    const after = await runner.poll({ topology, observations: healthyObs() });
    expect(after).toMatchObject({ epoch: 2, primary: 'pg2', previousPrimary: 'pg1', state: 'ok' });
    expect((await store.readTopology('c1')).value).toMatchObject({
      epoch: 2,
      primary: 'pg2',
      state: 'ok',
    });
    expect(agent.calls).toEqual(['stop pg1 2']);
    expect(pg.calls).toEqual(
      expect.arrayContaining([
        'promote pg2',
        'stamp pg2 2',
        'slot pg2 pg1',
        'slot pg2 pg3',
        'repoint pg3 -> pg2',
      ]),
    );
    expect(pg.calls).not.toContain('repoint pg1 -> pg2');
    expect(events.map((e) => e.type)).toEqual([
      'topology-changed',
      'switchover-started',
      'topology-changed',
      'topology-changed',
      'switchover-completed',
    ]);
    expect(events[0]).toMatchObject({
      topology: { epoch: 2, primary: 'pg1', state: 'switching-over' },
    });
    // the hand-over, before the promotion: the target's agent must see it named as the primary
    expect(events[2]).toMatchObject({
      topology: { epoch: 2, primary: 'pg2', state: 'switching-over' },
    });
    expect(events[3]).toMatchObject({ topology: { epoch: 2, primary: 'pg2', state: 'ok' } });
    const r = await result(store, id);
    expect(r).toMatchObject({
      code: 200,
      body: {
        status: 'success',
        message: 'Switchover completado exitosamente',
        epoch: 2,
        from: 'pg1',
        to: 'pg2',
      },
    });
    expect((await store.getRecord('c1', RECORDS.intent.name)).value).toBeNull();
  });

  it('rolls back when the target does not replay the final checkpoint in time', async () => {
    const { store, pg, agent, events, runner } = setup({ switchoverTimeoutMs: 150 });
    pg.set('pg2', { replayLagBytes: 1000 }); // replays behind what it receives
    const id = await request(store, 'switchover', 'pg2');
    const after = await runner.poll({ topology, observations: healthyObs() });
    expect(after).toMatchObject({ epoch: 2, primary: 'pg1', state: 'ok' });
    expect(agent.calls).toEqual(['stop pg1 2', 'start pg1 2']);
    expect(pg.calls).not.toContain('promote pg2');
    expect(pg.node('pg1').reach).toBe('up');
    expect(events.map((e) => e.type)).toEqual([
      'topology-changed',
      'switchover-started',
      'topology-changed',
      'switchover-aborted',
    ]);
    expect(events[3]).toMatchObject({
      reason: expect.stringMatching(/pg2 did not replay pg1's final checkpoint/),
    });
    const r = await result(store, id);
    expect(r?.code).toBe(409);
    expect(r?.body.message).toMatch(/switchover aborted, pg1 is the primary again \(epoch 2\)/);
  });

  it('rolls back when the agent refuses to stop the primary', async () => {
    const { store, agent, runner } = setup();
    agent.refuseStop = true;
    const id = await request(store, 'switchover', 'pg3');
    const after = await runner.poll({ topology, observations: healthyObs() });
    expect(after).toMatchObject({ epoch: 2, primary: 'pg1', state: 'ok' });
    expect((await result(store, id))?.body.message).toMatch(/refused \/stop: not now/);
  });

  it('a promotion whose answer is lost goes forward (the node is a primary now)', async () => {
    const { store, pg, agent, runner } = setup();
    pg.fail('promote', { when: 'after' }); // promoted, but the answer is lost
    const id = await request(store, 'switchover', 'pg2');
    const after = await runner.poll({ topology, observations: healthyObs() });
    expect(after).toMatchObject({ epoch: 2, primary: 'pg2', state: 'ok' });
    expect(agent.calls).toEqual(['stop pg1 2']);
    expect((await result(store, id))?.code).toBe(200);
  });

  it('a promotion that never reached the target rolls back', async () => {
    const { store, pg, agent, runner, events } = setup();
    pg.fail('promote', { when: 'before' }); // never reached the node
    const id = await request(store, 'switchover', 'pg2');
    const after = await runner.poll({ topology, observations: healthyObs() });
    expect(after).toMatchObject({ epoch: 2, primary: 'pg1', state: 'ok' });
    expect(agent.calls).toEqual(['stop pg1 2', 'start pg1 2']);
    // the hand-over is taken back before the old primary's agent is asked to start it
    const topologies = events.flatMap((e) => (e.type === 'topology-changed' ? [e.topology] : []));
    expect(topologies.map((t) => `${t.primary}:${t.state}`)).toEqual([
      'pg1:switching-over',
      'pg2:switching-over',
      'pg1:ok',
    ]);
    expect((await result(store, id))?.body.message).toMatch(/promoting pg2 failed: .*connect/);
  });

  it('refuses (409, nothing committed) when the target is not a streaming standby', async () => {
    const { store, agent, runner } = setup();
    const id = await request(store, 'switchover', 'pg2');
    const obs = observe(
      [aProbe('pg1').primary().at(NOW_MONO).build(), aProbe('pg2').standby().at(NOW_MONO).build()],
      NOW_MONO,
      aTiming(),
    );
    expect(await runner.poll({ topology, observations: obs })).toBeNull();
    expect(agent.calls).toEqual([]);
    expect((await store.readTopology('c1')).value?.epoch).toBe(1);
    expect(await result(store, id)).toMatchObject({
      code: 409,
      body: { message: expect.stringMatching(/not streaming/) },
    });
  });

  it('failback is a switchover back to the previous primary', async () => {
    const { store, runner } = setup();
    const id = await request(store, 'failback');
    const t = { ...topology, previousPrimary: 'pg3' };
    const after = await runner.poll({ topology: t, observations: healthyObs() });
    expect(after).toMatchObject({ primary: 'pg3' });
    expect((await result(store, id))?.body).toMatchObject({
      message: 'Failback completado exitosamente',
      to: 'pg3',
    });
  });
});

describe('IntentRunner: manual failover', () => {
  it('with the primary down: a forced failover through the failover machine', async () => {
    const { store, pg, runner, events } = setup();
    pg.down('pg1');
    const id = await request(store, 'failover');
    const timing = aTiming();
    const obs = observe(
      [
        aProbe('pg1')
          .primary()
          .at(NOW_MONO - 5000)
          .build(),
        aProbe('pg1')
          .refused()
          .at(NOW_MONO - 2000)
          .build(),
        aProbe('pg1').refused().at(NOW_MONO).build(),
        aProbe('pg2').standby().at(NOW_MONO).build(),
        aProbe('pg3').standby().at(NOW_MONO).build(),
      ],
      NOW_MONO,
      timing,
    );
    const after = await runner.poll({ topology, observations: obs });
    expect(after).toMatchObject({ epoch: 2, primary: 'pg2' });
    expect(events.find((e) => e.type === 'failover-started')).toMatchObject({ kind: 'manual' });
    expect((await result(store, id))?.body).toMatchObject({
      status: 'success',
      message: 'Failover completado exitosamente',
      from: 'pg1',
      to: 'pg2',
      epoch: 2,
    });
  });

  it('with the primary healthy: a graceful switchover', async () => {
    const { store, agent, runner } = setup();
    const id = await request(store, 'failover', 'pg3');
    await runner.poll({ topology, observations: healthyObs() });
    expect(agent.calls).toEqual(['stop pg1 2']);
    expect((await result(store, id))?.body).toMatchObject({
      message: 'Failover completado exitosamente',
      to: 'pg3',
      method: 'switchover',
    });
  });
});

describe('IntentRunner: orphaned switchover', () => {
  const switching: Topology = { ...topology, epoch: 2, state: 'switching-over', committedBy: 's9' };
  const tiny = { switchoverTimeoutMs: 10, promoteTimeoutMs: 10, lockTtlMs: 10 };

  it('goes forward when the target was already promoted', async () => {
    const { store, pg, runner } = setup(tiny);
    await store.casTopology('c1', 0, topology, 's9');
    await store.casTopology('c1', 1, switching, 's9');
    pg.down('pg1');
    pg.set('pg2', { role: 'primary' });
    const obs = observe(
      [aProbe('pg1').refused().at(NOW_MONO).build(), aProbe('pg2').primary().at(NOW_MONO).build()],
      NOW_MONO,
      aTiming(),
    );
    expect(await runner.poll({ topology: switching, observations: obs })).toBeNull(); // first seen
    await new Promise((r) => setTimeout(r, 60));
    const after = await runner.poll({ topology: switching, observations: obs });
    expect(after).toMatchObject({ epoch: 3, primary: 'pg2', state: 'ok', committedBy: 's1' });
  });

  it('finishes a hand-over whose target was not promoted yet', async () => {
    const { store, pg, agent, runner } = setup(tiny);
    const handover: Topology = { ...switching, primary: 'pg2', previousPrimary: 'pg1' };
    await store.casTopology('c1', 0, topology, 's9');
    await store.casTopology('c1', 1, handover, 's9');
    pg.down('pg1');
    expect(await runner.poll({ topology: handover, observations: healthyObs() })).toBeNull();
    await new Promise((r) => setTimeout(r, 60));
    const after = await runner.poll({ topology: handover, observations: healthyObs() });
    expect(after).toMatchObject({ epoch: 3, primary: 'pg2', state: 'ok' });
    expect(pg.calls).toContain('promote pg2');
    expect(agent.calls).toEqual([]);
  });

  it('goes back (restarting the old primary) otherwise, answering the pending intent', async () => {
    const { store, agent, runner, pg } = setup(tiny);
    await store.casTopology('c1', 0, topology, 's9');
    await store.casTopology('c1', 1, switching, 's9');
    pg.down('pg1'); // stopped cleanly, before the hand-over
    const rec: IntentRecord = {
      id: 'x',
      atWall: Date.now(),
      op: 'switchover',
      to: 'pg2',
      requestedBy: 't',
    };
    await store.claimRecord('c1', RECORDS.intent.name, rec, 5000, RECORDS.intent.schema);
    expect(await runner.poll({ topology: switching, observations: healthyObs() })).toBeNull();
    await new Promise((r) => setTimeout(r, 60));
    const after = await runner.poll({ topology: switching, observations: healthyObs() });
    expect(after).toMatchObject({ epoch: 3, primary: 'pg1', state: 'ok' });
    expect(agent.calls).toEqual(['start pg1 2']);
    expect((await result(store, 'x'))?.code).toBe(500);
  });
});
