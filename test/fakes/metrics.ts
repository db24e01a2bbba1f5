/** A SentinelMetricsPort that records every call, for assertions. */
import type {
  ClusterTickMetrics,
  FailoverKind,
  SentinelMetricsPort,
} from '../../src/ports/metrics.js';

export class RecordingMetrics implements SentinelMetricsPort {
  readonly ticks: ClusterTickMetrics[] = [];
  readonly majority: boolean[] = [];
  readonly failovers: { cluster: string; kind: FailoverKind; durationMs?: number }[] = [];

  clusterTick(t: ClusterTickMetrics): void {
    this.ticks.push(t);
  }

  coordinationMajority(ok: boolean): void {
    this.majority.push(ok);
  }

  failover(cluster: string, kind: FailoverKind, durationMs?: number): void {
    this.failovers.push({ cluster, kind, ...(durationMs === undefined ? {} : { durationMs }) });
  }
}
