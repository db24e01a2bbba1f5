/** Shared by the backup tests: a local cluster with backups, SQL helpers, the CLI. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import pg from 'pg';

import { buildBackup } from '../../src/commands/backup-deps.js';
import { type DeepPartialRaw, loadConfig } from '../../src/config/load.js';
import type { PgvigilEvent } from '../../src/core/events.js';
import { cliEntry } from '../../src/local/cli-entry.js';
import type { LocalHandle, TestNode } from './local.js';

const exec = promisify(execFile);

export async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(
  node: Pick<TestNode, 'conn'> | { conn: pg.ClientConfig },
  text: string,
): Promise<T[]> {
  const c = new pg.Client({ ...node.conn, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return (await c.query<T>(text)).rows;
  } finally {
    await c.end();
  }
}

/** Insert `n` rows of batch `batch` into marks (created when missing). */
export async function batch(node: TestNode, name: string, n: number): Promise<void> {
  await sql(node, 'CREATE TABLE IF NOT EXISTS marks (id serial primary key, batch text not null)');
  await sql(node, `INSERT INTO marks (batch) SELECT '${name}' FROM generate_series(1, ${n})`);
}

/** Switch WAL and wait until the segment is archived (so a restore can reach it). */
export async function archiveNow(node: TestNode): Promise<void> {
  const [r] = await sql<{ w: string }>(node, 'SELECT pg_walfile_name(pg_switch_wal()) AS w');
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    const [a] = await sql<{ last: string | null }>(
      node,
      'SELECT last_archived_wal AS last FROM pg_stat_archiver',
    );
    if (a?.last && a.last >= r!.w) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`WAL ${r!.w} not archived within 30s`);
}

export function backupOf(h: LocalHandle, owner?: string, overrides?: DeepPartialRaw) {
  const config = loadConfig({ file: h.state.config, ...(overrides ? { overrides } : {}) });
  const events: PgvigilEvent[] = [];
  const parts = buildBackup(config, config.clusters[0]!, {
    events: { emit: async (e) => (events.push(e), { ...e, at: '', id: '' }) },
    ...(owner ? { owner } : {}),
  });
  return { ...parts, events, config };
}

export function cli(h: LocalHandle, ...args: string[]) {
  return exec(process.execPath, [cliEntry(), ...args, '--config', h.state.config], {
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PGVIGIL_'))),
    maxBuffer: 16 * 1024 * 1024,
  }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

/** The JSON object on the last line of `stdout`. */
export function lastJson<T>(stdout: string): T {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}
