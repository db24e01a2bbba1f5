/**
 * What the agent sees of its own postgres each loop: process state from postmaster.pid and
 * /proc (no connection needed), then, when it runs, one query on one persistent local
 * session (the cluster's superuser; reconnecting only after a failure). Never throws.
 */
import { Session, type SessionParams } from '../adapters/postgres/session.js';
import type { LocalPostgres } from '../adapters/process/index.js';
import { upstreamOf } from '../core/agent/conninfo.js';
import type { LocalObservation } from '../core/agent/model.js';

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

export class LocalObserver {
  readonly #pg: LocalPostgres;
  readonly #params: SessionParams;
  #session: Session | null = null;

  constructor(pg: LocalPostgres, params: SessionParams) {
    this.#pg = pg;
    this.#params = params;
  }

  async observe(): Promise<LocalObservation> {
    const st = this.#pg.state();
    const base: LocalObservation = {
      running: st.running,
      reachable: false,
      role: null,
      fenced: false,
      standbySignal: st.standbySignal,
      upstream: null,
      slot: null,
      walReceiver: null,
      replayedLsn: null,
      senderEndLsn: null,
    };
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

  close(): void {
    this.#session?.destroy();
    this.#session = null;
  }
}
