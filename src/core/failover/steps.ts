/**
 * Building blocks of `transition` (machine.ts), internal to this folder: every one of them
 * produces its new state through `move`, which checks ALLOWED. Nothing outside machine.ts
 * may import this file.
 */
import { PgvigilError } from '../errors.js';
import type { PgvigilEvent } from '../events.js';
import {
  ALLOWED,
  type FailoverInput,
  type FailoverState,
  type Now,
  type StateKind,
  type Step,
} from './states.js';
import { settleTopology } from './topology.js';

export class IllegalTransition extends PgvigilError {}

export type Of<K extends StateKind> = Extract<FailoverState, { kind: K }>;
export type Committed = Of<'promoting' | 'repointing' | 'fencing' | 'publishing'>;

export function is<K extends StateKind>(state: FailoverState, kind: K): state is Of<K> {
  return state.kind === kind;
}

export function expectKind<K extends StateKind>(
  state: FailoverState,
  input: FailoverInput,
  kind: K,
): Of<K> {
  if (is(state, kind)) return state;
  throw new IllegalTransition(
    `input ${input.type} is not accepted in state ${state.kind} (only in ${kind})`,
  );
}

/** Moves to `to` after checking the table; the single place where a new state is produced. */
export function move(
  from: FailoverState,
  to: FailoverState,
  events: PgvigilEvent[] = [],
  actions: Step['actions'] = [],
): Step {
  if (!ALLOWED[from.kind].includes(to.kind)) {
    throw new IllegalTransition(`transition ${from.kind} -> ${to.kind} is not allowed`);
  }
  return { state: to, events, actions };
}

export function abort(
  s: Of<'selecting' | 'committing'>,
  reason: Of<'aborted'>['reason'],
  detail: string,
): Step {
  const to = s.kind === 'committing' ? s.to : null;
  const event: PgvigilEvent = {
    type: 'failover-aborted',
    cluster: s.ctx.cluster,
    epoch: s.epoch,
    reason,
    from: s.ctx.from,
    ...(to === null ? {} : { to }),
  };
  return move(s, { kind: 'aborted', ctx: s.ctx, epoch: s.epoch, to, reason, detail }, [event]);
}

export function committed(s: Committed): Omit<Of<'promoting'>, 'kind'> {
  const { ctx, enteredMono, epoch, to, toReceivedLsn, topology, problems } = s;
  return { ctx, enteredMono, epoch, to, toReceivedLsn, topology, problems };
}

export function toFencing(s: Committed, now: Now, promoted: boolean, problem?: string): Step {
  const problems = problem === undefined ? s.problems : [...s.problems, problem];
  const next: Of<'fencing'> = {
    ...committed(s),
    kind: 'fencing',
    enteredMono: now.mono,
    problems,
    promoted,
  };
  return move(s, next, [], [{ type: 'fence', node: s.ctx.from, epoch: s.epoch }]);
}

export function toPublishing(
  s: Of<'fencing'>,
  now: Now,
  fromState: 'fenced' | 'down' | 'unknown',
  problem?: string,
): Step {
  const problems = problem === undefined ? s.problems : [...s.problems, problem];
  const outcome = s.promoted ? 'completed' : 'degraded';
  const publish = settleTopology(s.topology, {
    nowWall: now.wall,
    state: s.promoted ? 'ok' : 'degraded',
    reason: s.promoted
      ? s.topology.reason
      : `${s.topology.reason}; promotion of ${s.to} not confirmed: ${problems.join('; ')}`,
    nodeStates: { [s.ctx.from]: fromState },
  });
  const next: Of<'publishing'> = {
    ...committed(s),
    kind: 'publishing',
    enteredMono: now.mono,
    problems,
    outcome,
    publish,
    attempts: 1,
  };
  return move(s, next, [], [{ type: 'publish-topology', topology: publish, epoch: s.epoch }]);
}

export function toDone(s: Of<'publishing'>, now: Now, published: boolean): Step {
  const { ctx, epoch, to } = s;
  const durationMs = now.mono - ctx.startedMono;
  const lostBytesUpperBound =
    ctx.primaryLastLsn === null ? 0 : Math.max(0, ctx.primaryLastLsn - s.toReceivedLsn);
  const outcome = published ? s.outcome : 'degraded';
  const problems = published
    ? s.problems
    : [...s.problems, `topology not published after ${s.attempts} attempts`];
  const events: PgvigilEvent[] = [];
  if (published)
    events.push({ type: 'topology-changed', cluster: ctx.cluster, epoch, topology: s.publish });
  if (outcome === 'completed') {
    events.push({
      type: 'failover-completed',
      cluster: ctx.cluster,
      epoch,
      from: ctx.from,
      to,
      durationMs,
      lostBytesUpperBound,
    });
  }
  const topology = published ? s.publish : s.topology;
  return move(
    s,
    { kind: 'done', ctx, epoch, to, topology, outcome, problems, durationMs, lostBytesUpperBound },
    events,
  );
}
