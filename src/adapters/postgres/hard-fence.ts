/**
 * The operator's fence (`pgvigil fence NODE`), from the sentinel side alone (no agent needed):
 * an SQL-level fence no client session can undo by itself.
 *
 * 1. `default_transaction_read_only = on` (ALTER SYSTEM + reload): a default only, which any
 *    session can undo (`SET default_transaction_read_only = off`, `BEGIN READ WRITE`), so it is
 *    not the fence, only a second line for sessions on template1 (below);
 * 2. `ALTER DATABASE d ALLOW_CONNECTIONS false` for every database but template1: PostgreSQL
 *    checks datallowconn for every new session, superusers included, so no new session can
 *    reach any application database, whatever it sets or however it connects;
 * 3. `pg_terminate_backend` of every other client session, until none is left: sessions
 *    already open are ended, not left to finish (a transaction in flight is rolled back, a
 *    commit not yet acknowledged is never acknowledged).
 * So no session exists, and none can start, in which a write to an application database could
 * run. template1 stays open (the unfence connects there; it holds no application data, and
 * since PostgreSQL 15 PUBLIC cannot create in its public schema). What remains: a superuser can
 * connect to template1 and re-enable connections by hand: that is an unfence, an operator's act.
 * With an agent, a stop (the lease watchdog) is stronger still: nothing runs.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import pg from 'pg';

import { PostgresCommandFailed } from '../../core/errors.js';
import type { Q } from './control.js';

/** The database the operator's fence leaves open, and its unfence connects to. */
export const FENCE_MAINTENANCE_DB = 'template1';
const TERMINATE_WAIT_MS = 3000;

export async function hardFence(q: Q, where: string): Promise<{ databases: string[] }> {
  const dbs = (
    await q(
      `SELECT datname FROM pg_database WHERE datallowconn AND datname <> '${FENCE_MAINTENANCE_DB}'`,
    )
  ).rows.map((r: { datname: string }) => r.datname);
  for (const d of dbs) await q(`ALTER DATABASE ${pg.escapeIdentifier(d)} ALLOW_CONNECTIONS false`);
  // after ALTER DATABASE: the reload makes this session read-only too
  await q('ALTER SYSTEM SET default_transaction_read_only = on');
  await q('SELECT pg_reload_conf()');
  const others = `FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`;
  const deadline = Date.now() + TERMINATE_WAIT_MS;
  for (;;) {
    await q(`SELECT count(pg_terminate_backend(pid)) AS n ${others}`);
    const left = Number((await q(`SELECT count(*) AS n ${others}`)).rows[0]?.n ?? 0);
    if (left === 0) break;
    if (Date.now() > deadline)
      throw new PostgresCommandFailed(`${where}: ${left} sessions survive pg_terminate_backend`);
    await sleep(20);
  }
  return { databases: dbs };
}

export async function hardUnfence(q: Q): Promise<{ databases: string[] }> {
  await q('SET default_transaction_read_only = off'); // this session (template1) only
  const dbs = (
    await q(`SELECT datname FROM pg_database WHERE NOT datallowconn AND datname <> 'template0'`)
  ).rows.map((r: { datname: string }) => r.datname);
  for (const d of dbs) await q(`ALTER DATABASE ${pg.escapeIdentifier(d)} ALLOW_CONNECTIONS true`);
  await q('ALTER SYSTEM RESET default_transaction_read_only');
  await q('SELECT pg_reload_conf()');
  return { databases: dbs };
}
