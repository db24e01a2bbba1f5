/**
 * The failover's states, inputs, actions and transition table. See machine.ts for the prose
 * description and the only function that moves between them.
 */
import type { PgvigilEvent } from '../events.js';
import type { Topology } from '../model.js';
import type { Timing } from '../spec.js';

/** Fixed for the whole failover; carried by every state after `idle`. */
export interface FailoverContext {
  cluster: string;
  /** the primary being replaced */
  from: string;
  sentinelId: string;
  kind: 'automatic' | 'manual';
  /** why it started, e.g. the decision's evidence */
  reason: string;
  startedMono: number;
  /** the old primary's last known pg_current_wal_lsn(); null when never seen */
  primaryLastLsn: number | null;
}

interface Active {
  ctx: FailoverContext;
  /** when this state was entered: its timeout counts from here */
  enteredMono: number;
}

/** After the CAS: `epoch` is the NEW epoch, `topology` the committed one. */
interface Committed extends Active {
  epoch: number;
  to: string;
  toReceivedLsn: number;
  topology: Topology;
  /** non-fatal trouble met on the way (a standby not repointed, old primary not fenced) */
  problems: readonly string[];
}

export type Outcome = 'completed' | 'degraded';

export type AbortReason =
  'no-candidate' | 'epoch-cas-lost' | 'timeout-selecting' | 'timeout-committing';

export type FailoverState =
  | { kind: 'idle' }
  | (Active & { kind: 'selecting'; epoch: number; prev: Topology })
  | (Active & {
      kind: 'committing';
      epoch: number;
      to: string;
      toReceivedLsn: number;
      next: Topology;
    })
  | (Committed & { kind: 'promoting' })
  | (Committed & { kind: 'repointing'; pending: readonly string[] })
  | (Committed & { kind: 'fencing'; promoted: boolean })
  | (Committed & { kind: 'publishing'; outcome: Outcome; publish: Topology; attempts: number })
  | {
      kind: 'done';
      ctx: FailoverContext;
      epoch: number;
      to: string;
      topology: Topology;
      outcome: Outcome;
      problems: readonly string[];
      durationMs: number;
      lostBytesUpperBound: number;
    }
  | {
      kind: 'aborted';
      ctx: FailoverContext;
      epoch: number;
      to: string | null;
      reason: AbortReason;
      detail: string;
    };

export type StateKind = FailoverState['kind'];

/**
 * The only allowed moves. No state from `promoting` on leads to `aborted`: once promotion may
 * have been sent, a failure is carried forward and reported, never rolled back.
 */
export const ALLOWED: Readonly<Record<StateKind, readonly StateKind[]>> = {
  idle: ['selecting'],
  selecting: ['committing', 'aborted'],
  committing: ['promoting', 'aborted'],
  promoting: ['repointing', 'fencing'],
  repointing: ['repointing', 'fencing'],
  fencing: ['publishing'],
  publishing: ['publishing', 'done'],
  done: ['idle'],
  aborted: ['idle'],
};

/** Results of the runtime's I/O (and the runtime's own `start`, `timeout`, `reset`). */
export type FailoverInput =
  | {
      type: 'start';
      topology: Topology;
      sentinelId: string;
      kind: 'automatic' | 'manual';
      reason: string;
      primaryLastLsn: number | null;
    }
  | { type: 'candidate-chosen'; to: string; receivedLsn: number }
  | { type: 'no-candidate'; detail: string }
  | { type: 'cas-committed' }
  | { type: 'cas-lost'; seenEpoch: number }
  | { type: 'promoted' }
  | { type: 'promote-failed'; error: string }
  | { type: 'repointed'; node: string; error?: string }
  | { type: 'fenced' }
  | { type: 'fence-unreachable'; error: string }
  | { type: 'published' }
  | { type: 'timeout' }
  | { type: 'reset' };

/** I/O the runtime runs next. Each carries the epoch to re-check just before it runs. */
export type FailoverAction =
  | { type: 'cas'; cluster: string; expectedEpoch: number; next: Topology }
  | { type: 'promote'; node: string; epoch: number }
  | { type: 'repoint'; nodes: string[]; to: string; epoch: number }
  | { type: 'fence'; node: string; epoch: number }
  | { type: 'publish-topology'; topology: Topology; epoch: number };

export interface Step {
  state: FailoverState;
  events: PgvigilEvent[];
  actions: FailoverAction[];
}

/** A clock reading: monotonic for durations and timeouts, wall for stored timestamps. */
export interface Now {
  mono: number;
  wall: number;
}

/** Publishing is retried on timeout this many times before the failover ends `degraded`. */
export const MAX_PUBLISH_ATTEMPTS = 3;

/** How long each state may wait for its I/O before the runtime sends `timeout`. */
export function stateTimeoutMs(kind: StateKind, timing: Timing): number | null {
  switch (kind) {
    case 'idle':
    case 'done':
    case 'aborted':
      return null;
    case 'selecting': // local work only: anything slower means the runtime is stuck
      return timing.downAfterMs;
    case 'committing':
    case 'publishing':
      return 2 * timing.redisTimeoutMs;
    case 'promoting':
      return timing.promoteTimeoutMs + timing.connectTimeoutMs;
    case 'repointing':
    case 'fencing':
      return timing.connectTimeoutMs + timing.queryTimeoutMs;
    default: {
      const never: never = kind;
      throw new Error(`unknown state ${String(never)}`);
    }
  }
}

/** Monotonic time at which the runtime must send `timeout`, or null for states that wait for nothing. */
export function deadlineMono(state: FailoverState, timing: Timing): number | null {
  const ms = stateTimeoutMs(state.kind, timing);
  return ms === null || !('enteredMono' in state) ? null : state.enteredMono + ms;
}
