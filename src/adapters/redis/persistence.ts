/**
 * Does each coordination server persist? (Issue 7, item 5.) The epoch lives in Redis: a server
 * that restarts without an append-only file comes back empty, and a majority of those would let
 * the epoch start again from nothing. `INFO persistence` (`aof_enabled`), on a short-lived
 * client of its own per server; RDB snapshots alone do not count (they lose every write since
 * the last one). `null`: the server did not answer or refused INFO (an ACL): unknown.
 */
import { Redis } from 'ioredis';

import { redactSecrets } from '../../core/redact.js';
import { clientOptions, type RedisAuth } from './link.js';

export interface ServerPersistence {
  server: string;
  persists: boolean | null;
  detail: string;
}

export async function checkPersistence(
  urls: readonly string[],
  auth: RedisAuth,
  timeoutMs: number,
): Promise<ServerPersistence[]> {
  return Promise.all(
    urls.map(async (url) => {
      const server = redactSecrets(url);
      const c = new Redis(url, {
        ...clientOptions(url, timeoutMs, auth),
        enableOfflineQueue: true,
        retryStrategy: () => null,
      });
      c.on('error', () => undefined);
      try {
        const info = await c.info('persistence');
        const aof = /^aof_enabled:(\d)/m.exec(info)?.[1];
        if (aof === undefined) return { server, persists: null, detail: 'no aof_enabled in INFO' };
        return aof === '1'
          ? { server, persists: true, detail: 'appendonly yes' }
          : { server, persists: false, detail: 'appendonly no: a restart loses the epoch' };
      } catch (err) {
        return { server, persists: null, detail: redactSecrets((err as Error).message) };
      } finally {
        c.disconnect();
      }
    }),
  );
}
