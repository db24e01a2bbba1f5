/**
 * Pure topology transforms used by a failover: the topology committed by the epoch CAS
 * (`nextTopology`, state `failing-over`) and the one published when the failover is over
 * (`settleTopology`, state `ok` or `degraded`, same epoch).
 */
import { isoFromWall } from '../format.js';
import type { ProbeResult, Topology, TopologyNode, TopologyState } from '../model.js';

/**
 * The topology of epoch `prev.epoch + 1` with `to` as primary. The old primary becomes a
 * standby marked `down` (its agent rejoins it later). `syncStandbys` starts empty: the new
 * primary's synchronous_standby_names names nobody yet, so no standby is guaranteed to hold every
 * commit it acknowledges until the leader records one again (src/core/sync.ts).
 * `lastFailoverWall` is stamped only for automatic failovers: it drives the cooldown (rule 6),
 * which must not stop an operator's manual switch.
 */
export function nextTopology(
  prev: Topology,
  to: string,
  nowWall: number,
  reason: string,
  sentinelId: string,
  kind: 'automatic' | 'manual' = 'automatic',
): Topology {
  if (to === prev.primary) throw new Error(`${to} is already the primary of ${prev.cluster}`);
  if (!prev.nodes.some((n) => n.name === to))
    throw new Error(`${to} is not a node of ${prev.cluster}`);
  const nodes = prev.nodes.map((n): TopologyNode => {
    if (n.name === to) return { ...n, role: 'primary', state: 'up' };
    if (n.name === prev.primary) return { ...n, role: 'standby', state: 'down' };
    return { ...n, role: 'standby' };
  });
  const next: Topology = {
    ...prev,
    epoch: prev.epoch + 1,
    primary: to,
    nodes,
    syncStandbys: [],
    state: 'failing-over',
    updatedAt: isoFromWall(nowWall),
    reason,
    previousPrimary: prev.primary,
    committedBy: sentinelId,
  };
  if (kind === 'automatic') next.lastFailoverWall = nowWall;
  return next;
}

/** The same epoch, marked settled (`ok`, or `degraded` when the failover could not finish). */
export function settleTopology(
  t: Topology,
  opts: {
    nowWall: number;
    state: Extract<TopologyState, 'ok' | 'degraded'>;
    reason: string;
    nodeStates?: Readonly<Record<string, TopologyNode['state']>>;
  },
): Topology {
  return {
    ...t,
    state: opts.state,
    reason: opts.reason,
    updatedAt: isoFromWall(opts.nowWall),
    nodes: t.nodes.map((n) => ({ ...n, state: opts.nodeStates?.[n.name] ?? n.state })),
  };
}

/**
 * Epoch 1: the configured initial primary, committed only once that node really answers as a
 * primary (never crown a standby or a dead node).
 */
export function initialTopology(
  cluster: {
    name: string;
    initialPrimary: string;
    nodes: readonly { name: string; host: string; port: number }[];
  },
  probes: readonly ProbeResult[],
  nowWall: number,
  sentinelId: string,
): Topology | null {
  const probe = probes.find((p) => p.node === cluster.initialPrimary);
  if (!probe?.ok || probe.role !== 'primary') return null;
  return {
    cluster: cluster.name,
    epoch: 1,
    primary: cluster.initialPrimary,
    nodes: cluster.nodes.map((n): TopologyNode => ({
      name: n.name,
      host: n.host,
      port: n.port,
      role: n.name === cluster.initialPrimary ? 'primary' : 'standby',
      state: probes.find((x) => x.node === n.name)?.ok ? 'up' : 'down',
    })),
    syncStandbys: [],
    state: 'ok',
    updatedAt: isoFromWall(nowWall),
    reason: 'bootstrap',
    committedBy: sentinelId,
  };
}
