/**
 * A sentinel process: one ClusterLoop per configured cluster, the admin API and /metrics,
 * and an orderly shutdown (stop ticking, release leader locks, close connections).
 */
import type { FastifyInstance } from 'fastify';

import {
  buildSentinelApi,
  type IntentHandler,
  type IntentOp,
  type SentinelApiDeps,
} from '../adapters/http/api.js';
import type { Logger } from '../adapters/logging/logger.js';
import { SentinelMetrics } from '../adapters/metrics/metrics.js';
import { PgAdapter } from '../adapters/postgres/index.js';
import { RedisCoordinationStore } from '../adapters/redis/store.js';
import type { Config } from '../config/types.js';
import { UserError } from '../core/errors.js';
import type { CoordinationStore } from '../ports/coordination.js';
import type { PostgresPort } from '../ports/postgres.js';
import { type Clock, systemClock } from './clock.js';
import { ClusterLoop } from './cluster-loop.js';
import { EventBus } from './events.js';
import { submitIntent } from './intent-client.js';

export interface SentinelOptions {
  config: Config;
  log: Logger;
  clock?: Clock;
  /** injected for tests; the real adapters otherwise */
  store?: CoordinationStore;
  pg?: (cluster: Config['clusters'][number]) => PostgresPort;
}

export class Sentinel {
  readonly #config: Config;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #store: CoordinationStore;
  readonly #pgs: PostgresPort[] = [];
  readonly metrics = new SentinelMetrics();
  readonly loops: ClusterLoop[];
  readonly bus: EventBus;
  #api: FastifyInstance | null = null;

  constructor(opts: SentinelOptions) {
    const { config, log } = opts;
    this.#config = config;
    this.#log = log;
    this.#clock = opts.clock ?? systemClock;
    this.#store =
      opts.store ??
      new RedisCoordinationStore({
        urls: config.coordination.redis,
        prefix: config.coordination.prefix,
        commandTimeoutMs: config.timing.redisTimeoutMs,
        logger: log,
      });
    this.bus = new EventBus(this.#store, log);
    const apiUrl = `http://${config.sentinel.api.host}:${config.sentinel.api.port}`;
    this.loops = config.clusters.map((cluster) => {
      const pg =
        opts.pg?.(cluster) ??
        PgAdapter.forCluster(cluster, config.timing, `pgvigil-sentinel-${config.sentinel.id}`);
      this.#pgs.push(pg);
      return new ClusterLoop({
        config,
        cluster,
        store: this.#store,
        pg,
        bus: this.bus,
        log,
        metrics: this.metrics,
        clock: this.#clock,
        sentinelId: config.sentinel.id,
        apiUrl,
      });
    });
  }

  loop(cluster: string): ClusterLoop {
    const l = this.loops.find((x) => x.name === cluster);
    if (!l) throw new Error(`unknown cluster ${cluster}`);
    return l;
  }

  /** Healthy when every cluster loop completed a tick recently (the loop makes progress). */
  health(): {
    ok: boolean;
    sentinel: string;
    clusters: Record<string, { lastTickAgoMs: number | null; coordination: string }>;
  } {
    const now = this.#clock.mono();
    const limit = Math.max(
      this.#config.timing.downAfterMs,
      5 * this.#config.timing.probeIntervalMs,
    );
    const clusters: Record<string, { lastTickAgoMs: number | null; coordination: string }> = {};
    let ok = true;
    for (const l of this.loops) {
      const ago = l.lastTickMono === null ? null : Math.round(now - l.lastTickMono);
      if (ago === null || ago > limit) ok = false;
      clusters[l.name] = { lastTickAgoMs: ago, coordination: l.view().coordination };
    }
    return { ok, sentinel: this.#config.sentinel.id, clusters };
  }

  /** Bind the API first (a busy port fails start-up before anything acts), then start ticking. */
  async start(opts: { api?: boolean } = {}): Promise<void> {
    if (opts.api !== false) await this.#listen();
    for (const l of this.loops) l.start();
  }

  async #listen(): Promise<void> {
    const { host, port, token } = this.#config.sentinel.api;
    this.#api = buildSentinelApi({
      host,
      port,
      ...(token ? { token } : {}),
      registry: this.metrics.registry,
      clusters: this.loops.map((l) => l.name),
      health: () => this.health(),
      topology: async (c) => {
        const v = this.loop(c).view();
        return (
          v.topology ?? {
            cluster: c,
            epoch: 0,
            primary: null,
            state: 'unknown',
            coordination: v.coordination,
            message: v.coordinationError ?? 'no topology yet',
          }
        );
      },
      status: async (c) => this.loop(c).view(),
      events: async (c, since, count) => this.#store.readHistory(c, since, count),
      intents: this.#intentHandlers(),
    });
    try {
      await this.#api.listen({ host, port });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE')
        throw new UserError(
          `sentinel API port ${host}:${port} is busy: pick another with --api-port or sentinel.api.port`,
        );
      throw err;
    }
    this.#log.info({ api: `http://${host}:${port}` }, 'admin API listening');
  }

  /** The API records intent (any sentinel); the leader's loop runs it (runtime/intents.ts). */
  #intentHandlers(): SentinelApiDeps['intents'] {
    const handler =
      (op: IntentOp): IntentHandler =>
      (cluster, body, meta) =>
        submitIntent(
          this.#store,
          cluster,
          { op, to: body.to, requestedBy: `${meta.requestedBy} via ${this.#config.sentinel.id}` },
          { timeoutMs: this.#config.timing.intentTimeoutMs },
        );
    return {
      failover: handler('failover'),
      failback: handler('failback'),
      switchover: handler('switchover'),
    };
  }

  async stop(): Promise<void> {
    await Promise.all(this.loops.map((l) => l.stop()));
    await this.#api?.close();
    await Promise.all(this.#pgs.map((p) => p.close()));
    await this.#store.close();
  }
}
