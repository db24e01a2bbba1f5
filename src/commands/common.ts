import type { RedisCoordinationStore } from '../adapters/redis/store.js';
import { loadConfig, resolveConfigPath } from '../config/load.js';
import type { ClusterSettings, CoordinationConfig } from '../config/types.js';
import { UserError } from '../core/errors.js';
import { redisStoreFor } from './adapters.js';

/**
 * Config + a coordination store for the one-shot commands, which talk only to Redis (status,
 * events, pause, resume, the intents): the config is loaded without the PostgreSQL passwords
 * (`postgresSecrets: false`), so an operator needs none. `close()` the store when done.
 */
export async function openStore(
  configPath: string | undefined,
): Promise<{ config: CoordinationConfig; store: RedisCoordinationStore }> {
  const config = loadConfig({ file: resolveConfigPath(configPath), postgresSecrets: false });
  const store = redisStoreFor(config, { minTimeoutMs: 1000 });
  await store.ready(2000);
  return { config, store };
}

export function selectClusters(
  config: CoordinationConfig,
  name: string | undefined,
): ClusterSettings[] {
  if (!name) return config.clusters;
  const c = config.clusters.find((x) => x.name === name);
  if (!c)
    throw new UserError(
      `unknown cluster ${name}: the config has ${config.clusters.map((x) => x.name).join(', ')}`,
    );
  return [c];
}
