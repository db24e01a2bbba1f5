/**
 * The backup line of `pgvigil status`: the last good backup and WAL archiving health from the
 * recovery window hash (rewritten after each run and every 30 s by the sentinels). A cluster
 * whose WAL is not being archived gets a warning: point-in-time restore depends on it.
 */
import { RedisBackupCatalog } from '../adapters/redis/backup-catalog.js';
import type { CoordinationConfig } from '../config/types.js';
import { redisAuthOf } from './adapters.js';

export async function backupStatus(
  config: CoordinationConfig,
  clusters: string[],
): Promise<Map<string, { line: string; warning?: string }>> {
  const out = new Map<string, { line: string; warning?: string }>();
  const catalog = new RedisBackupCatalog({
    urls: config.coordination.redis,
    prefix: config.coordination.prefix,
    auth: redisAuthOf(config),
  });
  try {
    for (const c of clusters) {
      const w = await catalog.getWindow(c).catch(() => null);
      if (!w) continue;
      const at = w.lastBackupEndS ? new Date(Number(w.lastBackupEndS) * 1000).toISOString() : '-';
      const line = `  backups: last good ${w.lastGoodLabel || '-'} (ended ${at}), WAL archiving ${w.archiving ?? '?'}`;
      const bad = w.archiving === 'failing' || w.archiving === 'not-archiving';
      out.set(c, bad ? { line, warning: w.archivingDetail ?? 'WAL archiving fails' } : { line });
    }
  } finally {
    await catalog.close();
  }
  return out;
}
