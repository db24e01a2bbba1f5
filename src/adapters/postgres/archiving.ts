/**
 * WAL archiving health of one node: pg_stat_archiver (counters since the node started).
 */
import pg from 'pg';

import type { ArchiverStats } from '../../core/backup/window.js';
import { lookupSocket } from './lookup.js';

export interface ArchivingConn {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  timeoutMs?: number;
}

/** One short session on the node: connect, run `fn`, always end (errors are the caller's). */
async function withClient<T>(
  o: ArchivingConn,
  defaultTimeoutMs: number,
  fn: (c: pg.Client) => Promise<T>,
  queryTimeout = false,
): Promise<T> {
  const timeout = o.timeoutMs ?? defaultTimeoutMs;
  const c = new pg.Client({
    host: o.host,
    port: o.port,
    user: o.user,
    password: o.password,
    database: o.database,
    connectionTimeoutMillis: timeout,
    // the shared lookup: a dead node whose name hangs must not queue the live one's (lookup.ts)
    stream: lookupSocket,
    ...(queryTimeout ? { query_timeout: timeout } : {}),
  });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

export async function readArchiver(
  name: string,
  o: ArchivingConn,
): Promise<ArchiverStats | undefined> {
  return withClient(o, 2000, (c) => archiverRow(name, c), true).catch(() => undefined);
}

async function archiverRow(name: string, c: pg.Client): Promise<ArchiverStats | undefined> {
  const r = await c.query<{
    archived_count: string;
    failed_count: string;
    last_archived_wal: string | null;
    archived_ms: string | null;
    last_failed_wal: string | null;
    failed_ms: string | null;
    archive_command: string;
  }>(
    `SELECT archived_count, failed_count, last_archived_wal, last_failed_wal,
              (extract(epoch FROM last_archived_time) * 1000)::bigint AS archived_ms,
              (extract(epoch FROM last_failed_time) * 1000)::bigint AS failed_ms,
              current_setting('archive_command') AS archive_command
         FROM pg_stat_archiver`,
  );
  const row = r.rows[0];
  if (!row) return undefined;
  const noCommand = row.archive_command === '' || row.archive_command === '(disabled)';
  return {
    node: name,
    archivedCount: noCommand ? 0 : Number(row.archived_count),
    failedCount: Number(row.failed_count),
    lastArchivedWal: row.last_archived_wal,
    lastArchivedAtMs: noCommand || row.archived_ms === null ? null : Number(row.archived_ms),
    lastFailedWal: row.last_failed_wal,
    lastFailedAtMs: row.failed_ms === null ? null : Number(row.failed_ms),
  };
}

/** CHECKPOINT, then set archive_command (ALTER SYSTEM + reload) on a node. */
export async function setArchiveCommand(o: ArchivingConn, command: string): Promise<void> {
  await withClient(o, 5000, async (c) => {
    const cur = await c.query<{ v: string }>(`SELECT current_setting('archive_command') AS v`);
    if (cur.rows[0]?.v === command) return;
    await c.query(`ALTER SYSTEM SET archive_command = ${pg.escapeLiteral(command)}`);
    await c.query('SELECT pg_reload_conf()');
  });
}

/** CHECKPOINT on the primary (pg_control must show the current timeline: notes G5). */
export async function checkpoint(o: ArchivingConn): Promise<void> {
  await withClient(o, 5000, async (c) => {
    await c.query('CHECKPOINT');
  });
}

/** BackupNodes over SQL: each node probed now (pg_is_in_recovery), not from the topology. */
export class SqlBackupNodes {
  readonly #nodes: { name: string; host: string; port: number }[];
  readonly #conn: Omit<ArchivingConn, 'host' | 'port'>;

  constructor(
    nodes: { name: string; host: string; port: number }[],
    conn: Omit<ArchivingConn, 'host' | 'port'>,
  ) {
    this.#nodes = nodes;
    this.#conn = conn;
  }

  #of(name: string): ArchivingConn {
    const n = this.#nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return { ...this.#conn, host: n.host, port: n.port };
  }

  async roles(): Promise<{ primary: string | null; standbys: string[] }> {
    const answers = await Promise.all(
      this.#nodes.map(async (n) => {
        const o = this.#of(n.name);
        const c = new pg.Client({
          host: o.host,
          port: o.port,
          user: o.user,
          password: o.password,
          database: o.database,
          connectionTimeoutMillis: 2000,
          stream: lookupSocket,
        });
        c.on('error', () => undefined);
        try {
          await c.connect();
          const r = await c.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
          return { name: n.name, standby: r.rows[0]?.r === true };
        } catch {
          return null;
        } finally {
          await c.end().catch(() => undefined);
        }
      }),
    );
    const up = answers.filter((a): a is { name: string; standby: boolean } => a !== null);
    return {
      primary: up.find((a) => !a.standby)?.name ?? null,
      standbys: up.filter((a) => a.standby).map((a) => a.name),
    };
  }

  archiver(node: string): Promise<ArchiverStats | undefined> {
    return readArchiver(node, this.#of(node));
  }

  checkpoint(node: string): Promise<void> {
    return checkpoint(this.#of(node));
  }

  setArchiveCommand(node: string, command: string): Promise<void> {
    return setArchiveCommand(this.#of(node), command);
  }
}
