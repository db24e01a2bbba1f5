/**
 * What a node agent decides from: one snapshot per loop, plain values only.
 *
 * Times: `*Mono` are monotonic ms, `*Wall` wall-clock epoch ms (the verdict is stamped by
 * another process, so its freshness can only be judged on the wall clock).
 */
import type { NodeRole, Topology } from '../model.js';
import type { Timing } from '../spec.js';

/** What the agent sees of its own postgres this loop. */
export interface LocalObservation {
  /** postmaster.pid names a live process */
  running: boolean;
  /** the local SQL session answered this loop */
  reachable: boolean;
  /** pg_is_in_recovery(), when reachable */
  role: NodeRole | null;
  /** default_transaction_read_only is on (fenced), when reachable */
  fenced: boolean;
  /** `standby.signal` exists in the data directory */
  standbySignal: boolean;
  /** host/port of primary_conninfo, when set (standby) */
  upstream: { host: string; port: number } | null;
  /** primary_slot_name, when set */
  slot: string | null;
  /** pg_stat_wal_receiver, absent when no receiver runs */
  walReceiver: { status: string; senderHost: string | null; senderPort: number | null } | null;
  /** standby: pg_last_wal_replay_lsn() in bytes */
  replayedLsn: number | null;
  /** standby: the sender's WAL end as last reported to the receiver (latest_end_lsn) */
  senderEndLsn: number | null;
  /** why the SQL session did not answer, when running but not reachable */
  error?: string;
}

/** The observation of a postgres that did not (yet) answer SQL: only its process state. */
export function processOnlyObservation(st: {
  running: boolean;
  standbySignal: boolean;
}): LocalObservation {
  return {
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
}

/**
 * The sentinel leader's verdict, written every tick to the record `verdict` (a contract with
 * the sentinel loop): what it decided about the primary of `epoch` and since when that
 * reason holds. `reason` is a core DecisionReason ('no-candidate', 'paused', 'no-quorum', ...).
 */
export interface Verdict {
  id: string;
  atWall: number;
  epoch: number;
  primary: string;
  kind: 'observe' | 'vote-down' | 'failover';
  reason: string;
  /** wall ms since which `reason` holds without a break */
  sinceWall: number;
  /** the leader that wrote it */
  by?: string;
}

export interface AgentSnapshot {
  node: string;
  nowMono: number;
  nowWall: number;
  timing: Pick<Timing, 'leaseMs' | 'downAfterMs'>;
  /** the newest topology read (may be stale when `coordinationOk` is false); null: none yet */
  topology: Topology | null;
  /** this loop's topology read answered from a Redis majority */
  coordinationOk: boolean;
  /** last loop whose majority read named this node the primary (the agent's start when never) */
  lastConfirmMono: number;
  local: LocalObservation;
  /** read only when `needsVerdict(snapshot)`; null otherwise or when none is stored */
  verdict: Verdict | null;
}

/** Reason codes: tests and status assert on these, logs print them. */
export type AgentReason =
  // nothing to do
  | 'not-in-topology'
  | 'switching-over'
  | 'primary-confirmed'
  | 'lease-held'
  | 'fenced-lease-lost'
  | 'standby-ok'
  | 'standby-stale-topology'
  | 'awaiting-promotion'
  // wait and look again
  | 'no-topology'
  | 'unreachable'
  | 'no-coordination'
  | 'demoted-fenced'
  | 'failover-in-progress'
  | 'verdict-missing'
  | 'verdict-stale'
  | 'verdict-other-epoch'
  | 'no-quorum-too-short'
  | 'failover-possible'
  // act
  | 'lease-expired'
  | 'lease-confirmed'
  | 'demoted'
  | 'wrong-upstream'
  | 'stopped-standby'
  | 'stopped-old-primary'
  | 'standby-as-is'
  | 'no-failover-verdict';

interface Base {
  reason: AgentReason;
  evidence: string;
}

/**
 * `none`: healthy or hands off; `wait`: something must change first (logged once per change);
 * `fence`/`unfence`: self-fencing (rule 5); `rejoin`: become a standby of `primary`;
 * `repoint`: a running standby follows the wrong upstream; `start`: start the stopped
 * postgres as it is (`primary`: only on a no-failover verdict).
 */
export type AgentDecision =
  | (Base & { kind: 'none' | 'wait' })
  | (Base & { kind: 'fence' | 'unfence'; epoch: number })
  | (Base & {
      kind: 'rejoin';
      epoch: number;
      primary: string;
      /** a running primary: fence it before stopping it */
      fenceFirst: boolean;
      /** try pg_rewind first (the node may hold WAL the new primary never had) */
      rewind: boolean;
    })
  | (Base & { kind: 'repoint'; epoch: number; primary: string })
  | (Base & { kind: 'start'; epoch: number; as: 'primary' | 'standby' });

export type AgentDecisionKind = AgentDecision['kind'];
