/**
 * Two sentinels whose leader locks overlapped both try to fail over at once, each to a different
 * standby (the worst case). The epoch compare-and-set lets exactly one commit epoch e+1 and
 * promote; the other aborts with `epoch-cas-lost` BEFORE sending any promotion (rule 3).
 * The redlock step is bypassed on purpose: the CAS alone must be enough.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createLogger } from '../../src/adapters/logging/logger.js';
import { SentinelMetrics } from '../../src/adapters/metrics/metrics.js';
import { PgAdapter } from '../../src/adapters/postgres/index.js';
import { RedisCoordinationStore } from '../../src/adapters/redis/store.js';
import { loadConfig } from '../../src/config/load.js';
import type { Decision } from '../../src/core/decide.js';
import type { StampedEvent } from '../../src/core/events.js';
import { localKill } from '../../src/local/cluster.js';
import { systemClock } from '../../src/runtime/clock.js';
import type { ClusterLoopDeps } from '../../src/runtime/cluster-loop.js';
import { EventBus } from '../../src/runtime/events.js';
import { FailoverExecutor } from '../../src/runtime/failover-executor.js';
import { eventually, inRecovery, type LocalHandle, startLocal } from '../helpers/local.js';

describe('two sentinels failing over at once', () => {
  let h: LocalHandle;
  const closers: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    h = await startLocal({ nodes: 3, sentinels: 3 });
  });
  afterAll(async () => {
    for (const c of closers) await c().catch(() => undefined);
    await h?.down();
  });

  function racer(id: string): { executor: FailoverExecutor; events: StampedEvent[] } {
    const config = loadConfig({ file: h.state.config, overrides: { sentinel: { id } } });
    const cluster = config.clusters[0]!;
    const store = new RedisCoordinationStore({
      urls: config.coordination.redis,
      prefix: config.coordination.prefix,
      commandTimeoutMs: 1000,
    });
    const pg = new PgAdapter({
      user: cluster.user,
      password: cluster.password,
      database: cluster.database,
      connectTimeoutMs: 1000,
      queryTimeoutMs: 1000,
      replication: cluster.replication,
      applicationName: id,
    });
    closers.push(
      () => pg.close(),
      () => store.close(),
    );
    const log = createLogger({ level: 'silent', process: id, role: 'sentinel' });
    const bus = new EventBus(store, log);
    const events: StampedEvent[] = [];
    bus.onEvent((e) => events.push(e));
    const deps: ClusterLoopDeps = {
      config,
      cluster,
      store,
      pg,
      bus,
      log,
      metrics: new SentinelMetrics(undefined, { defaults: false }),
      clock: systemClock,
      sentinelId: id,
      apiUrl: null,
    };
    return { executor: new FailoverExecutor(deps), events };
  }

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
