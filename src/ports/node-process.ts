/**
 * Process control port: the agent's hands on its own postgres data directory (pg_ctl,
 * pg_controldata, pg_rewind, pg_basebackup; src/adapters/process). The adapter holds the
 * credentials these need (the superuser for pg_rewind, the replication role for base backups
 * and primary_conninfo): the agent runtime never sees a secret.
 *
 * Errors: `PostgresCommandFailed` when a program fails (its last lines in the message);
 * `UserError` when postgres cannot start (port in use, bad data directory).
 */
import type { NodeSpec } from '../core/spec.js';

export interface ProcessState {
  running: boolean;
  pid: number | null;
  standbySignal: boolean;
  /**
   * The postmaster is stopped by a signal (SIGSTOP, a debugger; /proc state T): it serves
   * nothing now, and will serve again the moment it is continued.
   */
  frozen: boolean;
}

export interface ControlData {
  /** `shut down`, `shut down in recovery`, `in production`, `in archive recovery`, ... */
  state: string;
  checkpointLsnText: string;
  checkpointLsn: number;
  /** Latest checkpoint's TimeLineID */
  timeline: number;
}

export interface NodeProcess {
  readonly dataDir: string;
  /** from postmaster.pid and /proc: no connection needed */
  state(): ProcessState;
  /** a crashed postmaster's children and stale lock files are cleared (no-op while it runs) */
  clearOrphans(): Promise<void>;
  /** pg_ctl start -w: resolves once it accepts connections, with the postmaster PID */
  start(): Promise<number>;
  /** pg_ctl stop -m mode -w (SIGKILL of every process when that fails: check controlData) */
  stop(mode?: 'smart' | 'fast' | 'immediate'): Promise<void>;
  controlData(): Promise<ControlData>;
  /**
   * The stopped data directory becomes a standby of `primary`: standby.signal, node-local
   * settings (port, primary_conninfo, primary_slot_name = node), no fence left over.
   */
  configureStandby(primary: NodeSpec): void;
  /**
   * pg_rewind from `primary` (stopped data directory), keeping this node's configuration
   * files. `changed: false` when pg_rewind found nothing to do.
   */
  rewind(primary: NodeSpec): Promise<{ output: string; changed: boolean }>;
  /**
   * A fresh pg_basebackup from `primary` streaming through `slot`: the old data directory is
   * moved aside to `<dataDir>.old-<stamp>` first (removed afterwards unless `keepOld`), this
   * node's configuration files are kept. `onMovedAside` hears where the old one went at once
   * (before the copy, which may fail).
   */
  baseBackup(
    primary: NodeSpec,
    o: { slot: string; stamp: string; keepOld: boolean; onMovedAside?: (aside: string) => void },
  ): Promise<{ aside: string | null }>;
}
