import { describe, expect, it } from 'vitest';

import { IDLE } from '../../../../src/core/failover/machine.js';
import { deadlineMono, type FailoverInput } from '../../../../src/core/failover/states.js';
import {
  actions,
  aTiming,
  chosen,
  events,
  happy,
  kinds,
  last,
  run,
  start,
  T0,
  topology,
} from '../../../builders/index.js';

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
