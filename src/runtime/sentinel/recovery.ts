/**
 * Finishing a failover whose leader died half-way.
 *
 * The failover commits epoch e+1 (state `failing-over`, primary = the candidate) before it
 * promotes, and publishes `ok` only at the end. A leader that crashes in between leaves the
 * topology in `failing-over`, and decide() refuses to start another failover on top of it, so
 * without this the cluster would stay without automatic failover for good.
 *
 * Once that state is older than the longest a live failover can take, the current leader rolls
 * it forward, because the epoch is committed and the candidate may already take writes:
 * - the candidate answers as a standby -> promote it (the commit chose it), then continue;
 * - the candidate answers as a primary -> re-point the other standbys, commit `ok` at e+2;
 * - the candidate does not answer -> commit `degraded` at e+2: decide() treats that as settled
 *   and fails over from it normally once the candidate is seen down by a quorum.
 */
import type { NodeObservation } from '../../core/health.js';
import type { Topology } from '../../core/model.js';
import type { Timing } from '../../core/spec.js';
import type { FailoverDeps } from './deps.js';

/** How long a `failing-over` topology may last before it counts as interrupted. */
export function interruptedAfterMs(timing: Timing): number {
  return timing.promoteTimeoutMs + 2 * timing.lockTtlMs;
}

export function isInterrupted(topology: Topology, nowWall: number, timing: Timing): boolean {
  if (topology.state !== 'failing-over') return false;
  const since = Date.parse(topology.updatedAt);
  return Number.isFinite(since) && nowWall - since > interruptedAfterMs(timing);
}

/**
 * A settled `degraded` topology whose named primary now answers as a standby: its promotion
 * failed (e.g. a connect timeout on a loaded host) and nothing else would retry it, while the
 * old primary has already been given up. Rolled forward like an interrupted failover, at most
 * once per promoteTimeoutMs (a retry that fails commits `degraded` again, one epoch up).
 */
export function isUnpromoted(
  topology: Topology,
  observations: Readonly<Record<string, NodeObservation | undefined>>,
  nowWall: number,
  timing: Timing,
): boolean {
  const last = observations[topology.primary]?.last;
  const since = Date.parse(topology.updatedAt);
  return (
    topology.state === 'degraded' &&
    last?.ok === true &&
    last.role === 'standby' &&
    Number.isFinite(since) &&
    nowWall - since > timing.promoteTimeoutMs
  );
}

/** Roll an interrupted failover forward; returns the committed topology, or null. */
export async function settleInterruptedFailover(
  deps: Omit<FailoverDeps, 'metrics'>,
  topology: Topology,
  observations: Readonly<Record<string, NodeObservation>>,
): Promise<Topology | null> {
  const { pg, store, bus, log, sentinelId, clock } = deps;
  const cluster = topology.cluster;
  const spec = (name: string) => deps.cluster.nodes.find((x) => x.name === name) ?? null;
  const target = spec(topology.primary);
  const last = observations[topology.primary]?.last;
  let state: 'ok' | 'degraded' = 'degraded';
  let reason = `interrupted failover to ${topology.primary} settled: ${topology.primary} unreachable`;
  if (target && last?.ok) {
    try {
      if (last.role === 'standby') await pg.promote(target, deps.timing.promoteTimeoutMs);
      await pg.stampEpoch(target, topology.epoch + 1, target.name);
      for (const n of topology.nodes) {
        const s = spec(n.name);
        if (!s || n.name === topology.primary || n.name === topology.previousPrimary) continue;
        await pg.ensureSlot(target, n.name);
        await pg
          .repoint(s, target, n.name)
          .catch((err: Error) =>
            log.warn(
              { cluster, epoch: topology.epoch, node: n.name, err: err.message },
              'repoint failed',
            ),
          );
      }
      state = 'ok';
      reason = `interrupted failover to ${topology.primary} rolled forward by ${sentinelId}`;
    } catch (err) {
      reason = `interrupted failover to ${topology.primary} settled: ${(err as Error).message}`;
    }
  }
  const next: Topology = {
    ...topology,
    epoch: topology.epoch + 1,
    state,
    reason,
    updatedAt: new Date(clock.wall()).toISOString(),
    committedBy: sentinelId,
  };
  const res = await store.casTopology(cluster, topology.epoch, next, sentinelId).catch(() => null);
  if (!res?.committed) return null;
  log.warn({ cluster, epoch: next.epoch, state, reason }, 'interrupted failover settled');
  await bus.emit({ type: 'topology-changed', cluster, epoch: next.epoch, topology: next });
  return next;
}
