/**
 * Pure topology transforms of a switchover: the epoch it commits (`switching-over`, same
 * primary), the hand-over and the end (new primary) or the rollback (same primary), all at the
 * committed epoch; and rule 7's replay test.
 */
import { isoFromWall } from '../format.js';
import type { Topology, TopologyNode, TopologyState } from '../model.js';

/** Rule 7: the target replayed past the old primary's shutdown checkpoint record. */
export function replayedPast(replayedLsn: number | undefined, checkpointLsn: number): boolean {
  return replayedLsn !== undefined && replayedLsn > checkpointLsn;
}

/** Epoch e+1, same primary, `switching-over`: blocks automatic failover and tells the agents. */
export function switchingTopology(
  prev: Topology,
  to: string,
  nowWall: number,
  sentinelId: string,
  reason: string,
): Topology {
  return {
    ...prev,
    epoch: prev.epoch + 1,
    state: 'switching-over',
    updatedAt: isoFromWall(nowWall),
    reason: `${reason}: ${prev.primary} -> ${to}`,
    committedBy: sentinelId,
  };
}

/**
 * `to` is the primary (same epoch), the old primary a standby that its agent rejoins (`down`
 * until then), `to` leaves `syncStandbys`. Published twice: `switching-over` once the target
 * replayed everything, just before it is promoted (the hand-over: its agent then sees the
 * primary the topology expects, never a stray one to fence, and the old primary's agent still
 * waits), then `ok` when it writes (`degraded` when its promotion could not be confirmed).
 */
export function switchedTopology(
  t: Topology,
  to: string,
  nowWall: number,
  reason: string,
  state: Extract<TopologyState, 'switching-over' | 'ok' | 'degraded'> = 'ok',
): Topology {
  const nodes = t.nodes.map((n): TopologyNode => {
    if (n.name === to) return { ...n, role: 'primary', state: 'up' };
    if (n.name === t.primary) return { ...n, role: 'standby', state: 'down' };
    return { ...n, role: 'standby' };
  });
  return {
    ...t,
    primary: to,
    nodes,
    syncStandbys: t.syncStandbys.filter((n) => n !== to),
    previousPrimary: t.primary,
    state,
    updatedAt: isoFromWall(nowWall),
    reason,
  };
}

/**
 * Rolled back (same epoch) from `t`, the topology committed before the hand-over: the old
 * primary stays; `switching-over` while it is being restarted, then `ok`.
 */
export function restoredTopology(
  t: Topology,
  nowWall: number,
  reason: string,
  state: Extract<TopologyState, 'switching-over' | 'ok'> = 'ok',
): Topology {
  return { ...t, state, updatedAt: isoFromWall(nowWall), reason };
}
