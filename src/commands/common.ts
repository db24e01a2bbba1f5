import type { RedisCoordinationStore } from '../adapters/redis/store.js';
import { loadConfig, resolveConfigPath } from '../config/load.js';
import type { ClusterConfig, Config } from '../config/types.js';
import { UserError } from '../core/errors.js';
import { redisStoreFor } from './adapters.js';

/** Config + a coordination store for one-shot commands; `close()` when done. */
export async function openStore(
  configPath: string | undefined,
): Promise<{ config: Config; store: RedisCoordinationStore }> {
  const config = loadConfig({ file: resolveConfigPath(configPath) });
  const store = redisStoreFor(config, { minTimeoutMs: 1000 });
  await store.ready(2000);
  return { config, store };
}

export function selectClusters(config: Config, name: string | undefined): ClusterConfig[] {
  if (!name) return config.clusters;
  const c = config.clusters.find((x) => x.name === name);
  if (!c)
    throw new UserError(
      `unknown cluster ${name}: the config has ${config.clusters.map((x) => x.name).join(', ')}`,
    );
  return [c];
}
