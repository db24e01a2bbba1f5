import type { SentinelMetrics } from '../adapters/metrics/metrics.js';
import type { NodeViewDetail } from '../core/views.js';

/** Feed one tick's view of a cluster into the pgvigil_* series. */
export function updateClusterMetrics(
  m: SentinelMetrics,
  t: {
    cluster: string;
    views: Record<string, NodeViewDetail>;
    leader: boolean;
    downVotes: number;
    epoch: number | null;
    tilt: boolean;
  },
): void {
  const cluster = t.cluster;
  for (const [node, v] of Object.entries(t.views)) {
    m.nodeUp.set({ cluster, node }, v.up ? 1 : 0);
    m.nodeIsPrimary.set({ cluster, node }, v.role === 'primary' ? 1 : 0);
    if (v.lagBytes !== null) m.lagBytes.set({ cluster, node }, v.lagBytes);
    if (v.lagSeconds !== null) m.lagSeconds.set({ cluster, node }, v.lagSeconds);
    if (v.probe) m.probeDuration.observe({ cluster, node }, v.probe.durationMs / 1000);
  }
  m.isLeader.set({ cluster }, t.leader ? 1 : 0);
  m.downVotes.set({ cluster }, t.downVotes);
  if (t.epoch !== null) m.epoch.set({ cluster }, t.epoch);
  m.tilt.set(t.tilt ? 1 : 0);
}
