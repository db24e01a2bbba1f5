import { describe, expect, it } from 'vitest';

import { decide, type Decision, type DecisionReason } from '../../../src/core/decide.js';
import {
  aCluster,
  aProbe,
  aVote,
  type ClusterBuilder,
  EPOCH,
  NOW_MONO,
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

describe('decide: fails over when every guard passes', () => {
  const cases: Case[] = [
    {
      name: 'primary silent for downAfter, quorum of votes',
      b: down(),
      kind: 'failover',
      reason: 'primary-odown',
      candidate: 'pg2',
    },
    {
      // a failover whose promotion was not confirmed settles as `degraded`: it must not block
      // the next failover forever
      name: 'topology degraded by an earlier unconfirmed promotion',
      b: down().withTopology({ state: 'degraded' }),
      kind: 'failover',
      reason: 'primary-odown',
      candidate: 'pg2',
    },
    {
      name: 'primary refusing for refusedAfter (postmaster gone)',
      b: aCluster().withPrimaryDown({ failure: 'refused', forMs: 1500 }),
      kind: 'failover',
      reason: 'primary-odown',
      candidate: 'pg2',
    },
    {
      name: 'primary cannot commit the heartbeat (disk full)',
      b: aCluster().withPrimaryDown({ failure: 'write-failed' }),
      kind: 'failover',
      reason: 'primary-odown',
      candidate: 'pg2',
    },
    {
      name: 'cooldown just over',
      b: down().withTopology({ lastFailoverWall: NOW_WALL - 60_000 }),
      kind: 'failover',
      reason: 'primary-odown',
      candidate: 'pg2',
    },
    {
      name: 'the most advanced standby is chosen',
      b: down().withStandbyAt('pg3', 5_000_100),
      kind: 'failover',
      reason: 'primary-odown',
      candidate: 'pg3',
    },
    {
      name: 'a lagging standby is skipped',
      b: down().withStandbyAt('pg2', 5_000_000, 3_000_000),
      kind: 'failover',
      reason: 'primary-odown',
      candidate: 'pg3',
    },
    {
      name: 'sync mode: the synchronous standby',
      b: down().syncMode(['pg3']),
      kind: 'failover',
      reason: 'primary-odown',
      candidate: 'pg3',
    },
    {
      name: 'our stale "up" vote in Redis is replaced by our current one',
      b: down().withVotes(
        aVote()
          .by('s1')
          .up()
          .at(NOW_WALL - 2000)
          .build(),
        aVote().by('s2').build(),
      ),
      kind: 'failover',
      reason: 'primary-odown',
      candidate: 'pg2',
    },
  ];

  it.each(cases)('$name', ({ b, kind, reason, candidate }) => {
    const d = decide(b.build());
    expect({ kind: d.kind, reason: d.reason, candidate: d.candidate }).toEqual({
      kind,
      reason,
      candidate,
    });
  });

  it('says what to publish and announces ODOWN', () => {
    const d = decide(down().build());
    expect(d.vote).toEqual({
      sentinel: 's1',
      epoch: EPOCH,
      primary: 'pg1',
      down: true,
      reason: 'no-success-for-downAfter',
      atWall: NOW_WALL,
    });
    expect({ from: d.from, epoch: d.epoch }).toEqual({ from: 'pg1', epoch: EPOCH });
    expect(d.events).toEqual([
      {
        type: 'primary-odown',
        cluster: 'c1',
        epoch: EPOCH,
        primary: 'pg1',
        votes: 2,
        quorum: 2,
        sentinels: ['s1', 's2'],
      },
    ]);
    expect(d.evidence).toContain('2/2 down votes (s1, s2)');
  });
});

describe('decide: rule 2 and an unwritable primary', () => {
  it('fails over a primary that answers but cannot commit, even while a standby streams from it', () => {
    const d = decide(
      aCluster()
        .withPrimaryDown({ failure: 'write-failed' })
        .withProbes('pg3', aProbe('pg3').standby().streaming(200).build())
        .build(),
    );
    expect(d.kind).toBe('failover');
    expect(d.reason).toBe('primary-odown');
  });

  it('stuck I/O: timeouts, then a hung heartbeat classified write-failed, fails over', () => {
    const d = decide(
      aCluster()
        .withPrimaryDown({ failure: 'timeout' })
        .withProbes(
          'pg1',
          aProbe('pg1').primary().at(NOW_MONO - 5000).build(),
          aProbe('pg1').failed('timeout').at(NOW_MONO - 2000).build(),
          aProbe('pg1').failed('write-failed').at(NOW_MONO - 100).build(),
        )
        .withProbes('pg3', aProbe('pg3').standby().streaming(200).build())
        .build(),
    );
    expect(d.kind).toBe('failover');
  });

  it('still holds for a primary we cannot reach while a standby streams from it', () => {
    const d = decide(
      aCluster()
        .withPrimaryDown({ failure: 'timeout' })
        .withProbes('pg3', aProbe('pg3').standby().streaming(200).build())
        .build(),
    );
    expect(d.reason).toBe('standby-still-streaming');
  });
});
