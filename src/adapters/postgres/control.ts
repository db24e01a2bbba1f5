/**
 * Control statements, each on its own short-lived session (never the probe session, whose
 * timeouts are tuned for detection). `q` runs one statement string and translates failures
 * into PostgresUnreachable / PostgresCommandFailed naming the node and the step.
 * ALTER SYSTEM refuses to run in a transaction block, so each one is its own query string.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import type pg from 'pg';

import { PostgresCommandFailed } from '../../core/errors.js';
import type { NodeSpec } from '../../core/model.js';
import type { PgTls } from '../../core/tls.js';
import { errCode } from './errors.js';
import { conninfo, lit, SCHEMA_SQL } from './sql.js';
import { libpqTlsParams } from './tls.js';

/** Runs one statement string; resolves to the last statement's result. */
export type Q = (sql: string) => Promise<pg.QueryResult>;

const SETTING_WAIT_MS = 3000;

/** `pg_promote(wait)`, then CHECKPOINT so pg_control shows the new timeline (pg_rewind, pgBackRest). */
export async function promote(q: Q, where: string, timeoutMs: number): Promise<void> {
  const secs = Math.max(1, Math.ceil(timeoutMs / 1000));
  let promoted: boolean;
  try {
    promoted = (await q(`SELECT pg_promote(true, ${secs}) AS ok`)).rows[0]?.ok === true;
  } catch (err) {
    // 55000 "recovery is not in progress": already promoted (a retried call) is a success
    if (!(err instanceof PostgresCommandFailed) || errCode(err.cause) !== '55000') throw err;
    if ((await q('SELECT pg_is_in_recovery() AS r')).rows[0]?.r !== false) throw err;
    promoted = true;
  }
  if (!promoted)
    throw new PostgresCommandFailed(`${where}: pg_promote did not finish within ${secs}s`);
  await q('CHECKPOINT');
}

/** Never lowers the stamp: a stale sentinel cannot overwrite a newer epoch. */
export async function stampEpoch(
  q: Q,
  where: string,
  epoch: number,
  primary: string,
): Promise<void> {
  if (!Number.isSafeInteger(epoch) || epoch < 0)
    throw new RangeError(`${where}: bad epoch ${epoch}`);
  const r = await q(`${SCHEMA_SQL}
INSERT INTO pgvigil.epoch (id, epoch, primary_name, at) VALUES (1, ${epoch}, ${lit(primary)}, now())
  ON CONFLICT (id) DO UPDATE SET epoch = EXCLUDED.epoch, primary_name = EXCLUDED.primary_name, at = EXCLUDED.at
  WHERE pgvigil.epoch.epoch <= EXCLUDED.epoch`);
  if (r.rowCount === 0)
    throw new PostgresCommandFailed(
      `${where}: the node is stamped with an epoch higher than ${epoch}`,
    );
}

export async function ensureSlot(q: Q, slot: string): Promise<void> {
  try {
    await q(`SELECT pg_create_physical_replication_slot(${lit(slot)}, true)
  WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = ${lit(slot)})`);
  } catch (err) {
    if (!(err instanceof PostgresCommandFailed) || errCode(err.cause) !== '42710') throw err; // created meanwhile
  }
}

export async function repoint(
  q: Q,
  node: NodeSpec,
  primary: NodeSpec,
  slot: string,
  repl: { user: string; password: string; tls?: PgTls | undefined },
): Promise<void> {
  const info = conninfo({
    host: primary.host,
    port: primary.port,
    user: repl.user,
    password: repl.password,
    application_name: node.name,
    ...libpqTlsParams(repl.tls),
  });
  await q(`ALTER SYSTEM SET primary_conninfo = ${lit(info)}`);
  await q(
    slot
      ? `ALTER SYSTEM SET primary_slot_name = ${lit(slot)}`
      : 'ALTER SYSTEM RESET primary_slot_name',
  );
  await q('SELECT pg_reload_conf()');
}

/**
 * pg_reload_conf() only signals the postmaster. Our own backend sees the new value once the
 * postmaster has reloaded and signalled its children, so from then on new sessions get it too.
 */
async function waitSetting(q: Q, where: string, name: string, want: string): Promise<void> {
  const deadline = Date.now() + SETTING_WAIT_MS;
  for (;;) {
    const v = (await q(`SELECT current_setting(${lit(name)}) AS v`)).rows[0]?.v;
    if (v === want) return;
    if (Date.now() > deadline)
      throw new PostgresCommandFailed(
        `${where}: ${name} is still ${String(v)} after reload (set in postgresql.conf?)`,
      );
    await sleep(10);
  }
}

export async function fence(q: Q, where: string): Promise<void> {
  await q('ALTER SYSTEM SET default_transaction_read_only = on');
  await q('SELECT pg_reload_conf()');
  await waitSetting(q, where, 'default_transaction_read_only', 'on');
  // sessions opened before the fence keep writing until they end: end them
  await q(`SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
  WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`);
}

export async function unfence(q: Q, where: string): Promise<void> {
  await q('ALTER SYSTEM RESET default_transaction_read_only');
  await q('SELECT pg_reload_conf()');
  await waitSetting(q, where, 'default_transaction_read_only', 'off');
}

/** Sync mode: the primary's synchronous standby (`''`: none). Never on a standby. */
export async function setSyncStandbyNames(q: Q, where: string, value: string): Promise<void> {
  if ((await q('SELECT pg_is_in_recovery() AS r')).rows[0]?.r !== false)
    throw new PostgresCommandFailed(`${where}: the node is in recovery, not a primary`);
  await q(`ALTER SYSTEM SET synchronous_standby_names = ${lit(value)}`);
  await q('SELECT pg_reload_conf()');
  await waitSetting(q, where, 'synchronous_standby_names', value);
}
