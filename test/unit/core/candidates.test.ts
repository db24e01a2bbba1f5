import { describe, expect, it } from 'vitest';

import {
  type CandidateInput,
  chooseCandidate,
  type RejectionReason,
} from '../../../src/core/candidates.js';
import { aCluster, aProbe, type ClusterBuilder, NOW_MONO } from '../../builders/index.js';

const MB = 1_048_576; // the default maxLagOnFailoverBytes

function input(b: ClusterBuilder, overrides: Partial<CandidateInput> = {}): CandidateInput {
  const s = b.build();
  return {
    nodes: s.cluster.nodes,
    primary: 'pg1',
    observations: s.health,
    nowMono: s.nowMono,
    downAfterMs: s.timing.downAfterMs,
    maxLagOnFailoverBytes: s.cluster.maxLagOnFailoverBytes,
    mode: s.cluster.replication.mode,
    syncStandbys: s.topology?.syncStandbys ?? [],
    ...overrides,
  };
}

// Default: pg1 primary down (last LSN 5_000_000); pg2 (priority 100) and pg3 (priority 50)
// standbys caught up at 5_000_000, probed 100 ms ago.
const down = (): ClusterBuilder => aCluster().withPrimaryDown();

describe('chooseCandidate', () => {
  const cases: {
    name: string;
    b: ClusterBuilder;
    chosen: string | undefined;
    rejected: [string, RejectionReason][];
  }[] = [
    {
      name: 'equal LSN: higher priority wins',
      b: down(),
      chosen: 'pg2',
      rejected: [['pg1', 'is-primary']],
    },
    {
      name: 'higher received LSN beats priority',
      b: down().withStandbyAt('pg2', 4_900_000).withStandbyAt('pg3', 5_000_000),
      chosen: 'pg3',
      rejected: [['pg1', 'is-primary']],
    },
    {
      name: 'equal LSN and priority: name ascending',
      b: down().withNode('pg3', { priority: 100 }),
      chosen: 'pg2',
      rejected: [['pg1', 'is-primary']],
    },
    {
      name: 'noFailover tag',
      b: down().withNode('pg2', { noFailover: true }),
      chosen: 'pg3',
      rejected: [
        ['pg1', 'is-primary'],
        ['pg2', 'no-failover-tag'],
      ],
    },
    {
      name: 'no candidate because every standby is noFailover',
      b: down().withNode('pg2', { noFailover: true }).withNode('pg3', { noFailover: true }),
      chosen: undefined,
      rejected: [
        ['pg1', 'is-primary'],
        ['pg2', 'no-failover-tag'],
        ['pg3', 'no-failover-tag'],
      ],
    },
    {
      name: 'unreachable standby',
      b: down().withUnreachable('pg2'),
      chosen: 'pg3',
      rejected: [
        ['pg1', 'is-primary'],
        ['pg2', 'unreachable'],
      ],
    },
    {
      name: 'last success older than downAfter',
      b: down().withProbes(
        'pg2',
        aProbe('pg2')
          .standby()
          .at(NOW_MONO - 3000)
          .build(),
      ),
      chosen: 'pg3',
      rejected: [
        ['pg1', 'is-primary'],
        ['pg2', 'unreachable'],
      ],
    },
    {
      name: 'never probed',
      b: down().withProbes('pg2'),
      chosen: 'pg3',
      rejected: [
        ['pg1', 'is-primary'],
        ['pg2', 'unreachable'],
      ],
    },
    {
      name: 'a node answering as primary is not a candidate',
      b: down().withProbes('pg2', aProbe('pg2').primary(5_000_000).build()),
      chosen: 'pg3',
      rejected: [
        ['pg1', 'is-primary'],
        ['pg2', 'not-standby'],
      ],
    },
    {
      name: 'replay too far behind the best received LSN',
      b: down().withStandbyAt('pg2', 5_500_000, 5_500_000 - MB - 1),
      chosen: 'pg3',
      rejected: [
        ['pg1', 'is-primary'],
        ['pg2', 'too-far-behind'],
      ],
    },
    {
      name: 'replay lag exactly at the limit is allowed',
      b: down().withStandbyAt('pg2', 5_000_000 + MB, 5_000_000),
      chosen: 'pg2',
      rejected: [['pg1', 'is-primary']],
    },
    {
      name: "lag measured from the primary's last known LSN",
      b: down().withProbes(
        'pg1',
        aProbe('pg1')
          .primary(5_000_000 + MB + 1)
          .at(NOW_MONO - 5000)
          .build(),
      ),
      chosen: undefined,
      rejected: [
        ['pg1', 'is-primary'],
        ['pg2', 'too-far-behind'],
        ['pg3', 'too-far-behind'],
      ],
    },
    {
      name: 'replay LSN unknown',
      b: down().withProbes('pg2', aProbe('pg2').standby().with({ replayedLsn: undefined }).build()),
      chosen: 'pg3',
      rejected: [
        ['pg1', 'is-primary'],
        ['pg2', 'lsn-unknown'],
      ],
    },
    {
      name: 'sync mode: only a recorded synchronous standby',
      b: down().syncMode(['pg3']),
      chosen: 'pg3',
      rejected: [
        ['pg1', 'is-primary'],
        ['pg2', 'not-sync'],
      ],
    },
    {
      name: 'sync mode with no synchronous standby: none',
      b: down().syncMode([]),
      chosen: undefined,
      rejected: [
        ['pg1', 'is-primary'],
        ['pg2', 'not-sync'],
        ['pg3', 'not-sync'],
      ],
    },
  ];

  it.each(cases)('$name', ({ b, chosen, rejected }) => {
    const c = chooseCandidate(input(b));
    expect(c.chosen).toBe(chosen);
    expect(c.rejected.map((r) => [r.node, r.reason])).toEqual(rejected);
    expect(c.evidence).not.toBe('');
  });

  it('ranks best first with the documented order', () => {
    const b = down()
      .withClusterConfig({
        nodes: ['pg1', 'pg2', 'pg3', 'pg4', 'pg5'].map((name, i) => ({
          name,
          host: `10.0.0.${i + 1}`,
          port: 5432,
          priority: name === 'pg5' ? 10 : 50,
          noFailover: false,
        })),
      })
      .withStandbyAt('pg2', 4_900_000)
      .withStandbyAt('pg3', 5_000_000)
      .withStandbyAt('pg4', 5_000_000)
      .withStandbyAt('pg5', 5_000_000);
    // pg3, pg4 (same LSN, same priority: by name), then pg5 (same LSN, lower priority), then pg2
    expect(chooseCandidate(input(b)).ranked.map((r) => r.node)).toEqual([
      'pg3',
      'pg4',
      'pg5',
      'pg2',
    ]);
  });

  it('uses the WAL receiver position when the probe has no receive LSN', () => {
    const b = down().withProbes(
      'pg3',
      aProbe('pg3')
        .standby(4_900_000)
        .receiver({ status: 'waiting', receivedLsn: 5_100_000 })
        .with({ receivedLsn: undefined })
        .build(),
    );
    const c = chooseCandidate(input(b));
    expect(c.chosen).toBe('pg3');
    expect(c.referenceLsn).toBe(5_100_000);
  });

  it('picks the same node whatever order nodes and observations come in', () => {
    const names = ['pg1', 'pg2', 'pg3', 'pg4', 'pg5', 'pg6'];
    let b = down().withClusterConfig({
      nodes: names.map((name, i) => ({
        name,
        host: `10.0.0.${i + 1}`,
        port: 5432,
        priority: i % 2 === 0 ? 100 : 50,
        noFailover: name === 'pg6',
      })),
    });
    for (const [i, name] of names.slice(1).entries())
      b = b.withStandbyAt(name, 5_000_000 - (i % 2) * 1000);
    const base = input(b);
    const expected = chooseCandidate(base);
    let seed = 42;
    const rand = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 20; round++) {
      const nodes = [...base.nodes].sort(() => rand() - 0.5);
      const observations = Object.fromEntries(
        Object.entries(base.observations).sort(() => rand() - 0.5),
      );
      expect(chooseCandidate({ ...base, nodes, observations })).toEqual(expected);
    }
    // pg2 and pg4 lead on LSN with equal priority (pg6 is noFailover): the name decides
    expect(expected.ranked.map((r) => r.node)).toEqual(['pg2', 'pg4', 'pg3', 'pg5']);
  });
});
