/**
 * A sentinel process: one ClusterLoop per configured cluster, their health, the operator
 * intents the admin API hands in, and an orderly stop (stop ticking, release leader locks).
 * The adapters (Redis store, a Postgres adapter per cluster, metrics, agent client) and the
 * admin API are built by the composition root, src/commands/sentinel.ts; closing them is its
 * job too.
 */
import type { ClusterSpec, Timing } from '../../core/spec.js';
import type { AgentControl } from '../../ports/agent-control.js';
import type { Clock } from '../../ports/clock.js';
import type { CoordinationStore } from '../../ports/coordination.js';
import type { Logger } from '../../ports/logger.js';
import type { SentinelMetricsPort } from '../../ports/metrics.js';
import type { PostgresPort } from '../../ports/postgres.js';
import type { SlotControl } from '../../ports/slots.js';
import { EventBus } from '../events.js';
import { ClusterLoop, type ClusterView } from './cluster-loop.js';
import { type IntentOp, type IntentReply, submitIntent } from './intent-client.js';

export interface SentinelDeps {
  sentinelId: string;
  /** the configured sentinel set (empty: any id counts) */
  peers?: readonly string[];
  /** replication slots of each cluster's nodes (slots.ts) */
  slots?: (cluster: string) => SlotControl;
  /** test hook: see FailoverDeps.afterAction */
  afterAction?: (type: string) => void;
  /** TEST-ONLY: safety rule 2 off (commands/test-unsafe.ts) */
  unsafeSkipRule2?: boolean;
  timing: Timing;
  clusters: readonly ClusterSpec[];
  store: CoordinationStore;
  /** the Postgres adapter of each cluster (its credentials) */
  pg: (cluster: string) => PostgresPort;
  metrics: SentinelMetricsPort;
  agents: AgentControl;
  log: Logger;
  clock: Clock;
  /** this sentinel's admin API, advertised in its presence record */
  apiUrl: string | null;
  version: string;
}

export type SentinelHealth = {
  ok: boolean;
  sentinel: string;
  clusters: Record<string, { lastTickAgoMs: number | null; coordination: string }>;
};

export class Sentinel {
  readonly #d: SentinelDeps;
  readonly loops: ClusterLoop[];
  readonly bus: EventBus;

  constructor(deps: SentinelDeps) {
    this.#d = deps;
    this.bus = new EventBus(deps.store, deps.log);
    this.loops = deps.clusters.map(
      (cluster) =>
        new ClusterLoop({
          cluster,
          timing: deps.timing,
          sentinelId: deps.sentinelId,
          peers: deps.peers ?? [],
          ...(deps.afterAction ? { afterAction: deps.afterAction } : {}),
          ...(deps.unsafeSkipRule2 ? { unsafeSkipRule2: true } : {}),
          ...(deps.slots ? { slots: deps.slots(cluster.name) } : {}),
          clock: deps.clock,
          log: deps.log,
          store: deps.store,
          pg: deps.pg(cluster.name),
          bus: this.bus,
          metrics: deps.metrics,
          agents: deps.agents,
          apiUrl: deps.apiUrl,
          version: deps.version,
        }),
    );
  }

  loop(cluster: string): ClusterLoop {
    const l = this.loops.find((x) => x.name === cluster);
    if (!l) throw new Error(`unknown cluster ${cluster}`);
    return l;
  }

  /** Healthy when every cluster loop completed a tick recently (the loop makes progress). */
  health(): SentinelHealth {
    const now = this.#d.clock.mono();
    const limit = Math.max(this.#d.timing.downAfterMs, 5 * this.#d.timing.probeIntervalMs);
    const clusters: SentinelHealth['clusters'] = {};
    let ok = true;
    for (const l of this.loops) {
      const ago = l.lastTickMono === null ? null : Math.round(now - l.lastTickMono);
      if (ago === null || ago > limit) ok = false;
      clusters[l.name] = { lastTickAgoMs: ago, coordination: l.view().coordination };
    }
    return { ok, sentinel: this.#d.sentinelId, clusters };
  }

  /** The committed topology this sentinel holds, or why there is none yet. */
  topology(cluster: string): ClusterView['topology'] | Record<string, unknown> {
    const v = this.loop(cluster).view();
    return (
      v.topology ?? {
        cluster,
        epoch: 0,
        primary: null,
        state: 'unknown',
        coordination: v.coordination,
        message: v.coordinationError ?? 'no topology yet',
      }
    );
  }

  /** Record an operator intent (any sentinel); the leader's loop runs it (intents.ts). */
  submit(
    op: IntentOp,
    cluster: string,
    body: { to?: string | undefined },
    requestedBy: string,
  ): Promise<IntentReply> {
    return submitIntent(
      this.#d.store,
      cluster,
      { op, to: body.to, requestedBy: `${requestedBy} via ${this.#d.sentinelId}` },
      { timeoutMs: this.#d.timing.intentTimeoutMs },
    );
  }

  /**
   * Start every loop, their first ticks spread evenly over one probe interval (loop i of n after
   * i/n of it): started together, hundreds of loops would open every connection and send every
   * Redis read in the same instant, and stay in phase; each loop's own cadence is unchanged.
   */
  start(): void {
    const n = this.loops.length;
    const every = this.#d.timing.probeIntervalMs;
    this.loops.forEach((l, i) => l.start(Math.floor((i * every) / n)));
  }

  /** Stop ticking and release leader locks. The adapters stay open (the root closes them). */
  async stop(): Promise<void> {
    await Promise.all(this.loops.map((l) => l.stop()));
  }
}
