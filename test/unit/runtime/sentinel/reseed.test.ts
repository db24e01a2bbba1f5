/**
 * reseedTopology on fakes (issue 7, item 5): coordination servers that came back empty are
 * re-seeded from the highest epoch anyone knows, never bootstrapped at epoch 1.
 */
import { describe, expect, it } from 'vitest';

import { createLogger } from '../../../../src/adapters/logging/logger.js';
import type { ProbeResult } from '../../../../src/core/model.js';
import { EventBus } from '../../../../src/runtime/events.js';
import {
  highestStamp,
  type ReseedDeps,
  reseedTopology,
} from '../../../../src/runtime/sentinel/reseed.js';
import { EpochStamps } from '../../../../src/runtime/sentinel/stamps.js';
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
  const deps: ReseedDeps = {
    cluster,
    timing: aTiming(),
    sentinelId: 's1',
    clock: { mono: () => NOW_MONO, wall: () => NOW_WALL },
    log,
    store,
    pg,
    bus: new EventBus(store, log),
  };
  return { store, pg, deps };
}

const stamped = (p: ProbeResult, epoch: number): ProbeResult => ({ ...p, stampedEpoch: epoch });

describe('reseedTopology', () => {
  it('writes our last committed topology back as it was when no node carries a higher stamp', async () => {
    const s = setup();
    const known = aTopology({ epoch: 5, primary: 'pg2', committedBy: 's3' });
    const probes = [stamped(aProbe('pg2').primary().build(), 5), aProbe('pg1').standby().build()];
    expect(await reseedTopology(s.deps, probes, known)).toEqual(known);
    expect((await s.store.readTopology('c1')).value).toMatchObject({
      epoch: 5,
      primary: 'pg2',
      committedBy: 's3',
    });
    expect(s.pg.calls).toEqual([]);
  });

  it('a sentinel with nothing in memory commits one epoch above the highest stamp, on the node carrying it', async () => {
    const s = setup();
    s.pg.set('pg1', { role: 'standby' });
    s.pg.set('pg2', { role: 'primary' });
    const probes = [
      stamped(aProbe('pg1').standby().build(), 1),
      stamped(aProbe('pg2').primary().build(), 2),
      aProbe('pg3').failed('timeout').build(),
    ];
    expect(highestStamp(probes)).toBe(2);
    const t = await reseedTopology(s.deps, probes, null);
    expect(t).toMatchObject({ epoch: 3, primary: 'pg2', committedBy: 's1' });
    expect((await s.store.readTopology('c1')).value).toMatchObject({ epoch: 3, primary: 'pg2' });
    expect(s.pg.calls).toEqual(['stamp pg2 3']);
  });

  it('an empty read that raced a bootstrap adopts the new topology instead of committing over it', async () => {
    const s = setup();
    s.pg.set('pg1', { role: 'primary' });
    // another sentinel bootstrapped epoch 1 and stamped pg1 after our read found the store empty
    const boot = aTopology({ epoch: 1, primary: 'pg1', committedBy: 's2' });
    expect((await s.store.casTopology('c1', 0, boot, 's2')).committed).toBe(true);
    const probes = [stamped(aProbe('pg1').primary().build(), 1), aProbe('pg2').standby().build()];
    expect(await reseedTopology(s.deps, probes, null)).toMatchObject({
      epoch: 1,
      committedBy: 's2',
    });
    expect((await s.store.readTopology('c1')).value).toMatchObject({ epoch: 1, committedBy: 's2' });
    expect(s.pg.calls).toEqual([]);
  });

  it('a stale memory loses to a higher stamp; no primary with that stamp: nothing', async () => {
    const s = setup();
    const probes = [stamped(aProbe('pg2').standby().build(), 4), aProbe('pg1').primary().build()];
    expect(await reseedTopology(s.deps, probes, aTopology({ epoch: 3 }))).toBeNull();
    expect((await s.store.readTopology('c1')).value).toBeNull();
    expect(s.pg.calls).toEqual([]);
  });

  it('a failed stamp after the re-seed commit is kept and retried, so the node ends stamped with the committed epoch', async () => {
    const s = setup();
    s.pg.set('pg1', { role: 'standby' });
    s.pg.set('pg2', { role: 'primary' });
    s.deps.stamps = new EpochStamps(s.deps);
    s.pg.fail('stampEpoch', { node: 'pg2', times: 1 });
    const probes = [
      stamped(aProbe('pg1').standby().build(), 2),
      stamped(aProbe('pg2').primary().build(), 2),
    ];
    const t = await reseedTopology(s.deps, probes, null);
    expect(t).toMatchObject({ epoch: 3, primary: 'pg2' });
    expect(s.pg.node('pg2').stampedEpoch).not.toBe(3);
    expect(s.deps.stamps.pending).toEqual([{ node: 'pg2', epoch: 3, attempts: 1 }]);
    expect(await s.deps.stamps.retry(t!)).toEqual([{ node: 'pg2', epoch: 3 }]);
    expect(s.pg.node('pg2').stampedEpoch).toBe(3);
  });
});
