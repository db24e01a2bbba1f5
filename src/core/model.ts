/**
 * The data every decision is made from. Plain values only: no classes, no I/O.
 *
 * Times: `now`/`at` fields named `*Mono` are monotonic milliseconds (performance.now() in the
 * runtime); fields named `*Wall` are wall-clock epoch milliseconds. Core never reads a clock.
 * LSNs are byte positions as numbers (exact up to 2^53 bytes = 8 PiB of WAL).
 */

export type NodeRole = 'primary' | 'standby';

/** Why a probe failed. `refused` is surer evidence (postmaster gone) than `timeout`. */
export type ProbeFailure =
  | 'refused' // ECONNREFUSED / ECONNRESET / "the database system is shutting down"
  | 'timeout' // connect or statement timed out: hung or partitioned
  | 'write-failed' // connected, but the heartbeat could not commit (disk full, read-only, stuck I/O)
  | 'auth' // authentication failed: a config problem, still no evidence of health
  | 'error'; // anything else

/** What one probe of one node saw. */
export interface ProbeResult {
  node: string;
  ok: boolean;
  failure?: ProbeFailure;
  message?: string;
  /** monotonic ms when the probe finished */
  atMono: number;
  durationMs: number;
  role?: NodeRole;
  /** primary: pg_current_wal_lsn(); standby: pg_last_wal_receive_lsn() */
  currentLsn?: number;
  receivedLsn?: number;
  replayedLsn?: number;
  /** standby: seconds since last replayed transaction when behind, 0 when caught up */
  lagSeconds?: number;
  /** primary: one row per connected standby (pg_stat_replication, application_name = node name) */
  replicas?: ReplicaStat[];
  /** standby: pg_stat_wal_receiver, absent when no receiver runs */
  walReceiver?: WalReceiverStat;
  /** epoch stamped in pgvigil.epoch on this node, when readable */
  stampedEpoch?: number;
  /** primary: current_setting('synchronous_standby_names'), as this probe's session sees it */
  syncStandbyNames?: string;
}

export interface ReplicaStat {
  name: string;
  state: string; // streaming, catchup, ...
  syncState: string; // async, sync, potential, quorum
  sentLsn: number;
  replayLsn: number;
  lagBytes: number;
  replayLagSeconds: number | null;
}

export interface WalReceiverStat {
  status: string; // streaming, waiting, ...
  senderHost: string | null;
  senderPort: number | null;
  /** ms since the receiver last heard from its sender, computed by the server */
  lastMsgAgeMs: number;
  receivedLsn: number;
}

/** Static description of a node, from config. */
export type { NodeSpec } from './spec.js';

export type TopologyState = 'ok' | 'failing-over' | 'switching-over' | 'degraded';

export interface TopologyNode {
  name: string;
  host: string;
  port: number;
  role: NodeRole;
  state: 'up' | 'down' | 'fenced' | 'unknown';
}

/** The committed topology, as stored in `pgvigil:<c>:topology`. */
export interface Topology {
  cluster: string;
  epoch: number;
  primary: string;
  nodes: TopologyNode[];
  syncStandbys: string[];
  state: TopologyState;
  updatedAt: string; // ISO 8601
  reason: string;
  /** the primary before the last failover/switchover (failback target when no preferredPrimary) */
  previousPrimary?: string;
  /** wall ms of the last automatic failover (cooldown, rule 6) */
  lastFailoverWall?: number;
  /** sentinel that committed this epoch */
  committedBy?: string;
  /** nodes fenced by the operator (`pgvigil fence`), absent when none (fence-mark.ts) */
  fenced?: string[];
}

/** One sentinel's down opinion, as stored in `pgvigil:<c>:vote:<sentinel>` (with a TTL). */
export interface Vote {
  sentinel: string;
  /** epoch of the topology whose primary this vote is about */
  epoch: number;
  primary: string;
  down: boolean;
  reason: string;
  atWall: number;
}

/** Sentinel presence, `pgvigil:<c>:sentinel:<id>` (with a TTL). */
export interface SentinelPresence {
  id: string;
  api: string | null;
  leader: boolean;
  atWall: number;
  tilt: boolean;
  version: string;
  /** this sentinel's view of each node, so `status` can show lag without calling every API */
  view?: Record<string, NodeView>;
  /** the leader's view of the primary's replication slots */
  slots?: SlotView[];
}

/** A replication slot on the primary and the WAL it holds back. */
export interface SlotView {
  name: string;
  active: boolean;
  /** bytes of WAL kept for it (current LSN - restart_lsn); null when it has none */
  retainedBytes: number | null;
  /** pg_replication_slots.wal_status: reserved, extended, unreserved, lost */
  walStatus: string | null;
}

export interface NodeView {
  up: boolean;
  role: NodeRole | null;
  lagBytes: number | null;
  lagSeconds: number | null;
  evidence: string;
}

export interface PauseState {
  paused: boolean;
  by?: string;
  atWall?: number;
  reason?: string;
}
