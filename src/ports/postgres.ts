/**
 * Postgres probe and control port: what a sentinel does to a node, over SQL only.
 *
 * Error contract:
 * - `probe` never throws: a failure is a ProbeResult with ok=false and a `failure` kind.
 *   It keeps one persistent connection per node (reconnecting only after a failure), with
 *   connect and query timeouts well under `downAfterMs`.
 * - control calls throw `PostgresUnreachable` when the node cannot be reached and
 *   `PostgresCommandFailed` when it answered with an error.
 */
import type { LocalObservation } from '../core/agent/model.js';
import type { NodeSpec, ProbeResult } from '../core/model.js';

export interface ProbeOptions {
  /** monotonic clock in ms, for `atMono` */
  nowMono: () => number;
  /** sentinel id, the row key of the heartbeat */
  sentinel: string;
  /** whether to commit a heartbeat row (only when the node answers as a primary) */
  heartbeat: boolean;
}

export interface NodeControl {
  /** `pg_promote(true, timeoutS)` then `CHECKPOINT`; returns when the node writes. */
  promote(node: NodeSpec, timeoutMs: number): Promise<void>;
  /** Stamp `pgvigil.epoch` on a primary. */
  stampEpoch(node: NodeSpec, epoch: number, primary: string): Promise<void>;
  /** Create a physical slot if missing (slots are not replicated in PG 15). */
  ensureSlot(node: NodeSpec, slot: string): Promise<void>;
  /** ALTER SYSTEM primary_conninfo/primary_slot_name + pg_reload_conf(). */
  repoint(node: NodeSpec, primary: NodeSpec, slot: string): Promise<void>;
  /** Read-only (ALTER SYSTEM default_transaction_read_only + reload) and end client sessions. */
  fence(node: NodeSpec): Promise<void>;
  /** Undo fence (used when a failover is aborted after fencing was not reached). */
  unfence(node: NodeSpec): Promise<void>;
  /**
   * Sync mode, on a primary: `ALTER SYSTEM SET synchronous_standby_names = value` +
   * `pg_reload_conf()`, resolving once the node's new sessions see the value. `''` = no
   * synchronous standby (waiting commits are released). Refuses a node in recovery
   * (PostgresCommandFailed).
   */
  setSyncStandbyNames(node: NodeSpec, value: string): Promise<void>;
}

export interface PostgresPort extends NodeControl {
  probe(node: NodeSpec, opts: ProbeOptions): Promise<ProbeResult>;
  close(): Promise<void>;
}

/**
 * The agent's view of its own postgres (adapters/postgres/local-observer.ts): process state
 * plus one query on one persistent local session. `observe` never throws (an error is part of
 * the observation); the two checks answer false when the node cannot be asked.
 */
export interface LocalNodeObserver {
  observe(): Promise<LocalObservation>;
  /** `node` is still in recovery (not yet a source to rewind or copy from); throws when unreachable */
  inRecovery(node: NodeSpec): Promise<boolean>;
  /** the local WAL receiver streams from `primary` */
  streamsFrom(primary: NodeSpec): Promise<boolean>;
  close(): void;
}
