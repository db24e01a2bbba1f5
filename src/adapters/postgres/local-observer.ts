/**
 * The LocalNodeObserver port (ports/postgres.ts): what the agent sees of its own postgres each
 * loop: process state from the process adapter (postmaster.pid and /proc, no connection
 * needed), then, when it runs, one query on one persistent local session (the cluster's
 * superuser; reconnecting only after a failure). `observe` never throws. Also the two checks
 * a rejoin makes (is the new primary out of recovery, does the local WAL receiver stream).
 */
import { upstreamOf } from '../../core/agent/conninfo.js';
import { type LocalObservation, processOnlyObservation } from '../../core/agent/model.js';
import type { NodeSpec } from '../../core/spec.js';
import type { NodeProcess } from '../../ports/node-process.js';
import type { LocalNodeObserver } from '../../ports/postgres.js';
import { Session, type SessionParams } from './session.js';

const LSN = (e: string): string => `pg_wal_lsn_diff(${e}, '0/0')`;

/** One round trip; primary_conninfo is readable by a superuser only (it holds a password). */
export const OBSERVE_SQL = `SELECT pg_is_in_recovery() AS in_recovery,
  current_setting('default_transaction_read_only') = 'on' AS read_only,
  current_setting('primary_conninfo') AS conninfo,
  current_setting('primary_slot_name') AS slot,
  ${LSN('pg_last_wal_replay_lsn()')} AS replay_lsn,
  r.status, r.sender_host, r.sender_port, ${LSN('r.latest_end_lsn')} AS latest_end_lsn
  FROM (SELECT 1) AS one LEFT JOIN pg_stat_wal_receiver AS r ON true`;

interface Row {
  in_recovery: boolean;
  read_only: boolean;
  conninfo: string | null;
  slot: string | null;
  replay_lsn: string | null;
  status: string | null;
  sender_host: string | null;
  sender_port: number | null;
  latest_end_lsn: string | null;
}

const num = (v: string | null): number | null => (v === null ? null : Number(v));

export class LocalObserver implements LocalNodeObserver {
  readonly #pg: Pick<NodeProcess, 'state'>;
  readonly #params: SessionParams;
  #session: Session | null = null;

  constructor(pg: Pick<NodeProcess, 'state'>, params: SessionParams) {
    this.#pg = pg;
    this.#params = params;
  }

  async observe(): Promise<LocalObservation> {
    const st = this.#pg.state();
    const base = processOnlyObservation(st);
    if (!st.running) {
      this.close();
      return base;
    }
    try {
      if (!this.#session || this.#session.dead) this.#session = await Session.open(this.#params);
      const [rs] = await this.#session.query(OBSERVE_SQL);
      const r = rs!.rows[0] as Row;
      const standby = r.in_recovery;
      return {
        ...base,
        reachable: true,
        role: standby ? 'standby' : 'primary',
        fenced: r.read_only,
        upstream: standby ? upstreamOf(r.conninfo) : null,
        slot: r.slot || null,
        walReceiver:
          r.status === null
            ? null
            : { status: r.status, senderHost: r.sender_host, senderPort: r.sender_port },
        replayedLsn: standby ? num(r.replay_lsn) : null,
        senderEndLsn: standby ? num(r.latest_end_lsn) : null,
      };
    } catch (err) {
      this.close();
      return { ...base, error: (err as Error).message };
    }
  }

  async inRecovery(node: NodeSpec): Promise<boolean> {
    const p = { ...this.#params, host: node.host, port: node.port };
    return withSession(p, async (s) => {
      const [rs] = await s.query('SELECT pg_is_in_recovery() AS r');
      return rs!.rows[0]?.r as boolean;
    });
  }

  async streamsFrom(primary: NodeSpec): Promise<boolean> {
    return withSession(this.#params, async (s) => {
      const [rs] = await s.query('SELECT status, sender_port FROM pg_stat_wal_receiver');
      const r = rs!.rows[0] as { status?: string; sender_port?: number } | undefined;
      return r?.status === 'streaming' && r.sender_port === primary.port;
    }).catch(() => false);
  }

  close(): void {
    this.#session?.destroy();
    this.#session = null;
  }
}

async function withSession<T>(p: SessionParams, fn: (s: Session) => Promise<T>): Promise<T> {
  const s = await Session.open(p);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}
