import { describe, expect, it } from 'vitest';

import { decide, type Decision, type DecisionReason } from '../../../src/core/decide.js';
import {
  aCluster,
  aProbe,
  aVote,
  type ClusterBuilder,
  EPOCH,
  NOW_WALL,
} from '../../builders/index.js';

// Default snapshot (see test/builders/cluster.ts): sentinel s1, leader, Redis majority, quorum 2,
// pg1 primary, pg2 (priority 100) and pg3 (priority 50) standbys. `withPrimaryDown()`: pg1 has
// not answered for 5 s, the standbys' receivers lost it, s2 voted it down.
const down = (): ClusterBuilder => aCluster().withPrimaryDown();

interface Case {
  name: string;
  b: ClusterBuilder;
  kind: Decision['kind'];
  reason: DecisionReason;
  candidate?: string;
}

describe('decide: must NOT fail over', () => {
  const cases: Case[] = [
    {
      name: 'no topology stored yet',
      b: down().withoutTopology(),
      kind: 'observe',
      reason: 'no-topology',
    },
    {
      name: 'no Redis majority',
      b: down().with({ coordination: 'no-majority' }),
      kind: 'observe',
      reason: 'no-coordination-majority',
    },
    { name: 'in TILT', b: down().with({ tilt: true }), kind: 'observe', reason: 'tilt' },
    { name: 'paused', b: down().with({ paused: true }), kind: 'vote-down', reason: 'paused' },
    {
      name: 'a failover is already running',
      b: down().withTopology({ state: 'failing-over' }),
      kind: 'vote-down',
      reason: 'failover-in-progress',
    },
    {
      name: 'a switchover is running',
      b: down().withTopology({ state: 'switching-over' }),
      kind: 'vote-down',
      reason: 'failover-in-progress',
    },
    {
      name: 'not the leader (still votes)',
      b: down().with({ leader: false }),
      kind: 'vote-down',
      reason: 'not-leader',
    },
    { name: 'primary up here', b: aCluster(), kind: 'observe', reason: 'primary-up-here' },
    {
      name: 'primary up here though others vote it down',
      b: aCluster().withVotes(aVote().by('s2').build(), aVote().by('s3').build()),
      kind: 'observe',
      reason: 'primary-up-here',
    },
    {
      name: 'timeouts for less than downAfter',
      b: aCluster().withPrimaryDown({ forMs: 1500 }),
      kind: 'observe',
      reason: 'primary-up-here',
    },
    {
      name: 'refused for less than refusedAfter',
      b: aCluster().withPrimaryDown({ failure: 'refused', forMs: 900 }),
      kind: 'observe',
      reason: 'primary-up-here',
    },
    {
      name: 'one sentinel cut off: only its own vote',
      b: down().withVotes(),
      kind: 'vote-down',
      reason: 'no-quorum',
    },
    {
      name: 'our own old vote does not count twice',
      b: down().withVotes(
        aVote()
          .by('s1')
          .at(NOW_WALL - 1000)
          .build(),
      ),
      kind: 'vote-down',
      reason: 'no-quorum',
    },
    {
      name: 'the other vote expired',
      b: down().withVotes(
        aVote()
          .by('s2')
          .at(NOW_WALL - 5000)
          .build(),
      ),
      kind: 'vote-down',
      reason: 'no-quorum',
    },
    {
      name: 'the other vote is about an older epoch',
      b: down().withVotes(
        aVote()
          .by('s2')
          .about('pg1', EPOCH - 1)
          .build(),
      ),
      kind: 'vote-down',
      reason: 'no-quorum',
    },
    {
      name: 'the other vote is about another primary',
      b: down().withVotes(aVote().by('s2').about('pg2').build()),
      kind: 'vote-down',
      reason: 'no-quorum',
    },
    {
      name: 'quorum 3 with two votes',
      b: down().withClusterConfig({ quorum: 3 }),
      kind: 'vote-down',
      reason: 'no-quorum',
    },
    {
      name: 'within cooldown',
      b: down().withTopology({ lastFailoverWall: NOW_WALL - 59_999 }),
      kind: 'vote-down',
      reason: 'cooldown',
    },
    {
      name: 'a standby still receives WAL from the primary',
      b: down().withProbes('pg3', aProbe('pg3').standby().streaming(200).build()),
      kind: 'vote-down',
      reason: 'standby-still-streaming',
    },
    {
      name: 'the only reachable standby is too far behind',
      b: down().withUnreachable('pg3').withStandbyAt('pg2', 5_000_000, 3_000_000),
      kind: 'vote-down',
      reason: 'no-candidate',
    },
    {
      name: 'every standby tagged noFailover',
      b: down().withNode('pg2', { noFailover: true }).withNode('pg3', { noFailover: true }),
      kind: 'vote-down',
      reason: 'no-candidate',
    },
    {
      name: 'sync mode: the reachable standby is not synchronous',
      b: down().syncMode(['pg3']).withUnreachable('pg3'),
      kind: 'vote-down',
      reason: 'no-candidate',
    },
  ];

  it.each(cases)('$name -> $reason', ({ b, kind, reason }) => {
    const d = decide(b.build());
    expect({ kind: d.kind, reason: d.reason }).toEqual({ kind, reason });
    expect(d.candidate).toBeUndefined();
    expect(d.events).toEqual([]);
    expect(d.evidence).not.toBe('');
  });

  it('without a topology publishes no vote', () => {
    expect(decide(down().withoutTopology().build()).vote).toBeNull();
  });

  it('still computes its vote without a Redis majority, and when not leader', () => {
    expect(decide(down().with({ coordination: 'no-majority' }).build()).vote?.down).toBe(true);
    expect(decide(down().with({ leader: false }).build()).vote?.down).toBe(true);
  });

  it('votes "not down" in TILT: its own timestamps are suspect', () => {
    expect(decide(down().with({ tilt: true }).build()).vote).toMatchObject({
      down: false,
      reason: 'tilt',
    });
  });

  it('names the standby that proves the primary alive, and the rejected candidates', () => {
    const streaming = decide(
      down().withProbes('pg3', aProbe('pg3').standby().streaming(200).build()).build(),
    );
    expect(streaming.streamingStandby).toBe('pg3');
    const none = decide(
      down().withNode('pg2', { noFailover: true }).withNode('pg3', { noFailover: true }).build(),
    );
    expect(none.candidates?.rejected.map((r) => `${r.node}:${r.reason}`)).toEqual([
      'pg1:is-primary',
      'pg2:no-failover-tag',
      'pg3:no-failover-tag',
    ]);
  });

  it('checks the guards in the documented order', () => {
    const b = (): ClusterBuilder =>
      down()
        .withVotes()
        .withTopology({ state: 'failing-over', lastFailoverWall: NOW_WALL - 1 });
    const order: [ClusterBuilder, DecisionReason][] = [
      [
        b().with({ coordination: 'no-majority', tilt: true, paused: true, leader: false }),
        'no-coordination-majority',
      ],
      [b().with({ tilt: true, paused: true, leader: false }), 'tilt'],
      [b().with({ paused: true, leader: false }), 'paused'],
      [b().with({ leader: false }), 'failover-in-progress'],
      [b().withTopology({ state: 'ok' }).with({ leader: false }), 'not-leader'],
      [b().withTopology({ state: 'ok' }), 'no-quorum'],
      [b().withTopology({ state: 'ok' }).withVotes(aVote().build()), 'cooldown'],
    ];
    expect(order.map(([x]) => decide(x.build()).reason)).toEqual(order.map(([, r]) => r));
  });
});
