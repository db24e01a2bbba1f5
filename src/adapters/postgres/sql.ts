/**
 * Every SQL text the postgres adapter sends, in one place.
 *
 * Probes use the simple query protocol with several statements in one string: one round trip,
 * run by the server as one implicit transaction. LSNs are returned as byte offsets
 * (`pg_wal_lsn_diff(lsn, '0/0')`, numeric -> string in node-postgres, converted with Number).
 */
import { escapeLiteral } from 'pg';

/** The pgvigil schema: sentinel heartbeats and the epoch stamp of the node that is primary. */
export const SCHEMA_SQL = `CREATE SCHEMA IF NOT EXISTS pgvigil;
CREATE TABLE IF NOT EXISTS pgvigil.heartbeat (sentinel text PRIMARY KEY, at timestamptz NOT NULL, epoch bigint);
CREATE TABLE IF NOT EXISTS pgvigil.epoch (id int PRIMARY KEY DEFAULT 1 CHECK (id = 1), epoch bigint NOT NULL, primary_name text NOT NULL, at timestamptz NOT NULL DEFAULT now());`;

/**
 * The probe's SQL texts are built once and reused: a sentinel sends one every probe interval to
 * every node, and rebuilding them (with escapeLiteral) and joining the heartbeat to the status
 * each time was garbage for nothing (`npm run bench:idle`). Keys: sentinel ids, a handful.
 */
const heartbeats = new Map<string, string>();
const heartbeatStatus = new Map<string, string>();

/** Upsert this sentinel's heartbeat row; it carries the epoch stamped on the node. */
export function heartbeatSql(sentinel: string): string {
  let sql = heartbeats.get(sentinel);
  if (sql === undefined) {
    sql = `INSERT INTO pgvigil.heartbeat (sentinel, at, epoch)
  VALUES (${escapeLiteral(sentinel)}, now(), (SELECT epoch FROM pgvigil.epoch WHERE id = 1))
  ON CONFLICT (sentinel) DO UPDATE SET at = EXCLUDED.at, epoch = EXCLUDED.epoch;`;
    heartbeats.set(sentinel, sql);
  }
  return sql;
}

/** The heartbeat, then the status (statusSql), in one string: one round trip. */
export function heartbeatStatusSql(sentinel: string, withEpoch: boolean): string {
  const key = `${withEpoch ? 1 : 0}${sentinel}`;
  let sql = heartbeatStatus.get(key);
  if (sql === undefined) {
    sql = heartbeatSql(sentinel) + statusSql(withEpoch);
    heartbeatStatus.set(key, sql);
  }
  return sql;
}

const LSN = (expr: string): string => `pg_wal_lsn_diff(${expr}, '0/0')`;
const IN_RECOVERY = 'pg_is_in_recovery()';
/** WAL position that works in both roles (pg_current_wal_lsn() raises during recovery). */
const HEAD = `CASE WHEN ${IN_RECOVERY} THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END`;

/**
 * Role-independent status: one row of node state, then pg_stat_replication rows, then the
 * pg_stat_wal_receiver row (none when no receiver runs). `withEpoch` reads pgvigil.epoch,
 * which fails to parse when the table is missing: the caller keeps it off until `has_epoch`.
 */
export function statusSql(withEpoch: boolean): string {
  return withEpoch ? STATUS_WITH_EPOCH : STATUS_WITHOUT_EPOCH;
}

function buildStatusSql(withEpoch: boolean): string {
  const epoch = withEpoch ? '(SELECT epoch FROM pgvigil.epoch WHERE id = 1)' : 'NULL::bigint';
  return `SELECT ${IN_RECOVERY} AS in_recovery,
  ${LSN(HEAD)} AS head_lsn,
  ${LSN('pg_last_wal_receive_lsn()')} AS receive_lsn,
  ${LSN('pg_last_wal_replay_lsn()')} AS replay_lsn,
  CASE WHEN NOT ${IN_RECOVERY} THEN NULL
       WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
       ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END AS lag_s,
  to_regclass('pgvigil.epoch') IS NOT NULL AS has_epoch,
  current_setting('synchronous_standby_names') AS sync_names,
  ${epoch} AS epoch;
SELECT application_name, state, sync_state, ${LSN('sent_lsn')} AS sent_lsn, ${LSN('replay_lsn')} AS replay_lsn,
  extract(epoch FROM replay_lag) AS replay_lag_s
  FROM pg_stat_replication ORDER BY application_name;
SELECT status, sender_host, sender_port,
  extract(epoch FROM now() - last_msg_receipt_time) * 1000 AS last_msg_age_ms,
  ${LSN('flushed_lsn')} AS flushed_lsn
  FROM pg_stat_wal_receiver;`;
}
const STATUS_WITH_EPOCH = buildStatusSql(true);
const STATUS_WITHOUT_EPOCH = buildStatusSql(false);

/** libpq conninfo value: bare when safe, else single-quoted with \ and ' escaped. */
function conninfoValue(v: string): string {
  return /^[A-Za-z0-9_.:/-]+$/.test(v) ? v : `'${v.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

export function conninfo(params: Record<string, string | number>): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${conninfoValue(String(v))}`)
    .join(' ');
}

export const lit = escapeLiteral;
