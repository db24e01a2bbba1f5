/**
 * bootstrapTopology on fakes: epoch 1 is committed (CAS from 0) only once the configured
 * initial primary answers as a primary; then it is stamped on it and published.
 */
import { describe, expect, it } from 'vitest';

import { createLogger } from '../../../../src/adapters/logging/logger.js';
import type { StampedEvent } from '../../../../src/core/events.js';
import type { ProbeResult } from '../../../../src/core/model.js';
import { EventBus } from '../../../../src/runtime/events.js';
import { bootstrapTopology } from '../../../../src/runtime/sentinel/bootstrap.js';
import type { BootstrapDeps } from '../../../../src/runtime/sentinel/deps.js';
import {
  aClusterConfig,
  aProbe,
  aTiming,
  aTopology,
  NOW_MONO,
  NOW_WALL,
} from '../../../builders/index.js';
import { FakeCoordinationStore } from '../../../fakes/coordination.js';
import { FakePostgres } from '../../../fakes/postgres.js';

const cluster = aClusterConfig();

function setup() {
  const store = new FakeCoordinationStore();
  const pg = FakePostgres.cluster(cluster.nodes);
  const log = createLogger({ level: 'silent', process: 's1', role: 'sentinel' });
  const bus = new EventBus(store, log);
  const events: StampedEvent[] = [];
  bus.onEvent((e) => events.push(e));
  const deps: BootstrapDeps = {
    cluster,
    timing: aTiming(),
    sentinelId: 's1',
    clock: { mono: () => NOW_MONO, wall: () => NOW_WALL },
    log,
    store,
    pg,
    bus,
  };
  return { store, pg, events, deps };
}

const healthy: ProbeResult[] = [
  aProbe('pg1').primary().build(),
  aProbe('pg2').standby().build(),
  aProbe('pg3').failed('timeout').build(),
];

describe('bootstrapTopology', () => {
  it('commits epoch 1 with the initial primary, stamps it there and publishes it', async () => {
    const s = setup();
    const t = await bootstrapTopology(s.deps, healthy);
    expect(t).toMatchObject({ epoch: 1, primary: 'pg1', state: 'ok', committedBy: 's1' });
    expect(t?.nodes.map((n) => `${n.name}:${n.role}:${n.state}`)).toEqual([
      'pg1:primary:up',
      'pg2:standby:up',
      'pg3:standby:down',
    ]);
    expect((await s.store.readTopology('c1')).value).toEqual(t);
    expect(s.pg.calls).toEqual(['stamp pg1 1']);
    expect(s.events).toEqual([expect.objectContaining({ type: 'topology-changed', epoch: 1 })]);
  });

  it('commits nothing while the initial primary is down or answers as a standby', async () => {
    for (const probe of [aProbe('pg1').refused().build(), aProbe('pg1').standby().build()]) {
      const s = setup();
      expect(await bootstrapTopology(s.deps, [probe, ...healthy.slice(1)])).toBeNull();
      expect((await s.store.readTopology('c1')).value).toBeNull();
      expect(s.pg.calls).toEqual([]);
      expect(s.events).toEqual([]);
    }
  });

  it('another sentinel bootstrapped first (lost CAS): null, no stamp', async () => {
    const s = setup();
    await s.store.casTopology('c1', 0, aTopology({ epoch: 1 }), 's2');
    expect(await bootstrapTopology(s.deps, healthy)).toBeNull();
    expect((await s.store.readTopology('c1')).value?.committedBy).toBe('s2');
    expect(s.pg.calls).toEqual([]);
  });

  it('no Redis majority: null (never throws)', async () => {
    const s = setup();
    s.store.down(0);
    s.store.down(1);
    expect(await bootstrapTopology(s.deps, healthy)).toBeNull();
  });

  it('a failed stamp is only logged: epoch 1 stays committed', async () => {
    const s = setup();
    s.pg.fail('stampEpoch');
    expect(await bootstrapTopology(s.deps, healthy)).toMatchObject({ epoch: 1 });
    expect(s.pg.node('pg1').stampedEpoch).toBeUndefined();
    expect(s.events.map((e) => e.type)).toEqual(['topology-changed']);
  });
});
