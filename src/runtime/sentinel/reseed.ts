/**
 * Coordination loss never rolls the epoch back (issue 7, item 5). A majority of the Redis
 * servers answered and none holds a topology, yet the cluster has one: the servers restarted
 * empty. Never bootstrap epoch 1 over it; re-seed from the highest epoch anyone knows:
 *
 * - the epoch stamped into each reachable node's `pgvigil.epoch` (every probe reads it), and
 * - this sentinel's last committed topology, in memory.
 *
 * When our own topology is at least as high as every stamp, it is written back as it was
 * (`updateTopology` by its original writer: the same commit again, not a second commit of that
 * epoch). Otherwise (a sentinel that restarted, or one that missed a commit) a new epoch one
 * above the highest stamp is committed by CAS, naming the node that runs as primary and
 * carries that stamp (never a fence of the real primary), and stamped into it. With no such
 * node: nothing (next tick). Returns the topology to adopt, or null.
 */
import type { ProbeResult, Topology } from '../../core/model.js';
import type { CoordinationStore } from '../../ports/coordination.js';
import type { BootstrapDeps } from './deps.js';
import { nodeOf } from './deps.js';
import { stampEpoch } from './stamps.js';

export interface ReseedDeps extends BootstrapDeps {
  store: Pick<CoordinationStore, 'casTopology' | 'updateTopology' | 'readTopology'>;
}

/** The highest epoch stamped in any node that answered (0: none). */
export function highestStamp(probes: readonly ProbeResult[]): number {
  return Math.max(0, ...probes.filter((p) => p.ok).map((p) => p.stampedEpoch ?? 0));
}

export async function reseedTopology(
  deps: ReseedDeps,
  probes: readonly ProbeResult[],
  known: Topology | null,
): Promise<Topology | null> {
  const { cluster, store, sentinelId, clock, log, bus } = deps;
  const stamp = highestStamp(probes);
  const ctx = { cluster: cluster.name, stampedEpoch: stamp, knownEpoch: known?.epoch ?? 0 };
  if (known && known.epoch >= stamp) {
    const res = await store
      .updateTopology(cluster.name, known, known.committedBy ?? sentinelId)
      .catch(() => null);
    if (!res?.committed) return null;
    log.warn(
      { ...ctx, epoch: known.epoch },
      'coordination servers came back empty: re-seeded our last committed topology',
    );
    return known;
  }
  const primary = probes.find((p) => p.ok && p.role === 'primary' && p.stampedEpoch === stamp);
  if (!primary) {
    log.warn(
      ctx,
      'coordination servers empty, no primary carries the highest stamped epoch: waiting',
    );
    return null;
  }
  const epoch = stamp + 1;
  const next: Topology = {
    cluster: cluster.name,
    epoch,
    primary: primary.node,
    nodes: cluster.nodes.map((n) => ({
      name: n.name,
      host: n.host,
      port: n.port,
      role: n.name === primary.node ? 'primary' : 'standby',
      state: probes.find((x) => x.node === n.name)?.ok ? 'up' : 'down',
    })),
    syncStandbys: [],
    state: 'ok',
    updatedAt: new Date(clock.wall()).toISOString(),
    reason: `re-seed: coordination servers came back empty; highest stamped epoch ${stamp}`,
    committedBy: sentinelId,
  };
  // read again just before the commit: a sentinel whose empty read raced another's bootstrap or
  // re-seed (its read saw nothing, its probes already saw the new stamp) adopts that topology
  // instead of committing a second epoch over it (the CAS accepts a server holding `stamp`)
  const again = await store.readTopology(cluster.name).catch(() => null);
  if (again?.value) return again.value;
  const res = await store.casTopology(cluster.name, stamp, next, sentinelId).catch(() => null);
  if (!res?.committed) return null;
  // a failed stamp is retried by the loop (stamps.ts): a node left stamped below the committed
  // epoch would let a later re-seed commit this epoch number a second time
  await stampEpoch(deps, nodeOf(cluster, primary.node), epoch, primary.node);
  log.warn(
    { ...ctx, epoch, primary: primary.node },
    'coordination servers came back empty: re-seeded at a new epoch above every stamp',
  );
  await bus.emit({ type: 'topology-changed', cluster: cluster.name, epoch, topology: next });
  return next;
}
