/**
 * One probe of one node over an open session, in as few round trips as possible:
 * - known primary (or unknown) with heartbeat: heartbeat INSERT + status in one string (1);
 * - known standby, or no heartbeat: status only (1);
 * - the role changed, or the write failed: status again to learn the role, then at most
 *   one more statement (2-3, only on a change).
 * A primary whose heartbeat cannot commit (read-only, disk full) is a WriteFailed; one whose
 * heartbeat hangs while reads still answer (stuck I/O) is classified in stuck.ts.
 */
import type { ProbeResult, ReplicaStat, WalReceiverStat } from '../../core/model.js';
import { errCode, errMessage, isStatementError } from './errors.js';
import type { Session } from './session.js';
import { heartbeatSql, heartbeatStatusSql, SCHEMA_SQL, statusSql } from './sql.js';

/** What the adapter remembers about a node between probes. */
export interface NodeMemo {
  role?: 'primary' | 'standby';
  /** whether pgvigil.epoch exists, so the status query may read it */
  withEpoch: boolean;
}

export type ProbeData = Omit<
  ProbeResult,
  'node' | 'ok' | 'failure' | 'message' | 'atMono' | 'durationMs'
>;

export class WriteFailed extends Error {}

type Row = Record<string, unknown>;

const num = (v: unknown): number | undefined =>
  v === null || v === undefined ? undefined : Number(v);

function parse(rs: { rows: Row[] }[], memo: NodeMemo): ProbeData {
  const st = rs[0]?.rows[0];
  if (!st) throw new Error('status query returned no row');
  const standby = st.in_recovery === true;
  const head = num(st.head_lsn) ?? 0;
  const replicas: ReplicaStat[] = (rs[1]?.rows ?? []).map((r) => {
    const replayLsn = num(r.replay_lsn) ?? 0;
    return {
      name: String(r.application_name),
      state: String(r.state),
      syncState: String(r.sync_state),
      sentLsn: num(r.sent_lsn) ?? 0,
      replayLsn,
      lagBytes: Math.max(0, head - replayLsn),
      replayLagSeconds: num(r.replay_lag_s) ?? null,
    };
  });
  const rx = rs[2]?.rows[0];
  const walReceiver: WalReceiverStat | undefined = rx && {
    status: String(rx.status),
    senderHost: rx.sender_host === null ? null : String(rx.sender_host),
    senderPort: num(rx.sender_port) ?? null,
    // never heard from its sender yet: no evidence at all
    lastMsgAgeMs: num(rx.last_msg_age_ms) ?? Number.MAX_SAFE_INTEGER,
    receivedLsn: num(rx.flushed_lsn) ?? 0,
  };
  if (st.has_epoch === true) memo.withEpoch = true;
  memo.role = standby ? 'standby' : 'primary';
  const stampedEpoch = num(st.epoch);
  const common = { replicas, ...(stampedEpoch === undefined ? {} : { stampedEpoch }) };
  if (!standby)
    return {
      role: 'primary',
      currentLsn: head,
      ...common,
      syncStandbyNames: typeof st.sync_names === 'string' ? st.sync_names : '',
    };
  const receivedLsn = num(st.receive_lsn);
  return {
    role: 'standby',
    currentLsn: receivedLsn ?? head,
    ...(receivedLsn === undefined ? {} : { receivedLsn }),
    replayedLsn: head,
    ...(st.lag_s === null ? {} : { lagSeconds: Math.max(0, num(st.lag_s) ?? 0) }),
    ...(walReceiver ? { walReceiver } : {}),
    ...common,
  };
}

/** With `heartbeatOf`, that sentinel's heartbeat runs first in the same string (result skipped). */
async function status(s: Session, memo: NodeMemo, heartbeatOf?: string): Promise<ProbeData> {
  try {
    if (heartbeatOf === undefined) return parse(await s.query(statusSql(memo.withEpoch)), memo);
    return parse(
      (await s.query(heartbeatStatusSql(heartbeatOf, memo.withEpoch))).slice(1),
      memo,
    );
  } catch (err) {
    if (heartbeatOf !== undefined || !memo.withEpoch || errCode(err) !== '42P01') throw err;
    memo.withEpoch = false; // pgvigil.epoch is missing on this node
    return parse(await s.query(statusSql(false)), memo);
  }
}

async function heartbeat(
  s: Session,
  memo: NodeMemo,
  sentinel: string,
  earlier?: unknown,
): Promise<void> {
  if (earlier !== undefined && errCode(earlier) !== '42P01')
    throw new WriteFailed(`heartbeat failed: ${errMessage(earlier)}`, { cause: earlier });
  try {
    await s.query(heartbeatSql(sentinel));
  } catch (err) {
    if (errCode(err) !== '42P01')
      throw new WriteFailed(`heartbeat failed: ${errMessage(err)}`, { cause: err });
    try {
      await s.query(SCHEMA_SQL); // first primary probe of a cluster pgvigil did not set up
      await s.query(heartbeatSql(sentinel));
      memo.withEpoch = true;
    } catch (err2) {
      throw new WriteFailed(`creating the pgvigil schema failed: ${errMessage(err2)}`, {
        cause: err2,
      });
    }
  }
}

export async function probeNode(
  s: Session,
  memo: NodeMemo,
  opts: { sentinel: string; heartbeat: boolean },
): Promise<ProbeData> {
  if (!opts.heartbeat) return status(s, memo);
  let earlier: unknown;
  if (memo.role !== 'standby') {
    try {
      return await status(s, memo, opts.sentinel);
    } catch (err) {
      if (s.dead || !isStatementError(err)) throw err;
      earlier = err; // a SQL error: read-only (maybe now a standby), disk full, schema missing
    }
  }
  const data = await status(s, memo);
  if (data.role === 'primary') await heartbeat(s, memo, opts.sentinel, earlier);
  return data;
}
