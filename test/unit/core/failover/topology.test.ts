import { describe, expect, it } from 'vitest';

import {
  initialTopology,
  nextTopology,
  settleTopology,
} from '../../../../src/core/failover/topology.js';
import { aProbe, aTopology, NOW_WALL } from '../../../builders/index.js';

describe('nextTopology', () => {
  const prev = aTopology({
    syncStandbys: ['pg2', 'pg3'],
    lastFailoverWall: 1,
    previousPrimary: 'pg0',
  });

  it('commits the next epoch with the new primary, failing over', () => {
    const t = nextTopology(prev, 'pg2', NOW_WALL, 'automatic failover', 's1');
    expect(t).toMatchObject({
      epoch: prev.epoch + 1,
      primary: 'pg2',
      previousPrimary: 'pg1',
      syncStandbys: [],
      state: 'failing-over',
      lastFailoverWall: NOW_WALL,
      committedBy: 's1',
      reason: 'automatic failover',
      updatedAt: new Date(NOW_WALL).toISOString(),
    });
    expect(t.nodes.map((n) => [n.name, n.role, n.state])).toEqual([
      ['pg1', 'standby', 'down'],
      ['pg2', 'primary', 'up'],
      ['pg3', 'standby', 'up'],
    ]);
    expect(prev.primary).toBe('pg1'); // not mutated
  });

  it('stamps the cooldown only for automatic failovers', () => {
    expect(nextTopology(prev, 'pg2', NOW_WALL, 'manual', 's1', 'manual').lastFailoverWall).toBe(1);
  });

  it('refuses the current primary or an unknown node', () => {
    expect(() => nextTopology(prev, 'pg1', NOW_WALL, 'x', 's1')).toThrow(/already the primary/);
    expect(() => nextTopology(prev, 'pg9', NOW_WALL, 'x', 's1')).toThrow(/not a node/);
  });
});

describe('settleTopology', () => {
  it('marks the same epoch ok and sets node states', () => {
    const committed = nextTopology(aTopology(), 'pg2', NOW_WALL, 'x', 's1');
    const t = settleTopology(committed, {
      nowWall: NOW_WALL + 500,
      state: 'ok',
      reason: 'done',
      nodeStates: { pg1: 'fenced' },
    });
    expect(t).toMatchObject({
      epoch: committed.epoch,
      state: 'ok',
      reason: 'done',
      updatedAt: new Date(NOW_WALL + 500).toISOString(),
    });
    expect(t.nodes.find((n) => n.name === 'pg1')?.state).toBe('fenced');
  });
});

describe('initialTopology', () => {
  const nodes = ['pg1', 'pg2', 'pg3'].map((name, i) => ({
    name,
    host: '127.0.0.1',
    port: 5432 + i,
    priority: 100,
    noFailover: false,
  }));
  const cluster = { name: 'c', initialPrimary: 'pg1', nodes };
  it('crowns the initial primary only when it answers as a primary', () => {
    expect(initialTopology(cluster, [aProbe('pg2').standby().build()], 0, 's1')).toBeNull();
    expect(initialTopology(cluster, [aProbe('pg1').standby().build()], 0, 's1')).toBeNull();
    const t = initialTopology(
      cluster,
      [aProbe('pg1').primary().build(), aProbe('pg2').standby().build()],
      0,
      's1',
    );
    expect(t).toMatchObject({ epoch: 1, primary: 'pg1', state: 'ok', committedBy: 's1' });
    expect(t!.nodes.map((n) => `${n.name}:${n.role}:${n.state}`)).toEqual([
      'pg1:primary:up',
      'pg2:standby:up',
      'pg3:standby:down',
    ]);
  });
});
