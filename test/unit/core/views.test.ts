import { describe, expect, it } from 'vitest';

import type { NodeObservation } from '../../../src/core/health.js';
import { countDownVotes, nodeViews } from '../../../src/core/views.js';
import { aProbe, aTopology, aVote } from '../../builders/index.js';

const nodes = ['pg1', 'pg2', 'pg3'].map((name, i) => ({
  name,
  host: '127.0.0.1',
  port: 5432 + i,
  priority: 100,
  noFailover: false,
}));

function observed(
  probe: ReturnType<ReturnType<typeof aProbe>['build']>,
  down = false,
): NodeObservation {
  return {
    node: probe.node,
    verdict: {
      node: probe.node,
      down,
      reason: down ? 'no-success-for-downAfter' : 'ok',
      evidence: 'test',
    },
    last: probe,
    lastOk: probe.ok ? probe : null,
  };
}

describe('nodeViews', () => {
  it('takes a standby lag from the primary view, else from LSNs, and marks unknown nodes', () => {
    const primary = aProbe('pg1').primary().build();
    const withRow = {
      ...primary,
      currentLsn: 1000,
      replicas: [
        {
          name: 'pg2',
          state: 'streaming',
          syncState: 'async',
          sentLsn: 1000,
          replayLsn: 900,
          lagBytes: 100,
          replayLagSeconds: 0.1,
        },
      ],
    };
    const pg3 = { ...aProbe('pg3').standby().build(), replayedLsn: 600, lagSeconds: 2 };
    const views = nodeViews(nodes, aTopology(), {
      pg1: observed(withRow),
      pg2: observed({ ...aProbe('pg2').standby().build(), replayedLsn: 900 }),
      pg3: observed(pg3),
    });
    expect(views.pg1).toMatchObject({ up: true, role: 'primary', lagBytes: 0, lagSeconds: 0 });
    expect(views.pg2).toMatchObject({ up: true, role: 'standby', lagBytes: 100 });
    expect(views.pg3).toMatchObject({ up: true, role: 'standby', lagBytes: 400, lagSeconds: 2 });
    const none = nodeViews(nodes, null, {});
    expect(none.pg1).toMatchObject({
      up: false,
      role: null,
      lagBytes: null,
      evidence: 'not probed yet',
    });
  });

  it('counts only down votes about the current primary and epoch', () => {
    const t = aTopology();
    const votes = [
      aVote().build(),
      aVote()
        .by('s3')
        .about('pg1', t.epoch - 1)
        .build(),
      aVote().by('s4').up().build(),
    ];
    expect(countDownVotes(votes, t)).toBe(1);
    expect(countDownVotes(votes, null)).toBe(0);
  });
});
