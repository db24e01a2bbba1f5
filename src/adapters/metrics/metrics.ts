/**
 * The `pgvigil_*` Prometheus series (DESIGN.md, Metrics), behind the metrics port
 * (src/ports/metrics.ts). The Registry is injected, never the global one, so tests and several
 * sentinels in one process stay apart.
 */
import {
  collectDefaultMetrics,
  type Counter,
  type Gauge,
  type Histogram,
  Registry,
} from 'prom-client';

import type { ClusterTickMetrics, FailoverKind, SentinelMetricsPort } from '../../ports/metrics.js';
import { DEFAULT_METRICS_PREFIX, EVENT_LOOP_SAMPLE_MS, METRICS } from './catalogue.js';
import { counterOf, gaugeOf, histogramOf } from './series.js';

const FAILOVER_KINDS: readonly FailoverKind[] = ['automatic', 'manual', 'switchover', 'failback'];

export interface SentinelMetricsOptions {
  /** prom-client's Node.js process metrics (default on) */
  defaults?: boolean;
  /** clusters[].quorum by cluster name, exported as pgvigil_cluster_quorum (and every per-cluster counter starts at 0) */
  quorum?: Readonly<Record<string, number>>;
  /** how many sentinels are live per cluster, read when Prometheus scrapes */
  liveSentinels?: { clusters: readonly string[]; count(cluster: string): Promise<number> };
}

export class SentinelMetrics implements SentinelMetricsPort {
  readonly registry: Registry;
  readonly nodeUp: Gauge<'cluster' | 'node'>;
  readonly nodeIsPrimary: Gauge<'cluster' | 'node'>;
  readonly lagBytes: Gauge<'cluster' | 'node'>;
  readonly lagSeconds: Gauge<'cluster' | 'node'>;
  readonly walLsn: Gauge<'cluster' | 'node'>;
  readonly topologyFenced: Gauge<'cluster' | 'node'>;
  readonly probeDuration: Histogram<'cluster' | 'node'>;
  readonly isLeader: Gauge<'cluster'>;
  readonly downVotes: Gauge<'cluster'>;
  readonly epoch: Gauge<'cluster'>;
  readonly quorum: Gauge<'cluster'>;
  readonly liveSentinels: Gauge<'cluster'>;
  readonly failovers: Counter<'cluster' | 'kind'>;
  readonly failoverDuration: Histogram<'cluster'>;
  readonly tilt: Gauge;
  readonly #last = new Map<string, Map<string, number>>();
  readonly #ids = new Map<object, string>();
  readonly coordinationMajorityGauge: Gauge;

  constructor(registry: Registry = new Registry(), opts: SentinelMetricsOptions = {}) {
    this.registry = registry;
    const r = registry;
    this.nodeUp = gaugeOf(METRICS.nodeUp, r);
    this.nodeIsPrimary = gaugeOf(METRICS.nodeIsPrimary, r);
    this.lagBytes = gaugeOf(METRICS.lagBytes, r);
    this.lagSeconds = gaugeOf(METRICS.lagSeconds, r);
    this.walLsn = gaugeOf(METRICS.walLsn, r);
    this.topologyFenced = gaugeOf(METRICS.topologyFenced, r);
    this.probeDuration = histogramOf(METRICS.probeDuration, r);
    this.isLeader = gaugeOf(METRICS.isLeader, r);
    this.downVotes = gaugeOf(METRICS.downVotes, r);
    this.epoch = gaugeOf(METRICS.epoch, r);
    this.quorum = gaugeOf(METRICS.quorum, r);
    const live = opts.liveSentinels;
    this.liveSentinels = gaugeOf(
      METRICS.liveSentinels,
      r,
      live
        ? async function () {
            // read at scrape time: presence lives in Redis, the tick never reads it
            const counts = await Promise.all(
              live.clusters.map(async (c) => [c, await live.count(c).catch(() => -1)] as const),
            );
            for (const [cluster, n] of counts) this.set({ cluster }, n);
          }
        : undefined,
    );
    this.failovers = counterOf(METRICS.failovers, r);
    this.failoverDuration = histogramOf(METRICS.failoverDuration, r);
    this.tilt = gaugeOf(METRICS.tilt, r);
    this.coordinationMajorityGauge = gaugeOf(METRICS.coordinationMajority, r);
    for (const [cluster, q] of Object.entries(opts.quorum ?? {})) {
      this.quorum.set({ cluster }, q);
      // counters start at 0, so increase() sees the first failover (a series born at 1 shows none)
      for (const kind of FAILOVER_KINDS) this.failovers.inc({ cluster, kind }, 0);
      this.failoverDuration.zero({ cluster });
    }
    if (opts.defaults !== false)
      // event-loop delay sampled every EVENT_LOOP_SAMPLE_MS, not prom-client's 10 ms (idle cost)
      collectDefaultMetrics({
        register: registry,
        prefix: DEFAULT_METRICS_PREFIX,
        eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS,
      });
  }

  /**
   * Feed one tick's view of a cluster into the pgvigil_* series. A gauge is set only when its
   * value changed since the last tick: prom-client sorts and hashes the labels on every set(),
   * and at three ticks a second that was the largest share of an idle sentinel's allocations.
   */
  clusterTick(t: ClusterTickMetrics): void {
    const cluster = t.cluster;
    const last = this.#lastOf(cluster);
    const set = (g: Gauge<'cluster' | 'node'>, node: string, value: number): void => {
      const key = `${this.#idOf(g)}\u0000${node}`;
      if (last.get(key) === value) return;
      last.set(key, value);
      g.set({ cluster, node }, value);
    };
    for (const [node, v] of Object.entries(t.views)) {
      set(this.nodeUp, node, v.up ? 1 : 0);
      set(this.nodeIsPrimary, node, v.role === 'primary' ? 1 : 0);
      if (v.lagBytes !== null) set(this.lagBytes, node, v.lagBytes);
      if (v.lagSeconds !== null) set(this.lagSeconds, node, v.lagSeconds);
      if (v.lsn !== null) set(this.walLsn, node, v.lsn);
      if (v.probe) this.probeDuration.observe({ cluster, node }, v.probe.durationMs / 1000);
      set(this.topologyFenced, node, t.fenced?.includes(node) ? 1 : 0);
    }
    const setCluster = (g: Gauge<'cluster'>, value: number): void => {
      const key = this.#idOf(g);
      if (last.get(key) === value) return;
      last.set(key, value);
      g.set({ cluster }, value);
    };
    setCluster(this.isLeader, t.leader ? 1 : 0);
    setCluster(this.downVotes, t.downVotes);
    if (t.epoch !== null) setCluster(this.epoch, t.epoch);
    this.tilt.set(t.tilt ? 1 : 0);
  }

  /** A short id per gauge (the key prefix of `#last`). */
  #idOf(g: object): string {
    let id = this.#ids.get(g);
    if (id === undefined) {
      id = String(this.#ids.size);
      this.#ids.set(g, id);
    }
    return id;
  }

  /** The values last set per cluster (gauge name + node -> value), for clusterTick. */
  #lastOf(cluster: string): Map<string, number> {
    let last = this.#last.get(cluster);
    if (!last) {
      last = new Map();
      this.#last.set(cluster, last);
    }
    return last;
  }

  coordinationMajority(ok: boolean): void {
    this.coordinationMajorityGauge.set(ok ? 1 : 0);
  }

  failover(cluster: string, kind: FailoverKind, durationMs?: number): void {
    this.failovers.inc({ cluster, kind });
    if (durationMs !== undefined) this.failoverDuration.observe({ cluster }, durationMs / 1000);
  }
}
