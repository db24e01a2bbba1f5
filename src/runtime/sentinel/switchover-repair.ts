/**
 * Repair of an orphaned switchover: a topology left `switching-over` far longer than any
 * switchover may take (its sentinel died or lost the lock mid-way; the agents never restart a
 * postgres on their own in that state, so it would stay so for good). The current leader
 * commits the next epoch, from fresh probes of every node:
 * - a node answers as primary (the target was promoted, or the old primary was never stopped):
 *   it is the primary;
 * - the topology names a node that answers as a standby: the hand-over was published, which
 *   happens only once the target replayed the old primary's final checkpoint: promote it;
 * - otherwise the named node is stopped (interrupted before the hand-over, after the clean
 *   stop): start it again through its agent.
 * The result is `ok` when the primary is confirmed writable, `degraded` otherwise (settled:
 * automatic failover takes over from there).
 */
import type { Topology } from '../../core/model.js';
import { switchedTopology } from '../../core/switchover.js';
import type { SwitchoverDeps } from './deps.js';
import { stampEpoch } from './stamps.js';
import { agentOf, answersAsPrimary, probe, promoteTarget, specOf } from './switchover-steps.js';

const RESTART_MS = 30_000;

export async function repairOrphanedSwitchover(
  d: SwitchoverDeps,
  t: Topology,
  why: string,
): Promise<Topology | null> {
  const { log, clock, sentinelId, store, bus } = d;
  const cluster = t.cluster;
  const epoch = t.epoch + 1;
  const probes = await Promise.all(d.cluster.nodes.map((n) => probe(d, n.name)));
  const writable = probes.find((p) => p.ok && p.role === 'primary')?.node;
  const named = probes.find((p) => p.node === t.primary);
  let primary = t.primary;
  let confirmed: boolean;
  let how: string;
  if (writable) {
    primary = writable;
    confirmed = true;
    how = `${writable} answers as primary`;
  } else if (named?.ok && named.role === 'standby') {
    how = `promoting ${primary} (handed over after replay was verified)`;
    confirmed = await promoteTarget(d, primary, epoch).catch(() => false);
  } else {
    how = `restarting ${primary} through its agent`;
    try {
      await d.agents.start(agentOf(d, primary), t.epoch, RESTART_MS);
    } catch (err) {
      log.warn({ cluster, epoch: t.epoch, err: (err as Error).message }, 'repair: start failed');
    }
    confirmed = await answersAsPrimary(d, primary, 5000);
  }
  const reason = `${why}: ${how}${confirmed ? '' : `; ${primary} not confirmed writable`} (repaired by ${sentinelId})`;
  const state: 'ok' | 'degraded' = confirmed ? 'ok' : 'degraded';
  const base =
    primary === t.primary
      ? { ...t, state, reason, updatedAt: new Date(clock.wall()).toISOString() }
      : switchedTopology(t, primary, clock.wall(), reason, state);
  const next: Topology = { ...base, epoch, committedBy: sentinelId };
  log.warn({ cluster, epoch: t.epoch, primary, state }, reason);
  const res = await store.casTopology(cluster, t.epoch, next, sentinelId).catch(() => null);
  if (!res?.committed) return null;
  if (confirmed) {
    await stampEpoch(d, specOf(d, primary), epoch, primary);
    for (const p of probes) {
      if (p.node === primary || !p.ok || p.role !== 'standby') continue;
      await d.pg
        .ensureSlot(specOf(d, primary), p.node)
        .then(() => d.pg.repoint(specOf(d, p.node), specOf(d, primary), p.node))
        .catch(() => undefined);
    }
  }
  await bus.emit({ type: 'topology-changed', cluster, epoch, topology: next });
  if (primary === t.primary && !writable)
    await bus.emit({ type: 'switchover-aborted', cluster, epoch, reason, from: primary });
  return next;
}
