import { describe, expect, it } from 'vitest';

import { IDLE, IllegalTransition, transition } from '../../../../src/core/failover/machine.js';
import {
  ALLOWED,
  type FailoverInput,
  type StateKind,
} from '../../../../src/core/failover/states.js';
import type { Topology } from '../../../../src/core/model.js';
import { aTopology, chosen, happy, last, run, start, topology } from '../../../builders/index.js';

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
