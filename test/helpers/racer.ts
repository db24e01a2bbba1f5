/**
 * A failover executor outside any sentinel process, with its own Redis and PostgreSQL
 * connections: for tests that drive a failover by hand (races, crash points).
 */
import { createLogger } from '../../src/adapters/logging/logger.js';
import { SentinelMetrics } from '../../src/adapters/metrics/metrics.js';
import { RedisCoordinationStore } from '../../src/adapters/redis/store.js';
import { pgAdapterFor, redisAuthOf } from '../../src/commands/adapters.js';
import { loadConfig } from '../../src/config/load.js';
import { clusterSpec } from '../../src/config/slices.js';
import type { Decision } from '../../src/core/decide.js';
import type { StampedEvent } from '../../src/core/events.js';
import { systemClock } from '../../src/runtime/clock.js';
import { EventBus } from '../../src/runtime/events.js';
import type { FailoverDeps } from '../../src/runtime/sentinel/deps.js';
import { FailoverExecutor } from '../../src/runtime/sentinel/failover-executor.js';
import type { LocalHandle } from './local.js';

export function makeRacer(
  h: LocalHandle,
  id: string,
  closers: (() => Promise<void>)[],
): { executor: FailoverExecutor; events: StampedEvent[] } {
  // a racer is an extra executor outside the configured sentinel set (`peers`)
  const config = loadConfig({ file: h.state.config, overrides: { sentinel: { id, peers: [] } } });
  const cluster = config.clusters[0]!;
  const store = new RedisCoordinationStore({
    urls: config.coordination.redis,
    prefix: config.coordination.prefix,
    commandTimeoutMs: 1000,
    auth: redisAuthOf(config),
  });
  const pg = pgAdapterFor(cluster, config.timing, id);
  closers.push(
    () => pg.close(),
    () => store.close(),
  );
  const log = createLogger({ level: 'silent', process: id, role: 'sentinel' });
  const bus = new EventBus(store, log);
  const events: StampedEvent[] = [];
  bus.onEvent((e) => events.push(e));
  const deps: FailoverDeps = {
    cluster: clusterSpec(cluster),
    timing: config.timing,
    store,
    pg,
    bus,
    log,
    metrics: new SentinelMetrics(undefined, { defaults: false }),
    clock: systemClock,
    sentinelId: id,
  };
  return { executor: new FailoverExecutor(deps), events };
}

export function failoverDecision(candidate: string, from: string, epoch: number): Decision {
  return {
    kind: 'failover',
    reason: 'primary-odown',
    evidence: 'test',
    vote: null,
    candidate,
    from,
    epoch,
    events: [],
  };
}
