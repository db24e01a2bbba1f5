import { describe, expect, it } from 'vitest';

import {
  planFailback,
  type PlanInput,
  planManualFailover,
  planSwitchover,
  type RefusalReason,
} from '../../../src/core/switchover.js';
import { aCluster, aProbe, type ClusterBuilder, NOW_MONO } from '../../builders/index.js';

// Default: pg1 primary (LSN 5_000_000) with an agent; pg2 (priority 100) and pg3 (priority 50)
// caught-up standbys streaming from pg1, every node probed ok 100 ms ago; epoch 7, state ok.
const healthy = (): ClusterBuilder =>
  aCluster()
    .withNode('pg1', { agent: { url: 'http://127.0.0.1:8008' } })
    .withNode('pg2', { agent: { url: 'http://127.0.0.1:8009' } });

function input(b: ClusterBuilder): PlanInput {
  const s = b.build();
  return {
    cluster: s.cluster,
    timing: s.timing,
    topology: s.topology,
    observations: s.health,
    nowMono: s.nowMono,
  };
}

describe('planSwitchover', () => {
  it('plans pg1 -> pg2 on a healthy cluster', () => {
    expect(planSwitchover(input(healthy()), 'pg2')).toMatchObject({
      ok: true,
      kind: 'switchover',
      from: 'pg1',
      to: 'pg2',
      epoch: 7,
    });
  });

  it('is allowed while paused (operators switch over in maintenance mode)', () => {
    expect(planSwitchover(input(healthy().with({ paused: true })), 'pg2').ok).toBe(true);
  });

  const refusals: {
    name: string;
    b: ClusterBuilder;
    to: string;
    reason: RefusalReason;
    says: RegExp;
  }[] = [
    {
      name: 'no topology',
      b: healthy().withoutTopology(),
      to: 'pg2',
      reason: 'no-topology',
      says: /no topology/,
    },
    {
      name: 'a failover is running',
      b: healthy().withTopology({ state: 'failing-over' }),
      to: 'pg2',
      reason: 'topology-not-ok',
      says: /epoch 7 is failing-over/,
    },
    {
      name: 'a switchover is running',
      b: healthy().withTopology({ state: 'switching-over' }),
      to: 'pg2',
      reason: 'topology-not-ok',
      says: /switching-over/,
    },
    {
      name: 'unknown target',
      b: healthy(),
      to: 'pg9',
      reason: 'unknown-target',
      says: /unknown node pg9.*pg1, pg2, pg3/,
    },
    {
      name: 'target is the primary',
      b: healthy(),
      to: 'pg1',
      reason: 'target-is-primary',
      says: /already the primary/,
    },
    {
      name: 'primary down',
      b: healthy().withPrimaryDown(),
      to: 'pg2',
      reason: 'primary-down',
      says: /pg1 is not healthy.*use failover/,
    },
    {
      name: 'primary without an agent',
      b: aCluster(),
      to: 'pg2',
      reason: 'primary-no-agent',
      says: /pg1 has no agent/,
    },
    {
      name: 'target unreachable',
      b: healthy().withUnreachable('pg2'),
      to: 'pg2',
      reason: 'target-unreachable',
      says: /pg2 is not reachable \(last probe timeout/,
    },
    {
      name: 'target answers as a primary',
      b: healthy().withProbes('pg2', aProbe('pg2').primary().build()),
      to: 'pg2',
      reason: 'target-not-standby',
      says: /pg2 is not a standby \(answers as primary\)/,
    },
    {
      name: 'target without a WAL receiver (not rejoined)',
      b: healthy().withProbes('pg2', aProbe('pg2').standby().build()),
      to: 'pg2',
      reason: 'target-not-streaming',
      says: /no WAL receiver/,
    },
    {
      name: 'target receiver waiting',
      b: healthy().withProbes(
        'pg2',
        aProbe('pg2').standby().receiver({ status: 'waiting' }).build(),
      ),
      to: 'pg2',
      reason: 'target-not-streaming',
      says: /receiver waiting/,
    },
    {
      name: 'target receiver silent for downAfter',
      b: healthy().withProbes('pg2', aProbe('pg2').standby().streaming(3000).build()),
      to: 'pg2',
      reason: 'target-not-streaming',
      says: /last message 3\.1 s ago/,
    },
    {
      name: 'target cascades from another standby',
      b: healthy().withProbes(
        'pg2',
        aProbe('pg2').standby().streaming(100, { host: '10.0.0.3', port: 5432 }).build(),
      ),
      to: 'pg2',
      reason: 'target-not-streaming',
      says: /streams from pg3/,
    },
    {
      name: 'primary LSN unknown',
      b: healthy().withProbes('pg1', aProbe('pg1').with({ role: 'primary' }).build()),
      to: 'pg2',
      reason: 'target-lsn-unknown',
      says: /replay lag of pg2 unknown/,
    },
    {
      name: 'target too far behind',
      b: healthy().withLatest('pg2', { replayedLsn: 3_000_000 }),
      to: 'pg2',
      reason: 'target-too-far-behind',
      says: /replay lag 2000000 B > maxLagOnFailoverBytes 1048576 B/,
    },
  ];
  for (const c of refusals) {
    it(`refuses: ${c.name}`, () => {
      const plan = planSwitchover(input(c.b), c.to);
      expect(plan).toMatchObject({ ok: false, reason: c.reason });
      if (!plan.ok) expect(plan.message).toMatch(c.says);
    });
  }
});

describe('planFailback', () => {
  it('goes back to the previous primary', () => {
    const b = healthy()
      .withTopology({ primary: 'pg2', previousPrimary: 'pg1' })
      .withNode('pg2', { agent: { url: 'http://127.0.0.1:8009' } })
      .withProbes('pg2', aProbe('pg2').primary().build())
      .withProbes(
        'pg1',
        aProbe('pg1').standby().streaming(100, { host: '10.0.0.2', port: 5432 }).build(),
      );
    expect(planFailback(input(b))).toMatchObject({ ok: true, from: 'pg2', to: 'pg1' });
  });

  it('prefers preferredPrimary over the previous primary', () => {
    const b = healthy()
      .withTopology({ previousPrimary: 'pg2' })
      .withClusterConfig({ preferredPrimary: 'pg3' });
    expect(planFailback(input(b))).toMatchObject({ ok: true, from: 'pg1', to: 'pg3' });
  });

  it('refuses without a target', () => {
    expect(planFailback(input(healthy()))).toMatchObject({
      ok: false,
      reason: 'no-failback-target',
    });
  });

  it('refuses when the preferred primary already is the primary', () => {
    const b = healthy().withClusterConfig({ preferredPrimary: 'pg1' });
    expect(planFailback(input(b))).toMatchObject({ ok: false, reason: 'target-is-primary' });
  });

  it('refuses while the old primary has not rejoined as a streaming standby', () => {
    const b = healthy()
      .withTopology({ primary: 'pg2', previousPrimary: 'pg1' })
      .withProbes('pg2', aProbe('pg2').primary().build())
      .withUnreachable('pg1', 'refused');
    const plan = planFailback(input(b));
    expect(plan).toMatchObject({ ok: false, reason: 'target-unreachable' });
    if (!plan.ok)
      expect(plan.message).toMatch(/^cannot fail back to pg1: .*healthy, caught-up standby first/);
  });
});

describe('planManualFailover', () => {
  it('healthy primary: a switchover to the best candidate', () => {
    expect(planManualFailover(input(healthy()))).toMatchObject({
      ok: true,
      kind: 'switchover',
      to: 'pg2',
    });
  });

  it('healthy primary: a switchover to the node asked for', () => {
    expect(planManualFailover(input(healthy()), 'pg3')).toMatchObject({
      ok: true,
      kind: 'switchover',
      to: 'pg3',
    });
  });

  it('primary down: a forced failover without waiting for a quorum', () => {
    const b = healthy().withPrimaryDown().withVotes();
    expect(planManualFailover(input(b))).toMatchObject({
      ok: true,
      kind: 'failover',
      from: 'pg1',
      to: 'pg2',
    });
  });

  it('primary down: to the node asked for', () => {
    const b = healthy().withPrimaryDown();
    expect(planManualFailover(input(b), 'pg3')).toMatchObject({
      ok: true,
      kind: 'failover',
      to: 'pg3',
    });
  });

  it('primary down from a degraded topology is allowed', () => {
    const b = healthy().withPrimaryDown().withTopology({ state: 'degraded' });
    expect(planManualFailover(input(b))).toMatchObject({ ok: true, kind: 'failover' });
  });

  it('primary down: the node asked for must pass the candidate rules', () => {
    const b = healthy().withPrimaryDown().withNode('pg3', { noFailover: true });
    const plan = planManualFailover(input(b), 'pg3');
    expect(plan).toMatchObject({ ok: false, reason: 'no-candidate' });
    if (!plan.ok) expect(plan.message).toMatch(/pg3 cannot be promoted: no-failover-tag/);
  });

  it('rule 2: a standby still streaming from the primary stops a forced failover', () => {
    const b = healthy()
      .withPrimaryDown()
      .withProbes('pg2', aProbe('pg2').standby().streaming(200).build());
    expect(planManualFailover(input(b))).toMatchObject({
      ok: false,
      reason: 'standby-still-streaming',
    });
  });

  it('no candidate at all', () => {
    const b = healthy().withPrimaryDown().withUnreachable('pg2').withUnreachable('pg3');
    expect(planManualFailover(input(b))).toMatchObject({ ok: false, reason: 'no-candidate' });
  });

  it('primary failing but not down yet: retry later', () => {
    const b = healthy().withProbes(
      'pg1',
      aProbe('pg1')
        .primary()
        .at(NOW_MONO - 700)
        .build(),
      aProbe('pg1')
        .timedOut()
        .at(NOW_MONO - 100)
        .build(),
    );
    expect(planManualFailover(input(b))).toMatchObject({
      ok: false,
      reason: 'primary-state-unclear',
    });
  });

  it('refused while a switchover runs', () => {
    const b = healthy().withTopology({ state: 'switching-over' });
    expect(planManualFailover(input(b))).toMatchObject({ ok: false, reason: 'topology-not-ok' });
  });

  it('an unknown node is named', () => {
    expect(planManualFailover(input(healthy()), 'pg9')).toMatchObject({
      ok: false,
      reason: 'unknown-target',
    });
  });
});
