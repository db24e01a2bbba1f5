/**
 * `pgvigil backup run|list|verify` (restore: backup-restore.ts). Each builds the backup parts
 * from the config, does one thing and closes them; errors are one line (cli.ts).
 */
import { hostname } from 'node:os';

import { createLogger } from '../adapters/logging/logger.js';
import { loadConfig, resolveConfigPath } from '../config/load.js';
import { type BackupType, tipoOf } from '../core/backup/types.js';
import { EventBus } from '../runtime/events.js';
import { redisStoreFor } from './adapters.js';
import { backupCluster, type BackupParts, buildBackup } from './backup-deps.js';

interface Common {
  config?: string;
  cluster?: string;
}

/** Build the parts (with an event bus on the coordination store), run `fn`, close everything. */
export async function withBackup<T>(opts: Common, fn: (p: BackupParts) => Promise<T>): Promise<T> {
  const config = loadConfig({ file: resolveConfigPath(opts.config) });
  const cluster = backupCluster(config, opts.cluster);
  const store = redisStoreFor(config, { minTimeoutMs: 1000 });
  await store.ready(2000);
  const by = `${process.env.USER ?? 'operator'}@${hostname()}`;
  const events = new EventBus(
    store,
    createLogger({ level: 'warn', process: by, role: 'cli', destination: process.stderr }),
  );
  const parts = buildBackup(config, cluster, { events });
  try {
    return await fn(parts);
  } finally {
    await parts.close();
    await store.close();
  }
}

export async function runBackupRun(
  opts: Common & { type: BackupType; json?: boolean },
): Promise<void> {
  await withBackup(opts, async (p) => {
    const t0 = Date.now();
    process.stderr.write(`${p.cluster.name}: ${opts.type} backup started\n`);
    const r = await p.runner.run(opts.type, {
      onProgress: (l) =>
        process.stderr.write(`  [${((Date.now() - t0) / 1000).toFixed(1)}s] ${l}\n`),
    });
    if (r.kind !== 'done') return;
    // the key of the slot the record went to (an incr pgBackRest made a full stays under it)
    const key = `backup:${tipoOf(r.key.type)}:${r.key.day}`;
    if (opts.json) process.stdout.write(`${JSON.stringify({ key, ...r.record })}\n`);
    else
      process.stdout.write(
        `${key}: ${r.record.label} ${r.record.type} ${r.record.size} bytes (${r.record.repository_delta} in the repository) in ${r.record.duration}s from ${r.record.node}\n`,
      );
  });
}

export async function runBackupList(opts: Common & { json?: boolean }): Promise<void> {
  await withBackup(opts, async (p) => {
    const records = await p.catalog.list();
    const window = await p.catalog.getWindow(p.cluster.name);
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ cluster: p.cluster.name, records, window })}\n`);
      return;
    }
    const keys = Object.keys(records);
    if (keys.length === 0)
      process.stdout.write('no backup recorded yet: `pgvigil backup run --type full`\n');
    for (const k of keys) {
      const r = records[k]!;
      process.stdout.write(
        `${k.padEnd(32)} ${(r.status ?? '').padEnd(6)} ${(r.label ?? '').padEnd(34)} ${(r.size ?? '').padStart(12)} B  ${r.duration ?? ''}s  ${r.node ?? ''}${r.error ? `  error: ${r.error}` : ''}${r.last_failure_error ? `  last failure: ${r.last_failure_error}` : ''}\n`,
      );
    }
    if (window) {
      const at = (s: string | undefined): string =>
        s ? new Date(Number(s) * 1000).toISOString() : '-';
      process.stdout.write(
        `recovery window: from ${at(window.firstRecoverableS)} (last good backup ${window.lastGoodLabel || '-'}, ended ${at(window.lastBackupEndS)}), WAL ${window.archiveMin || '-'}..${window.archiveMax || '-'}\n`,
      );
      process.stdout.write(
        `archiving: ${window.archiving ?? '?'}: ${window.archivingDetail ?? ''}\n`,
      );
      if (window.lastFailed) process.stdout.write(`last failed run: ${window.lastFailed}\n`);
    }
  });
}

export async function runBackupVerify(opts: Common): Promise<void> {
  await withBackup(opts, async (p) => {
    await p.engine.info();
    const v = await p.engine.verify();
    if (!v.ok) {
      process.exitCode = 1;
      process.stderr.write(`pgvigil: backup verify found problems: ${v.detail}\n`);
      return;
    }
    process.stdout.write(
      `${p.cluster.name}: every backup and WAL file in the repository checks out\n`,
    );
  });
}
