/**
 * Metrics port: what the sentinel runtime reports, in its own terms; the prom-client adapter
 * (src/adapters/metrics) maps it onto the `pgvigil_*` series of DESIGN.md. Never throws.
 */
import type { NodeViewDetail } from '../core/views.js';

/** One tick's view of one cluster. */
export interface ClusterTickMetrics {
  cluster: string;
  views: Readonly<Record<string, NodeViewDetail>>;
  leader: boolean;
  downVotes: number;
  epoch: number | null;
  /** the committed topology's operator fence mark (Topology.fenced); absent: none */
  fenced?: readonly string[];
  tilt: boolean;
}

export type FailoverKind = 'automatic' | 'manual' | 'switchover' | 'failback';

export interface SentinelMetricsPort {
  clusterTick(t: ClusterTickMetrics): void;
  /** whether a majority of the Redis servers answered this tick */
  coordinationMajority(ok: boolean): void;
  /** a completed failover (with its duration) or switchover/failback */
  failover(cluster: string, kind: FailoverKind, durationMs?: number): void;
}
