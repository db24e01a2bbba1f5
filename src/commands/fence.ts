/**
 * `pgvigil fence NODE` / `pgvigil unfence NODE`: the operator's fence (runtime/operator-fence.ts,
 * shared with the sentinel's POST /fence|/unfence), applied from here over SQL, no agent needed.
 */
import { hostname } from 'node:os';

import type { FenceApi } from '../adapters/http/fence-routes.js';
import { createLogger } from '../adapters/logging/logger.js';
import { FENCE_MAINTENANCE_DB } from '../adapters/postgres/hard-fence.js';
import { loadConfig, resolveConfigPath } from '../config/load.js';
import type { Config } from '../config/types.js';
import { UserError } from '../core/errors.js';
import type { Logger } from '../ports/logger.js';
import { EventBus } from '../runtime/events.js';
import { operatorFence, type OperatorFenceDeps } from '../runtime/operator-fence.js';
import { pgAdapterFor, redisStoreFor } from './adapters.js';

type ClusterConfig = Config['clusters'][number];

/** The cluster and node config a fence command names; a UserError naming the node otherwise. */
export function fenceTarget(
  clusters: ClusterConfig[],
  nodeName: string,
  clusterName?: string,
): { cluster: ClusterConfig; node: ClusterConfig['nodes'][number] } {
  const cluster = clusterName
    ? clusters.find((c) => c.name === clusterName)
    : clusters.find((c) => c.nodes.some((n) => n.name === nodeName));
  const node = cluster?.nodes.find((n) => n.name === nodeName);
  if (!cluster || !node)
    throw new UserError(
      `unknown node ${nodeName}${clusterName ? ` in cluster ${clusterName}` : ''}: use one of ${(cluster ? [cluster] : clusters).flatMap((c) => c.nodes.map((n) => n.name)).join(', ')}`,
    );
  return { cluster, node };
}

/** A Postgres adapter on the database the fence leaves open (a database cannot close itself). */
export function fenceAdapterFor(
  cluster: ClusterConfig,
  config: Config,
  appName: string,
): ReturnType<typeof pgAdapterFor> {
  return pgAdapterFor({ ...cluster, database: FENCE_MAINTENANCE_DB }, config.timing, appName);
}

export async function runFence(opts: {
  config?: string;
  cluster?: string;
  node: string;
  fenced: boolean;
}): Promise<void> {
  const config = loadConfig({ file: resolveConfigPath(opts.config) });
  const { cluster, node } = fenceTarget(config.clusters, opts.node, opts.cluster);
  const by = `${process.env.USER ?? 'operator'}@${hostname()}`;
  const store = redisStoreFor(config, { minTimeoutMs: 1000 });
  await store.ready(2000);
  const bus = new EventBus(
    store,
    createLogger({ level: 'warn', process: by, role: 'cli', destination: process.stderr }),
  );
  const pg = fenceAdapterFor(cluster, config, 'pgvigil-fence');
  try {
    const r = await operatorFence(
      { store, bus, pg, wall: () => Date.now() },
      { cluster: cluster.name, node, fenced: opts.fenced, by },
    );
    process.stdout.write(`${r.message}\n`);
  } finally {
    await pg.close();
    await store.close();
  }
}

/** The sentinel's POST /fence|/unfence: the same operatorFence, through the sentinel's store. */
export function sentinelFenceApi(
  config: Config,
  store: OperatorFenceDeps['store'] & ConstructorParameters<typeof EventBus>[0],
  log: Logger,
  sentinelId: string,
): FenceApi {
  const bus = new EventBus(store, log);
  return {
    nodes: (c) => config.clusters.find((k) => k.name === c)?.nodes.map((n) => n.name) ?? [],
    run: async (c, nodeName, fenced, meta) => {
      const { cluster, node } = fenceTarget(config.clusters, nodeName, c);
      const pg = fenceAdapterFor(cluster, config, `pgvigil-fence-${sentinelId}`);
      try {
        const r = await operatorFence(
          { store, bus, pg, wall: () => Date.now() },
          { cluster: cluster.name, node, fenced, by: `${meta.requestedBy} via ${sentinelId}` },
        );
        log.info({ cluster: cluster.name, node: node.name, fenced, by: meta.requestedBy }, r.message);
        return { message: r.message, epoch: r.epoch, paused: r.paused };
      } finally {
        await pg.close();
      }
    },
  };
}
