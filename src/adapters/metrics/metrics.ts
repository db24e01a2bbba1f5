/**
 * The `pgvigil_*` Prometheus series (DESIGN.md, Metrics), behind the metrics port
 * (src/ports/metrics.ts). The Registry is injected, never the global one, so tests and several
 * sentinels in one process stay apart.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { ClusterTickMetrics, FailoverKind, SentinelMetricsPort } from '../../ports/metrics.js';

export class SentinelMetrics implements SentinelMetricsPort {
  readonly registry: Registry;
  readonly nodeUp: Gauge<'cluster' | 'node'>;
  readonly nodeIsPrimary: Gauge<'cluster' | 'node'>;
  readonly lagBytes: Gauge<'cluster' | 'node'>;
  readonly lagSeconds: Gauge<'cluster' | 'node'>;
  readonly probeDuration: Histogram<'cluster' | 'node'>;
  readonly isLeader: Gauge<'cluster'>;
  readonly downVotes: Gauge<'cluster'>;
  readonly epoch: Gauge<'cluster'>;
  readonly failovers: Counter<'cluster' | 'kind'>;
  readonly failoverDuration: Histogram<'cluster'>;
  readonly tilt: Gauge;
  readonly coordinationMajorityGauge: Gauge;

  constructor(registry: Registry = new Registry(), opts: { defaults?: boolean } = {}) {
    this.registry = registry;
    const registers = [registry];
    const node = ['cluster', 'node'] as const;
    this.nodeUp = new Gauge({
      name: 'pgvigil_node_up',
      help: '1 when the last probe of the node succeeded',
      labelNames: node,
      registers,
    });
    this.nodeIsPrimary = new Gauge({
      name: 'pgvigil_node_is_primary',
      help: '1 when the node answered as a primary',
      labelNames: node,
      registers,
    });
    this.lagBytes = new Gauge({
      name: 'pgvigil_replication_lag_bytes',
      help: 'standby replay lag behind the primary in bytes',
      labelNames: node,
      registers,
    });
    this.lagSeconds = new Gauge({
      name: 'pgvigil_replication_lag_seconds',
      help: 'standby replay lag in seconds (0 when caught up)',
      labelNames: node,
      registers,
    });
    this.probeDuration = new Histogram({
      name: 'pgvigil_probe_duration_seconds',
      help: 'duration of one SQL probe',
      labelNames: node,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.isLeader = new Gauge({
      name: 'pgvigil_sentinel_is_leader',
      help: '1 while this sentinel holds the cluster leader lock',
      labelNames: ['cluster'],
      registers,
    });
    this.downVotes = new Gauge({
      name: 'pgvigil_down_votes',
      help: 'fresh down votes about the current primary',
      labelNames: ['cluster'],
      registers,
    });
    this.epoch = new Gauge({
      name: 'pgvigil_topology_epoch',
      help: 'epoch of the committed topology',
      labelNames: ['cluster'],
      registers,
    });
    this.failovers = new Counter({
      name: 'pgvigil_failovers_total',
      help: 'failovers and switchovers performed by this sentinel',
      labelNames: ['cluster', 'kind'],
      registers,
    });
    this.failoverDuration = new Histogram({
      name: 'pgvigil_failover_duration_seconds',
      help: 'from the failover decision to the new primary writable and published',
      labelNames: ['cluster'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    });
    this.tilt = new Gauge({
      name: 'pgvigil_sentinel_tilt',
      help: '1 while the sentinel is in TILT (observing only)',
      registers,
    });
    this.coordinationMajorityGauge = new Gauge({
      name: 'pgvigil_coordination_majority',
      help: '1 when a majority of the Redis servers answered in the last tick',
      registers,
    });
    if (opts.defaults !== false)
      // 100 ms event-loop sampling instead of the default 10 ms: 100 wake-ups a second cost an idle
      // sentinel more CPU than all its probes.
      collectDefaultMetrics({
        register: registry,
        prefix: 'pgvigil_',
        eventLoopMonitoringPrecision: 100,
      });
  }

  /** Feed one tick's view of a cluster into the pgvigil_* series. */
  clusterTick(t: ClusterTickMetrics): void {
    const cluster = t.cluster;
    for (const [node, v] of Object.entries(t.views)) {
      this.nodeUp.set({ cluster, node }, v.up ? 1 : 0);
      this.nodeIsPrimary.set({ cluster, node }, v.role === 'primary' ? 1 : 0);
      if (v.lagBytes !== null) this.lagBytes.set({ cluster, node }, v.lagBytes);
      if (v.lagSeconds !== null) this.lagSeconds.set({ cluster, node }, v.lagSeconds);
      if (v.probe) this.probeDuration.observe({ cluster, node }, v.probe.durationMs / 1000);
    }
    this.isLeader.set({ cluster }, t.leader ? 1 : 0);
    this.downVotes.set({ cluster }, t.downVotes);
    if (t.epoch !== null) this.epoch.set({ cluster }, t.epoch);
    this.tilt.set(t.tilt ? 1 : 0);
  }

  coordinationMajority(ok: boolean): void {
    this.coordinationMajorityGauge.set(ok ? 1 : 0);
  }

  failover(cluster: string, kind: FailoverKind, durationMs?: number): void {
    this.failovers.inc({ cluster, kind });
    if (durationMs !== undefined) this.failoverDuration.observe({ cluster }, durationMs / 1000);
  }
}
