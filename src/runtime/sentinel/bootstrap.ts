/**
 * No topology stored yet: commit epoch 1 (CAS from 0, so concurrent sentinels agree on one),
 * stamp the primary and publish it. Returns the committed topology, or null (not yet / lost).
 */
import { initialTopology } from '../../core/failover/topology.js';
import type { ProbeResult, Topology } from '../../core/model.js';
import { type BootstrapDeps, nodeOf } from './deps.js';
import { stampEpoch } from './stamps.js';

export async function bootstrapTopology(
  deps: BootstrapDeps,
  probes: readonly ProbeResult[],
): Promise<Topology | null> {
  const { cluster, store, sentinelId, clock, bus } = deps;
  const topology = initialTopology(cluster, probes, clock.wall(), sentinelId);
  if (!topology) return null;
  const res = await store.casTopology(cluster.name, 0, topology, sentinelId).catch(() => null);
  if (!res?.committed) return null;
  const node = nodeOf(cluster, topology.primary);
  await stampEpoch(deps, node, 1, node.name);
  await bus.emit({ type: 'topology-changed', cluster: cluster.name, epoch: 1, topology });
  return topology;
}
