/**
 * What a sentinel shows of each node (status, presence for `pgvigil status`, metrics), derived
 * from its observations and the committed topology. Pure.
 */
import type { NodeObservation } from './health.js';
import type { NodeView, ProbeResult, Topology, Vote } from './model.js';
import type { NodeSpec } from './spec.js';

export interface NodeViewDetail extends NodeView {
  lsn: number | null;
  probe: ProbeResult | null;
}

/**
 * Lag in bytes of a standby: from the primary's pg_stat_replication row when there is one (the
 * primary's own view), else the primary's last known LSN minus the standby's replay LSN.
 */
export function nodeViews(
  nodes: readonly NodeSpec[],
  topology: Topology | null,
  observations: Readonly<Record<string, NodeObservation | undefined>>,
): Record<string, NodeViewDetail> {
  const primaryObs = topology ? observations[topology.primary] : undefined;
  const primaryLsn = primaryObs?.lastOk?.currentLsn ?? null;
  const views: Record<string, NodeViewDetail> = {};
  for (const n of nodes) {
    const obs = observations[n.name];
    const last = obs?.last ?? null;
    const up = obs ? !obs.verdict.down && (last?.ok ?? false) : false;
    const role = last?.ok ? (last.role ?? null) : null;
    const fromPrimary = primaryObs?.lastOk?.replicas?.find((r) => r.name === n.name);
    let lagBytes: number | null = null;
    if (role === 'standby') {
      if (fromPrimary) lagBytes = fromPrimary.lagBytes;
      else if (primaryLsn !== null && last?.replayedLsn !== undefined)
        lagBytes = Math.max(0, primaryLsn - last.replayedLsn);
    } else if (role === 'primary') lagBytes = 0;
    views[n.name] = {
      up,
      role,
      lagBytes,
      lagSeconds: role === 'standby' ? (last?.lagSeconds ?? null) : role === 'primary' ? 0 : null,
      evidence: obs ? `${obs.verdict.reason}: ${obs.verdict.evidence}` : 'not probed yet',
      lsn: last?.ok ? (last.currentLsn ?? last.receivedLsn ?? null) : null,
      probe: last,
    };
  }
  return views;
}

/** Down votes about the committed topology's primary and epoch (for the metric). */
export function countDownVotes(votes: readonly Vote[], topology: Topology | null): number {
  if (!topology) return 0;
  return votes.filter((v) => v.down && v.epoch === topology.epoch && v.primary === topology.primary)
    .length;
}

/** The part of each node view a sentinel advertises in its presence record. */
export function presenceView(
  views: Readonly<Record<string, NodeViewDetail>>,
): Record<string, NodeView> {
  const out: Record<string, NodeView> = {};
  for (const [name, v] of Object.entries(views))
    out[name] = {
      up: v.up,
      role: v.role,
      lagBytes: v.lagBytes,
      lagSeconds: v.lagSeconds,
      evidence: v.evidence,
    };
  return out;
}
