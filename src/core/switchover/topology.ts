/**
 * Pure topology transforms of a switchover: the epoch it commits (`switching-over`), the one it
 * publishes when done (`ok`, new primary) or rolled back (`ok`, same primary), both at the
 * committed epoch; and rule 7's replay test.
 */
import { isoFromWall } from '../format.js';
import type { Topology, TopologyNode } from '../model.js';

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
 * The switchover is done (same epoch): `to` is the primary, the old primary a standby that its
 * agent rejoins (`down` until then), `to` leaves `syncStandbys`.
 */
export function switchedTopology(
  t: Topology,
  to: string,
  nowWall: number,
  reason: string,
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
    state: 'ok',
    updatedAt: isoFromWall(nowWall),
    reason,
  };
}

/** Rolled back (same epoch): the old primary stays, the topology is `ok` again. */
export function restoredTopology(t: Topology, nowWall: number, reason: string): Topology {
  return { ...t, state: 'ok', updatedAt: isoFromWall(nowWall), reason };
}
