/**
 * SyncStandbyManager (runtime) over the fake coordination store and the shared FakePostgres
 * (its effective control calls interleaved with the events): the plan's steps run in order, a
 * record is an epoch CAS e -> e+1 that emits topology-changed, and nothing after a failed step
 * runs (never clear the names when `syncStandbys = []` did not commit).
 */
import { describe, expect, it } from 'vitest';

import { createLogger } from '../../../../src/adapters/logging/logger.js';
import type { ClusterConfig } from '../../../../src/config/types.js';
import type { ReplicaStat, Topology } from '../../../../src/core/model.js';
import { syncStandbyNamesFor } from '../../../../src/core/sync.js';
import { EventBus } from '../../../../src/runtime/events.js';
import type { SyncDeps } from '../../../../src/runtime/sentinel/deps.js';
import { SyncStandbyManager } from '../../../../src/runtime/sentinel/sync-standby.js';
import {
  aClusterConfig,
  aProbe,
  aTiming,
  aTopology,
  NOW_MONO,
  observe,
} from '../../../builders/index.js';
import { FakeCoordinationStore } from '../../../fakes/coordination.js';
import { FakePostgres } from '../../../fakes/postgres.js';

const LSN = 5_000_000;

function setup(mode: 'sync' | 'async' = 'sync') {
  const cluster: ClusterConfig = aClusterConfig({
    replication: { mode, user: 'replicator', password: 'secret' },
  });
  const store = new FakeCoordinationStore({ servers: 3 });
  const log = createLogger({ level: 'silent', process: 's1', role: 'sentinel' });
  const bus = new EventBus(store, log);
  const order: string[] = [];
  bus.onEvent((e) => {
    if (e.type === 'topology-changed')
      order.push(`topology ${e.epoch} [${e.topology.syncStandbys.join(',')}]`);
  });
  const pg = FakePostgres.cluster(cluster.nodes);
  pg.onCall((line) => order.push(line));
  let mono = NOW_MONO;
  const deps: SyncDeps = {
    timing: aTiming(),
    cluster,
    store,
    pg,
    bus,
    log,
    clock: { mono: () => mono, wall: () => 1_700_000_000_000 },
    sentinelId: 's1',
  };
  const seed = async (t: Topology) => {
    for (let e = 1; e <= t.epoch; e++)
      await store.casTopology(cluster.name, e - 1, { ...t, epoch: e }, 's0');
  };
  return {
    store,
    pg,
    order,
    seed,
    manager: new SyncStandbyManager(deps),
    tick: () => {
      mono += 300;
      return mono;
    },
  };
}

function obs(names: string, replicas: ReplicaStat[], nowMono: number) {
  return observe(
    [
      aProbe('pg1')
        .primary(LSN)
        .with({ syncStandbyNames: names, replicas })
        .at(nowMono - 50)
        .build(),
      aProbe('pg2')
        .standby(LSN)
        .at(nowMono - 50)
        .build(),
      aProbe('pg3')
        .standby(LSN)
        .at(nowMono - 50)
        .build(),
    ],
    nowMono,
    aTiming(),
  );
}

const row = (name: string, syncState = 'async'): ReplicaStat => ({
  name,
  state: 'streaming',
  syncState,
  sentLsn: LSN,
  replayLsn: LSN,
  lagBytes: 0,
  replayLagSeconds: 0,
});

describe('SyncStandbyManager', () => {
  it('adds: names first, then records on a later tick with the epoch CAS', async () => {
    const s = setup();
    const t0 = aTopology({ cluster: 'c1', epoch: 3 });
    await s.seed(t0);
    // tick 1: nothing set -> names only
    expect(
      await s.manager.reconcile({ topology: t0, observations: obs('', [row('pg2')], s.tick()) }),
    ).toBeNull();
    expect(s.order).toEqual([`names pg1 '${syncStandbyNamesFor('pg2')}'`]);
    // tick 2: names in effect -> the bar is taken, nothing recorded yet
    const n2 = syncStandbyNamesFor('pg2');
    expect(
      await s.manager.reconcile({
        topology: t0,
        observations: obs(n2, [row('pg2', 'sync')], s.tick()),
      }),
    ).toBeNull();
    // tick 3: sync and caught up -> recorded at epoch 4, same primary
    const t1 = await s.manager.reconcile({
      topology: t0,
      observations: obs(n2, [row('pg2', 'sync')], s.tick()),
    });
    expect(t1).toMatchObject({
      epoch: 4,
      primary: 'pg1',
      syncStandbys: ['pg2'],
      reason: 'sync standby pg2',
      committedBy: 's1',
    });
    expect((await s.store.readTopology('c1')).value?.syncStandbys).toEqual(['pg2']);
    expect(s.order.slice(1)).toEqual(['topology 4 [pg2]', 'stamp pg1 4']);
  });

  it('no healthy standby: records [] (epoch + 1) BEFORE clearing the names', async () => {
    const s = setup();
    const n2 = syncStandbyNamesFor('pg2');
    const t0 = aTopology({ cluster: 'c1', epoch: 5, syncStandbys: ['pg2'] });
    await s.seed(t0);
    expect(
      await s.manager.reconcile({ topology: t0, observations: obs(n2, [], s.tick()) }),
    ).toBeNull();
    expect(s.order).toEqual([]); // first tick only confirms the loss
    const t1 = await s.manager.reconcile({ topology: t0, observations: obs(n2, [], s.tick()) });
    expect(t1).toMatchObject({ epoch: 6, syncStandbys: [] });
    expect(s.order).toEqual(['topology 6 []', 'stamp pg1 6', "names pg1 ''"]);
  });

  it('never clears the names when the record did not commit (lost CAS)', async () => {
    const s = setup();
    const n2 = syncStandbyNamesFor('pg2');
    const t0 = aTopology({ cluster: 'c1', epoch: 5, syncStandbys: ['pg2'] });
    await s.seed({ ...t0, epoch: 6 }); // another leader committed epoch 6 meanwhile
    await s.manager.reconcile({ topology: t0, observations: obs(n2, [], s.tick()) });
    expect(
      await s.manager.reconcile({ topology: t0, observations: obs(n2, [], s.tick()) }),
    ).toBeNull();
    expect(s.order).toEqual([]);
  });

  it('never clears the names without a coordination majority', async () => {
    const s = setup();
    const n2 = syncStandbyNamesFor('pg2');
    const t0 = aTopology({ cluster: 'c1', epoch: 5, syncStandbys: ['pg2'] });
    await s.seed(t0);
    await s.manager.reconcile({ topology: t0, observations: obs(n2, [], s.tick()) });
    s.store.down(0);
    s.store.down(1);
    expect(
      await s.manager.reconcile({ topology: t0, observations: obs(n2, [], s.tick()) }),
    ).toBeNull();
    expect(s.order).toEqual([]);
  });

  it('does not move the names on a stale view (a newer epoch exists)', async () => {
    const s = setup();
    const t0 = aTopology({ cluster: 'c1', epoch: 3 });
    await s.seed({ ...t0, epoch: 4 });
    await s.manager.reconcile({ topology: t0, observations: obs('', [row('pg2')], s.tick()) });
    expect(s.order).toEqual([]);
  });

  it('does nothing in async mode or while the topology is not ok', async () => {
    const s = setup('async');
    const t0 = aTopology({ cluster: 'c1', epoch: 3 });
    await s.seed(t0);
    await s.manager.reconcile({ topology: t0, observations: obs('', [row('pg2')], s.tick()) });
    const s2 = setup();
    await s2.seed(t0);
    await s2.manager.reconcile({
      topology: { ...t0, state: 'failing-over' },
      observations: obs('', [row('pg2')], s2.tick()),
    });
    expect([...s.order, ...s2.order]).toEqual([]);
  });

  it('also keeps the sync standby of a degraded topology (its primary writes)', async () => {
    const s = setup();
    const t0 = aTopology({ cluster: 'c1', epoch: 3, state: 'degraded' });
    await s.seed(t0);
    await s.manager.reconcile({ topology: t0, observations: obs('', [row('pg2')], s.tick()) });
    expect(s.order).toEqual([`names pg1 '${syncStandbyNamesFor('pg2')}'`]);
  });

  it('a failed names change is retried on the next tick', async () => {
    const s = setup();
    const t0 = aTopology({ cluster: 'c1', epoch: 3 });
    await s.seed(t0);
    s.pg.fail('setSyncStandbyNames', { error: () => new Error('connection refused') });
    await s.manager.reconcile({ topology: t0, observations: obs('', [row('pg2')], s.tick()) });
    s.pg.clearFaults();
    await s.manager.reconcile({ topology: t0, observations: obs('', [row('pg2')], s.tick()) });
    expect(s.order).toEqual([`names pg1 '${syncStandbyNamesFor('pg2')}'`]);
  });
});
