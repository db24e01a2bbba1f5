/**
 * The automatic failover as an explicit state machine (types and table in states.ts).
 *
 * idle        Nothing running. `start` (the decision said `failover`) -> selecting.
 * selecting   Holds the topology and epoch e the decision was made under. `candidate-chosen`
 *             -> committing, asking for the epoch CAS e -> e+1; `no-candidate` -> aborted.
 * committing  Waiting for the CAS (safety rule 3). `cas-committed` -> promoting, emits
 *             failover-started and asks to promote; `cas-lost` -> aborted `epoch-cas-lost`:
 *             another sentinel owns epoch e+1, so NOTHING is promoted.
 * promoting   Promotion sent under epoch e+1. This is the point of no return: from here on a
 *             failure is carried forward and reported (in `problems` and a `degraded`
 *             topology), never rolled back, because the node may already accept writes.
 *             `promoted` -> repointing (or straight to fencing when no other standby exists),
 *             emitting topology-changed so clients can follow at once; `promote-failed` or
 *             `timeout` -> fencing, with the outcome marked degraded.
 * repointing  Other standbys are pointed at the new primary; `pending` shrinks with each
 *             `repointed` (a failure is a problem, not fatal: the agent rejoins it later).
 *             Empty, or `timeout` -> fencing.
 * fencing     The old primary is made read-only (rule 5). `fenced` (emits node-fenced),
 *             `fence-unreachable` or `timeout` (its agent self-fences after leaseMs) ->
 *             publishing.
 * publishing  The settled topology (`ok`, or `degraded` if promotion failed) is written at the
 *             same epoch. `published` -> done, emitting topology-changed and, when completed,
 *             failover-completed. `timeout` retries up to MAX_PUBLISH_ATTEMPTS, then done
 *             (degraded).
 * done        Terminal: outcome, problems, durationMs, lostBytesUpperBound. `reset` -> idle.
 * aborted     Terminal, reached only before promotion; emits failover-aborted. `reset` -> idle.
 *
 * `transition` is the only way to change state. It refuses an input the current state does
 * not accept and any move missing from ALLOWED, by throwing IllegalTransition (a runtime bug).
 */
import type { PgvigilEvent } from '../events.js';
import {
  type FailoverInput,
  type FailoverState,
  MAX_PUBLISH_ATTEMPTS,
  type Now,
  type Step,
} from './states.js';
import {
  abort,
  committed,
  expectKind,
  IllegalTransition,
  is,
  move,
  type Of,
  toDone,
  toFencing,
  toPublishing,
} from './steps.js';
import { nextTopology } from './topology.js';

export { IllegalTransition } from './steps.js';

function onTimeout(state: FailoverState, input: FailoverInput, now: Now): Step {
  switch (state.kind) {
    case 'selecting':
      return abort(state, 'timeout-selecting', 'no candidate chosen in time');
    case 'committing':
      // The CAS outcome is unknown: epoch e+1 may exist in Redis, in state failing-over.
      return abort(
        state,
        'timeout-committing',
        `CAS ${state.epoch} -> ${state.epoch + 1} unanswered; the epoch may be committed`,
      );
    case 'promoting':
      return toFencing(state, now, false, `promotion of ${state.to} timed out`);
    case 'repointing':
      return toFencing(state, now, true, `repoint timed out: ${state.pending.join(', ')}`);
    case 'fencing':
      return toPublishing(state, now, 'unknown', `fencing ${state.ctx.from} timed out`);
    case 'publishing': {
      if (state.attempts >= MAX_PUBLISH_ATTEMPTS) return toDone(state, now, false);
      const retry: Of<'publishing'> = {
        ...state,
        enteredMono: now.mono,
        attempts: state.attempts + 1,
      };
      return move(
        state,
        retry,
        [],
        [{ type: 'publish-topology', topology: state.publish, epoch: state.epoch }],
      );
    }
    case 'idle':
    case 'done':
    case 'aborted':
      throw new IllegalTransition(`input ${input.type} is not accepted in state ${state.kind}`);
    default: {
      const never: never = state;
      throw new IllegalTransition(`unknown state ${JSON.stringify(never)}`);
    }
  }
}

type In<T extends FailoverInput['type']> = Extract<FailoverInput, { type: T }>;

/** idle -> selecting: hold the topology and epoch the decision was made under. */
function onStart(s: Of<'idle'>, input: In<'start'>, now: Now): Step {
  const { topology: t } = input;
  const ctx = {
    cluster: t.cluster,
    from: t.primary,
    sentinelId: input.sentinelId,
    kind: input.kind,
    reason: input.reason,
    startedMono: now.mono,
    primaryLastLsn: input.primaryLastLsn,
  };
  return move(s, { kind: 'selecting', ctx, enteredMono: now.mono, epoch: t.epoch, prev: t });
}

/** selecting -> committing: ask for the CAS e -> e+1 onto the next topology. */
function onCandidateChosen(s: Of<'selecting'>, input: In<'candidate-chosen'>, now: Now): Step {
  const why = `${s.ctx.kind} failover ${s.ctx.from} -> ${input.to}: ${s.ctx.reason}`;
  const next = nextTopology(s.prev, input.to, now.wall, why, s.ctx.sentinelId, s.ctx.kind);
  const to: Of<'committing'> = {
    kind: 'committing',
    ctx: s.ctx,
    enteredMono: now.mono,
    epoch: s.epoch,
    to: input.to,
    toReceivedLsn: input.receivedLsn,
    next,
  };
  return move(s, to, [], [{ type: 'cas', cluster: s.ctx.cluster, expectedEpoch: s.epoch, next }]);
}

/** committing -> promoting: epoch e+1 is ours; emit failover-started and promote. */
function onCasCommitted(s: Of<'committing'>, now: Now): Step {
  const { ctx, to, next } = s;
  const promoting: Of<'promoting'> = {
    kind: 'promoting',
    ctx,
    enteredMono: now.mono,
    epoch: next.epoch,
    to,
    toReceivedLsn: s.toReceivedLsn,
    topology: next,
    problems: [],
  };
  const started: PgvigilEvent = {
    type: 'failover-started',
    cluster: ctx.cluster,
    epoch: next.epoch,
    from: ctx.from,
    to,
    kind: ctx.kind,
  };
  return move(s, promoting, [started], [{ type: 'promote', node: to, epoch: next.epoch }]);
}

/** promoting -> repointing (fencing when no other standby): emit topology-changed. */
function onPromoted(s: Of<'promoting'>, now: Now): Step {
  const changed: PgvigilEvent = {
    type: 'topology-changed',
    cluster: s.ctx.cluster,
    epoch: s.epoch,
    topology: s.topology,
  };
  const pending = s.topology.nodes
    .filter((n) => n.role === 'standby' && n.name !== s.ctx.from)
    .map((n) => n.name);
  if (pending.length === 0) {
    const step = toFencing(s, now, true);
    return { ...step, events: [changed, ...step.events] };
  }
  const next: Of<'repointing'> = {
    ...committed(s),
    kind: 'repointing',
    enteredMono: now.mono,
    pending,
  };
  return move(s, next, [changed], [{ type: 'repoint', nodes: pending, to: s.to, epoch: s.epoch }]);
}

/** repointing: one standby answered; fencing once none is pending. */
function onRepointed(s: Of<'repointing'>, input: In<'repointed'>, now: Now): Step {
  if (!s.pending.includes(input.node)) {
    throw new IllegalTransition(
      `repointed ${input.node}, which is not pending (${s.pending.join(', ')})`,
    );
  }
  const pending = s.pending.filter((n) => n !== input.node);
  const problems =
    input.error === undefined
      ? s.problems
      : [...s.problems, `repoint of ${input.node} failed: ${input.error}`];
  if (pending.length === 0) return toFencing({ ...s, problems }, now, true);
  return move(s, { ...s, pending, problems });
}

/** fencing -> publishing: emit node-fenced. */
function onFenced(s: Of<'fencing'>, now: Now): Step {
  const step = toPublishing(s, now, 'fenced');
  const fenced: PgvigilEvent = {
    type: 'node-fenced',
    cluster: s.ctx.cluster,
    epoch: s.epoch,
    node: s.ctx.from,
    by: s.ctx.sentinelId,
    reason: `failover to ${s.to} at epoch ${s.epoch}`,
  };
  return { ...step, events: [fenced, ...step.events] };
}

/** The only way to change a failover's state. Pure: the runtime runs the returned actions. */
export function transition(state: FailoverState, input: FailoverInput, now: Now): Step {
  switch (input.type) {
    case 'start':
      return onStart(expectKind(state, input, 'idle'), input, now);
    case 'candidate-chosen':
      return onCandidateChosen(expectKind(state, input, 'selecting'), input, now);
    case 'no-candidate':
      return abort(expectKind(state, input, 'selecting'), 'no-candidate', input.detail);
    case 'cas-committed':
      return onCasCommitted(expectKind(state, input, 'committing'), now);
    case 'cas-lost': {
      const s = expectKind(state, input, 'committing');
      return abort(
        s,
        'epoch-cas-lost',
        `epoch ${s.epoch + 1} was taken by another writer (seen ${input.seenEpoch})`,
      );
    }
    case 'promoted':
      return onPromoted(expectKind(state, input, 'promoting'), now);
    case 'promote-failed': {
      const s = expectKind(state, input, 'promoting');
      return toFencing(s, now, false, `promotion of ${s.to} failed: ${input.error}`);
    }
    case 'repointed':
      return onRepointed(expectKind(state, input, 'repointing'), input, now);
    case 'fenced':
      return onFenced(expectKind(state, input, 'fencing'), now);
    case 'fence-unreachable': {
      const s = expectKind(state, input, 'fencing');
      return toPublishing(
        s,
        now,
        'down',
        `${s.ctx.from} not fenced (unreachable: ${input.error}); its agent self-fences`,
      );
    }
    case 'published':
      return toDone(expectKind(state, input, 'publishing'), now, true);
    case 'timeout':
      return onTimeout(state, input, now);
    case 'reset':
      if (is(state, 'done') || is(state, 'aborted')) return move(state, { kind: 'idle' });
      throw new IllegalTransition(`reset is accepted only in done or aborted, not ${state.kind}`);
    default: {
      const never: never = input;
      throw new IllegalTransition(`unknown input ${JSON.stringify(never)}`);
    }
  }
}

export const IDLE: FailoverState = { kind: 'idle' };
