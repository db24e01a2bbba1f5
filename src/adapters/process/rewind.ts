/**
 * `pg_rewind` and `pg_basebackup`, the two ways an old primary becomes a standby of the new
 * one. Secrets go through PGPASSWORD, never argv. pg_rewind (PG >= 13) first runs crash
 * recovery in single-user mode when the target was not shut down cleanly (a SIGKILLed
 * primary), so it works on a crashed node too.
 */
import { chownSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';

import { PostgresCommandFailed } from '../../core/errors.js';
import type { PgTls } from '../../core/tls.js';
import { conninfo } from '../postgres/sql.js';
import { libpqTlsEnv, libpqTlsParams } from '../postgres/tls.js';
import { lastLines, runPg } from './binaries.js';
import type { RunAs } from './run-as.js';

export interface Source {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  tls?: PgTls | undefined;
}

const REWIND_TIMEOUT_MS = 10 * 60_000;
const BASEBACKUP_TIMEOUT_MS = 60 * 60_000;

/** Resolves with pg_rewind's output; throws PostgresCommandFailed when it failed. */
export async function pgRewind(o: {
  dataDir: string;
  source: Source;
  runAs: RunAs | undefined;
}): Promise<string> {
  const server = conninfo({
    host: o.source.host,
    port: o.source.port,
    user: o.source.user,
    dbname: o.source.database,
    application_name: 'pgvigil-rewind',
    ...libpqTlsParams(o.source.tls),
  });
  const r = await runPg(
    'pg_rewind',
    [`--target-pgdata=${o.dataDir}`, `--source-server=${server}`],
    {
      runAs: o.runAs,
      cwd: dirname(o.dataDir),
      env: { PGPASSWORD: o.source.password, LC_ALL: 'C' },
      timeoutMs: REWIND_TIMEOUT_MS,
    },
  );
  if (r.code !== 0)
    throw new PostgresCommandFailed(
      `pg_rewind of ${o.dataDir} from ${o.source.host}:${o.source.port} failed: ${lastLines(r.output)}`,
    );
  return lastLines(r.output);
}

/** Rename the data directory to `<dataDir>.old-<stamp>` (kept unless the operator opted out). */
export function moveAside(dataDir: string, stamp: string): string {
  let aside = `${dataDir}.old-${stamp}`;
  for (let i = 1; existsSync(aside); i++) aside = `${dataDir}.old-${stamp}-${i}`;
  renameSync(dataDir, aside);
  return aside;
}

/** A fresh copy of the primary into an empty `dataDir`, streaming WAL through `slot`. */
export async function pgBasebackup(o: {
  dataDir: string;
  primary: { host: string; port: number };
  user: string;
  password: string;
  tls?: PgTls | undefined;
  slot: string;
  runAs: RunAs | undefined;
}): Promise<void> {
  mkdirSync(o.dataDir, { mode: 0o700 });
  if (o.runAs) chownSync(o.dataDir, o.runAs.uid, o.runAs.gid);
  const args = ['-h', o.primary.host, '-p', String(o.primary.port), '-U', o.user, '-D', o.dataDir];
  args.push('-X', 'stream', '-c', 'fast', '-S', o.slot);
  const r = await runPg('pg_basebackup', args, {
    runAs: o.runAs,
    cwd: dirname(o.dataDir),
    env: { PGPASSWORD: o.password, LC_ALL: 'C', ...libpqTlsEnv(o.tls) },
    timeoutMs: BASEBACKUP_TIMEOUT_MS,
  });
  if (r.code !== 0) {
    rmSync(o.dataDir, { recursive: true, force: true });
    throw new PostgresCommandFailed(
      `pg_basebackup into ${o.dataDir} from ${o.primary.host}:${o.primary.port} failed: ${lastLines(r.output)}`,
    );
  }
}
