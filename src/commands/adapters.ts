/**
 * Adapters built from the config, shared by the composition roots (sentinel, agent, the
 * one-shot commands): the only place that turns credentials and timeouts into connections.
 */
import { PgAdapter } from '../adapters/postgres/index.js';
import {
  type CoordinationLogger,
  type RedisAuth,
  RedisCoordinationStore,
} from '../adapters/redis/store.js';
import type { ClusterConfig, CoordinationConfig } from '../config/types.js';
import type { Timing } from '../core/spec.js';

/** The Postgres adapter for one cluster's credentials and the configured timeouts. */
export function pgAdapterFor(
  cluster: ClusterConfig,
  timing: Timing,
  applicationName: string,
): PgAdapter {
  return new PgAdapter({
    user: cluster.user,
    password: cluster.password,
    database: cluster.database,
    connectTimeoutMs: timing.connectTimeoutMs,
    queryTimeoutMs: timing.queryTimeoutMs,
    replication: {
      user: cluster.replication.user,
      password: cluster.replication.password,
      tls: cluster.replication.tls,
    },
    tls: cluster.tls,
    applicationName,
  });
}

/** Redis AUTH from `coordination.username` / `coordination.password`, TLS from `coordination.tls`. */
export function redisAuthOf(config: Pick<CoordinationConfig, 'coordination'>): RedisAuth {
  const { username, password, tls } = config.coordination;
  return { username, password, tls };
}

/** The coordination store over `coordination.redis`, with its AUTH. */
export function redisStoreFor(
  config: Pick<CoordinationConfig, 'coordination' | 'timing'>,
  o: { logger?: CoordinationLogger; minTimeoutMs?: number } = {},
): RedisCoordinationStore {
  return new RedisCoordinationStore({
    urls: config.coordination.redis,
    prefix: config.coordination.prefix,
    commandTimeoutMs: Math.max(config.timing.redisTimeoutMs, o.minTimeoutMs ?? 0),
    auth: redisAuthOf(config),
    ...(o.logger ? { logger: o.logger } : {}),
  });
}
