import { hostname } from 'node:os';

import { createLogger } from '../adapters/logging/logger.js';
import { EventBus } from '../runtime/events.js';
import { openStore, selectClusters } from './common.js';

/** `pgvigil pause|resume`: maintenance mode recorded on the Redis servers (a majority must accept). */
export async function runPause(opts: {
  config?: string;
  cluster?: string;
  reason?: string;
  paused: boolean;
}): Promise<void> {
  const { config, store } = await openStore(opts.config);
  const by = `${process.env.USER ?? 'operator'}@${hostname()}`;
  const bus = new EventBus(
    store,
    createLogger({ level: 'warn', process: by, role: 'cli', destination: process.stderr }),
  );
  try {
    for (const c of selectClusters(config, opts.cluster)) {
      await store.setPause(c.name, {
        paused: opts.paused,
        by,
        atWall: Date.now(),
        ...(opts.reason ? { reason: opts.reason } : {}),
      });
      const epoch = (await store.readTopology(c.name)).value?.epoch ?? 0;
      await bus.emit(
        opts.paused
          ? {
              type: 'paused',
              cluster: c.name,
              epoch,
              by,
              ...(opts.reason ? { reason: opts.reason } : {}),
            }
          : { type: 'resumed', cluster: c.name, epoch, by },
      );
      process.stdout.write(
        `${c.name}: ${opts.paused ? 'paused: no automatic failover until `pgvigil resume`' : 'resumed: automatic failover enabled'}\n`,
      );
    }
  } finally {
    await store.close();
  }
}
