import { describe, expect, it } from 'vitest';

import { IDLE, IllegalTransition, transition } from '../../../src/core/failover/machine.js';
import {
  ALLOWED,
  deadlineMono,
  type FailoverInput,
  type FailoverState,
  type StateKind,
  type Step,
} from '../../../src/core/failover/states.js';
import type { Topology } from '../../../src/core/model.js';
import { aTiming, aTopology, NOW_WALL } from '../../builders/index.js';

const T0 = 1000;
const topology = aTopology(); // epoch 7: pg1 primary, pg2 and pg3 standbys
const start = (
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
const chosen = (receivedLsn = 4_999_000): FailoverInput => ({
  type: 'candidate-chosen',
  to: 'pg2',
  receivedLsn,
});

/** Feeds inputs 100 ms apart from T0; returns every step. */
function run(inputs: FailoverInput[], from: FailoverState = IDLE): Step[] {
  const steps: Step[] = [];
  let state = from;
  inputs.forEach((input, i) => {
    const step = transition(state, input, { mono: T0 + i * 100, wall: NOW_WALL + i * 100 });
    steps.push(step);
    state = step.state;
  });
  return steps;
}
const last = (steps: Step[]): Step => steps.at(-1)!;
const kinds = (steps: Step[]): StateKind[] => steps.map((s) => s.state.kind);
const events = (steps: Step[]): string[] => steps.flatMap((s) => s.events.map((e) => e.type));
const actions = (steps: Step[]): string[] => steps.flatMap((s) => s.actions.map((a) => a.type));

const happy: FailoverInput[] = [
  start(),
  chosen(),
  { type: 'cas-committed' },
  { type: 'promoted' },
  { type: 'repointed', node: 'pg3' },
  { type: 'fenced' },
  { type: 'published' },
  { type: 'reset' },
];

describe('failover machine: the happy path', () => {
  const steps = run(happy);

  it('walks every state in order', () => {
    expect(kinds(steps)).toEqual([
      'selecting',
      'committing',
      'promoting',
      'repointing',
      'fencing',
      'publishing',
      'done',
      'idle',
    ]);
  });

  it('asks for the I/O in order, each action carrying its epoch', () => {
    expect(steps.map((s) => s.actions)).toEqual([
      [],
      [
        {
          type: 'cas',
          cluster: 'c1',
          expectedEpoch: 7,
          next: expect.objectContaining({ epoch: 8, primary: 'pg2', state: 'failing-over' }),
        },
      ],
      [{ type: 'promote', node: 'pg2', epoch: 8 }],
      [{ type: 'repoint', nodes: ['pg3'], to: 'pg2', epoch: 8 }],
      [{ type: 'fence', node: 'pg1', epoch: 8 }],
      [
        {
          type: 'publish-topology',
          epoch: 8,
          topology: expect.objectContaining({ epoch: 8, primary: 'pg2', state: 'ok' }),
        },
      ],
      [],
      [],
    ]);
  });

  it('emits started on commit, topology on promotion, fenced, then topology and completed', () => {
    expect(steps.map((s) => s.events.map((e) => e.type))).toEqual([
      [],
      [],
      ['failover-started'],
      ['topology-changed'],
      [],
      ['node-fenced'],
      ['topology-changed', 'failover-completed'],
      [],
    ]);
    expect(steps[2]!.events[0]).toEqual({
      type: 'failover-started',
      cluster: 'c1',
      epoch: 8,
      from: 'pg1',
      to: 'pg2',
      kind: 'automatic',
    });
    // published 600 ms after start; old primary at 5_000_000, pg2 had received 4_999_000
    expect(steps[6]!.events[1]).toEqual({
      type: 'failover-completed',
      cluster: 'c1',
      epoch: 8,
      from: 'pg1',
      to: 'pg2',
      durationMs: 600,
      lostBytesUpperBound: 1000,
    });
  });

  it('publishes the old primary as fenced and ends completed', () => {
    const done = steps[6]!.state;
    expect(done).toMatchObject({
      kind: 'done',
      outcome: 'completed',
      problems: [],
      epoch: 8,
      to: 'pg2',
    });
    if (done.kind !== 'done') throw new Error('not done');
    expect(done.topology.nodes.find((n) => n.name === 'pg1')).toMatchObject({
      role: 'standby',
      state: 'fenced',
    });
  });
});

describe('failover machine: the table', () => {
  const scenarios: FailoverInput[][] = [
    happy,
    [start(), chosen(), { type: 'cas-lost', seenEpoch: 8 }, { type: 'reset' }],
    [start(), { type: 'no-candidate', detail: 'pg2: no-failover-tag' }],
    [
      start(),
      chosen(),
      { type: 'cas-committed' },
      { type: 'promote-failed', error: 'timeout' },
      { type: 'fence-unreachable', error: 'ECONNREFUSED' },
      { type: 'published' },
    ],
    [start(), { type: 'timeout' }],
    [start(), chosen(), { type: 'timeout' }],
    [
      start(),
      chosen(),
      { type: 'cas-committed' },
      { type: 'timeout' },
      { type: 'timeout' },
      { type: 'timeout' },
      { type: 'timeout' },
      { type: 'timeout' },
    ],
    [start(), chosen(), { type: 'cas-committed' }, { type: 'promoted' }, { type: 'timeout' }],
  ];
  const fourNodes = aTopology({
    nodes: [
      ...topology.nodes,
      { name: 'pg4', host: '10.0.0.4', port: 5432, role: 'standby', state: 'up' },
    ],
  });
  const twoNodes = aTopology({ nodes: topology.nodes.slice(0, 2) });
  const more: [FailoverInput[], Topology][] = [
    [
      [
        chosen(),
        { type: 'cas-committed' },
        { type: 'promoted' },
        { type: 'repointed', node: 'pg4' },
        { type: 'repointed', node: 'pg3', error: 'refused' },
        { type: 'fenced' },
        { type: 'timeout' },
        { type: 'published' },
      ],
      fourNodes,
    ],
    [
      [
        chosen(),
        { type: 'cas-committed' },
        { type: 'promoted' },
        { type: 'fenced' },
        { type: 'published' },
      ],
      twoNodes,
    ],
  ];
  const runs = [
    ...scenarios.map((s) => run(s)),
    ...more.map(([inputs, t]) => run([start(t), ...inputs])),
  ];

  it('exercises every allowed transition', () => {
    const seen = new Set<string>();
    for (const steps of runs) {
      let from: StateKind = 'idle';
      for (const s of steps) {
        seen.add(`${from}->${s.state.kind}`);
        from = s.state.kind;
      }
    }
    const allowed = Object.entries(ALLOWED).flatMap(([from, tos]) =>
      tos.map((to) => `${from}->${to}`),
    );
    expect([...seen].sort()).toEqual(allowed.sort());
  });

  it('has no path to aborted once promotion may have been sent', () => {
    const reachable = new Set<StateKind>(['promoting']);
    for (const k of reachable)
      for (const next of ALLOWED[k]) if (next !== 'idle') reachable.add(next);
    expect([...reachable].sort()).toEqual([
      'done',
      'fencing',
      'promoting',
      'publishing',
      'repointing',
    ]);
  });

  const illegal: [string, FailoverInput[], FailoverInput][] = [
    ['promoted while idle', [], { type: 'promoted' }],
    ['timeout while idle', [], { type: 'timeout' }],
    ['cas-committed before a candidate', [start()], { type: 'cas-committed' }],
    ['promoted before the CAS', [start(), chosen()], { type: 'promoted' }],
    [
      'cas-lost after promotion was sent',
      [start(), chosen(), { type: 'cas-committed' }],
      { type: 'cas-lost', seenEpoch: 9 },
    ],
    [
      'no-candidate after promotion was sent',
      [start(), chosen(), { type: 'cas-committed' }],
      { type: 'no-candidate', detail: 'x' },
    ],
    ['reset in the middle', [start(), chosen(), { type: 'cas-committed' }], { type: 'reset' }],
    [
      'repointed of a node not pending',
      [start(), chosen(), { type: 'cas-committed' }, { type: 'promoted' }],
      { type: 'repointed', node: 'pg1' },
    ],
    ['start again without reset', happy.slice(0, 7), start()],
    ['timeout once aborted', [start(), { type: 'no-candidate', detail: 'x' }], { type: 'timeout' }],
  ];

  it.each(illegal)('throws on %s', (_name, before, input) => {
    const state = before.length === 0 ? IDLE : last(run(before)).state;
    expect(() => transition(state, input, { mono: 0, wall: 0 })).toThrow(IllegalTransition);
  });
});

describe('failover machine: abort only before promotion', () => {
  it('a lost CAS aborts with epoch-cas-lost and never promotes', () => {
    const steps = run([start(), chosen(), { type: 'cas-lost', seenEpoch: 8 }]);
    expect(last(steps).state).toMatchObject({
      kind: 'aborted',
      reason: 'epoch-cas-lost',
      epoch: 7,
      to: 'pg2',
    });
    expect(actions(steps)).toEqual(['cas']);
    expect(events(steps)).toEqual(['failover-aborted']);
    expect(last(steps).events[0]).toEqual({
      type: 'failover-aborted',
      cluster: 'c1',
      epoch: 7,
      reason: 'epoch-cas-lost',
      from: 'pg1',
      to: 'pg2',
    });
  });

  it('no candidate aborts without any I/O', () => {
    const steps = run([start(), { type: 'no-candidate', detail: 'every standby noFailover' }]);
    expect(last(steps).state).toMatchObject({ kind: 'aborted', reason: 'no-candidate', to: null });
    expect(actions(steps)).toEqual([]);
  });

  it.each([
    ['promote-failed', { type: 'promote-failed', error: 'pg_promote timed out' } as FailoverInput],
    ['timeout', { type: 'timeout' } as FailoverInput],
  ])('a %s after promotion was sent is carried forward, not an abort', (_name, failure) => {
    const steps = run([
      start(),
      chosen(),
      { type: 'cas-committed' },
      failure,
      { type: 'fenced' },
      { type: 'published' },
    ]);
    expect(kinds(steps)).toEqual([
      'selecting',
      'committing',
      'promoting',
      'fencing',
      'publishing',
      'done',
    ]);
    expect(steps[3]!.actions).toEqual([{ type: 'fence', node: 'pg1', epoch: 8 }]);
    expect(events(steps)).toEqual(['failover-started', 'node-fenced', 'topology-changed']);
    const done = last(steps).state;
    expect(done).toMatchObject({ kind: 'done', outcome: 'degraded', epoch: 8, to: 'pg2' });
    if (done.kind !== 'done') throw new Error('not done');
    // no rollback: epoch 8 with pg2 as primary stands, marked degraded with the reason
    expect(done.topology).toMatchObject({ epoch: 8, primary: 'pg2', state: 'degraded' });
    expect(done.problems[0]).toMatch(/promotion of pg2/);
  });
});

describe('failover machine: details', () => {
  it('lost bytes are floored at 0 and 0 when the old primary LSN is unknown', () => {
    const tail: FailoverInput[] = [
      { type: 'cas-committed' },
      { type: 'promoted' },
      { type: 'repointed', node: 'pg3' },
      { type: 'fenced' },
      { type: 'published' },
    ];
    const ahead = last(run([start(), chosen(5_000_100), ...tail])).state;
    const unknown = last(run([start(topology, null), chosen(), ...tail])).state;
    expect([ahead, unknown].map((s) => (s.kind === 'done' ? s.lostBytesUpperBound : -1))).toEqual([
      0, 0,
    ]);
  });

  it('records problems that do not stop the failover', () => {
    const steps = run([
      start(),
      chosen(),
      { type: 'cas-committed' },
      { type: 'promoted' },
      { type: 'repointed', node: 'pg3', error: 'refused' },
      { type: 'fence-unreachable', error: 'timeout' },
      { type: 'published' },
    ]);
    const done = last(steps).state;
    expect(done).toMatchObject({ kind: 'done', outcome: 'completed' });
    if (done.kind !== 'done') throw new Error('not done');
    expect(done.problems).toHaveLength(2);
    expect(done.topology.nodes.find((n) => n.name === 'pg1')?.state).toBe('down');
    expect(events(steps)).not.toContain('node-fenced');
  });

  it('retries publishing, then ends degraded', () => {
    const steps = run([
      start(),
      chosen(),
      { type: 'cas-committed' },
      { type: 'promoted' },
      { type: 'repointed', node: 'pg3' },
      { type: 'fenced' },
      { type: 'timeout' },
      { type: 'timeout' },
      { type: 'timeout' },
    ]);
    expect(actions(steps).filter((a) => a === 'publish-topology')).toHaveLength(3);
    expect(last(steps).state).toMatchObject({ kind: 'done', outcome: 'degraded' });
    expect(events(steps)).not.toContain('failover-completed');
  });

  it('gives each waiting state a deadline', () => {
    const timing = aTiming();
    const [selecting, committing, promoting] = run([
      start(),
      chosen(),
      { type: 'cas-committed' },
    ]).map((s) => s.state);
    expect([IDLE, selecting!, committing!, promoting!].map((s) => deadlineMono(s, timing))).toEqual(
      [
        null,
        T0 + timing.downAfterMs,
        T0 + 100 + 2 * timing.redisTimeoutMs,
        T0 + 200 + timing.promoteTimeoutMs + timing.connectTimeoutMs,
      ],
    );
  });
});
