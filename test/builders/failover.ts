/**
 * Helpers to drive the failover machine in tests: the inputs of a typical failover of pg1
 * (epoch 7) to pg2, and `run`, which feeds inputs 100 ms apart from T0.
 */
import { IDLE, transition } from '../../src/core/failover/machine.js';
import type {
  FailoverInput,
  FailoverState,
  StateKind,
  Step,
} from '../../src/core/failover/states.js';
import type { Topology } from '../../src/core/model.js';
import { NOW_WALL } from './timing.js';
import { aTopology } from './topology.js';

export const T0 = 1000;
export const topology = aTopology(); // epoch 7: pg1 primary, pg2 and pg3 standbys
export const start = (
  t: Topology = topology,
  primaryLastLsn: number | null = 5_000_000,
): FailoverInput => ({
  type: 'start',
  topology: t,
  sentinelId: 's1',
  kind: 'automatic',
  reason: 'primary-odown',
  primaryLastLsn,
});
export const chosen = (receivedLsn = 4_999_000): FailoverInput => ({
  type: 'candidate-chosen',
  to: 'pg2',
  receivedLsn,
});

/** Feeds inputs 100 ms apart from T0; returns every step. */
export function run(inputs: FailoverInput[], from: FailoverState = IDLE): Step[] {
  const steps: Step[] = [];
  let state = from;
  inputs.forEach((input, i) => {
    const step = transition(state, input, { mono: T0 + i * 100, wall: NOW_WALL + i * 100 });
    steps.push(step);
    state = step.state;
  });
  return steps;
}
export const last = (steps: Step[]): Step => steps.at(-1)!;
export const kinds = (steps: Step[]): StateKind[] => steps.map((s) => s.state.kind);
export const events = (steps: Step[]): string[] =>
  steps.flatMap((s) => s.events.map((e) => e.type));
export const actions = (steps: Step[]): string[] =>
  steps.flatMap((s) => s.actions.map((a) => a.type));

export const happy: FailoverInput[] = [
  start(),
  chosen(),
  { type: 'cas-committed' },
  { type: 'promoted' },
  { type: 'repointed', node: 'pg3' },
  { type: 'fenced' },
  { type: 'published' },
  { type: 'reset' },
];
