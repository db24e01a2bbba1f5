/**
 * `pgvigil fence NODE` / `pgvigil unfence NODE`: the operator's fence (adapters/postgres/
 * hard-fence.ts), applied from here over SQL, no agent needed. Fencing the topology's primary
 * pauses automatic failover of its cluster (a fenced primary fails every probe: without the
 * pause the sentinels would fail over, which the operator did not ask for); `unfence` of that
 * node resumes it. Each emits node-fenced / node-unfenced (and paused / resumed).
 */
import { hostname } from 'node:os';

import { createLogger } from '../adapters/logging/logger.js';
import { FENCE_MAINTENANCE_DB } from '../adapters/postgres/hard-fence.js';
import { loadConfig, resolveConfigPath } from '../config/load.js';
import { UserError } from '../core/errors.js';
import { EventBus } from '../runtime/events.js';
import { pgAdapterFor, redisStoreFor } from './adapters.js';

const PAUSE_REASON = (node: string): string => `primary ${node} fenced by the operator`;

export async function runFence(opts: {
  config?: string;
  cluster?: string;
  node: string;
  fenced: boolean;
}): Promise<void> {
  const config = loadConfig({ file: resolveConfigPath(opts.config) });
  const cluster = opts.cluster
    ? config.clusters.find((c) => c.name === opts.cluster)
    : config.clusters.find((c) => c.nodes.some((n) => n.name === opts.node));
  const node = cluster?.nodes.find((n) => n.name === opts.node);
  if (!cluster || !node)
    throw new UserError(
      `unknown node ${opts.node}${opts.cluster ? ` in cluster ${opts.cluster}` : ''}: use one of ${config.clusters.flatMap((c) => c.nodes.map((n) => n.name)).join(', ')}`,
    );
  const by = `${process.env.USER ?? 'operator'}@${hostname()}`;
  const store = redisStoreFor(config, { minTimeoutMs: 1000 });
  await store.ready(2000);
  const bus = new EventBus(
    store,
    createLogger({ level: 'warn', process: by, role: 'cli', destination: process.stderr }),
  );
  // both connect to the database the fence leaves open (a database cannot close itself)
  const pg = pgAdapterFor(
    { ...cluster, database: FENCE_MAINTENANCE_DB },
    config.timing,
    'pgvigil-fence',
  );
  try {
    const t = (await store.readTopology(cluster.name)).value;
    const epoch = t?.epoch ?? 0;
    const isPrimary = t?.primary === node.name;
    if (opts.fenced) {
      if (isPrimary)
        await store.setPause(cluster.name, {
          paused: true,
          by,
          atWall: Date.now(),
          reason: PAUSE_REASON(node.name),
        });
      const { databases } = await pg.operatorFence(node);
      const reason = `operator fence: connections to ${databases.join(', ') || 'no database'} refused, every session ended`;
      await bus.emit({
        type: 'node-fenced',
        cluster: cluster.name,
        epoch,
        node: node.name,
        by,
        reason,
      });
      if (isPrimary)
        await bus.emit({
          type: 'paused',
          cluster: cluster.name,
          epoch,
          by,
          reason: PAUSE_REASON(node.name),
        });
      process.stdout.write(
        `${node.name}: fenced (${reason})${isPrimary ? '; automatic failover of ' + cluster.name + ' paused: `pgvigil unfence ' + node.name + '` or `pgvigil resume`' : ''}\n`,
      );
      return;
    }
    const { databases } = await pg.operatorUnfence(node);
    const reason = `operator unfence: connections to ${databases.join(', ') || 'no database'} allowed again`;
    await bus.emit({
      type: 'node-unfenced',
      cluster: cluster.name,
      epoch,
      node: node.name,
      by,
      reason,
    });
    const pause = (await store.readPause(cluster.name).catch(() => null))?.value;
    if (pause?.paused && pause.reason === PAUSE_REASON(node.name)) {
      await store.setPause(cluster.name, { paused: false, by, atWall: Date.now() });
      await bus.emit({ type: 'resumed', cluster: cluster.name, epoch, by });
    }
    process.stdout.write(`${node.name}: unfenced (${reason})\n`);
  } finally {
    await pg.close();
    await store.close();
  }
}
