import { describe, expect, it } from 'vitest';

import {
  replayedPast,
  restoredTopology,
  switchedTopology,
  switchingTopology,
} from '../../../../src/core/switchover/topology.js';
import { aTopology } from '../../../builders/index.js';

describe('switchover topologies and the replay rule', () => {
  const t = aTopology({ previousPrimary: 'pg3', syncStandbys: ['pg2'] });

  it('switching-over: next epoch, same primary', () => {
    const s = switchingTopology(t, 'pg2', 1_700_000_000_000, 's1', 'switchover requested by x');
    expect(s).toMatchObject({
      epoch: 8,
      primary: 'pg1',
      state: 'switching-over',
      committedBy: 's1',
    });
    expect(s.reason).toBe('switchover requested by x: pg1 -> pg2');
  });

  it('switched: the target is the primary, the old one a standby to rejoin', () => {
    const s = switchedTopology(
      { ...t, epoch: 8, state: 'switching-over' },
      'pg2',
      1_700_000_000_000,
      'done',
    );
    expect(s).toMatchObject({
      epoch: 8,
      primary: 'pg2',
      previousPrimary: 'pg1',
      state: 'ok',
      syncStandbys: [],
    });
    expect(s.nodes.map((n) => [n.name, n.role, n.state])).toEqual([
      ['pg1', 'standby', 'down'],
      ['pg2', 'primary', 'up'],
      ['pg3', 'standby', 'up'],
    ]);
  });

  it('restored: same epoch and primary, ok', () => {
    const s = restoredTopology(
      { ...t, epoch: 8, state: 'switching-over' },
      1_700_000_000_000,
      'aborted',
    );
    expect(s).toMatchObject({ epoch: 8, primary: 'pg1', state: 'ok', reason: 'aborted' });
  });

  it('replay must pass the shutdown checkpoint record', () => {
    expect(replayedPast(undefined, 100)).toBe(false);
    expect(replayedPast(100, 100)).toBe(false);
    expect(replayedPast(140, 100)).toBe(true);
  });
});
