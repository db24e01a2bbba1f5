/**
 * PgvigilClient: a pg.Pool that follows the committed topology (DESIGN.md, "Events").
 *
 * It reads the topology from a Redis majority, subscribes to `<prefix>:<cluster>:events` and
 * keeps one pool pointed at the current primary. On a `topology-changed` naming another primary
 * (or another address) it swaps to a fresh pool at once and ends the old one in the background:
 * it never awaits a dead server. A connection-level query error makes it re-read the topology
 * once, then the error goes to the caller: no hidden retries (a write may or may not have
 * committed; only the caller knows whether retrying it is safe).
 */
import { EventEmitter } from 'node:events';

import pg from 'pg';

import { pgSslOptions } from '../adapters/postgres/tls.js';
import { type RedisAuth, RedisCoordinationStore } from '../adapters/redis/store.js';
import type { Topology } from '../core/model.js';
import type { PgTls } from '../core/tls.js';

export interface PgvigilClientOptions {
  /** the same 1, 3 or 5 independent Redis servers as the sentinels' `coordination.redis` */
  redis: string[];
  /** Redis AUTH (the sentinels' `coordination.username` / `coordination.password`) */
  redisAuth?: RedisAuth;
  prefix?: string;
  cluster: string;
  /** `tls`: the cluster's `clusters[].tls` (absent: no TLS) */
  pg: { user: string; password: string; database: string; tls?: PgTls | undefined };
  poolSize?: number;
  /** Redis command timeout (default 500 ms) */
  redisTimeoutMs?: number;
}

const CONNECT_TIMEOUT_MS = 1000;
const QUERY_TIMEOUT_MS = 2000;
/** SQLSTATEs that mean "this server is not (or no longer) a usable primary". */
const CONNECTION_SQLSTATES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '25006',
  '08000',
  '08003',
  '08006',
]);
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
]);
const CONNECTION_MESSAGE =
  /connection terminated|timeout|connection ended|not queryable|Client has encountered a connection error/i;

/** True for errors that say the server is gone or is not a writable primary. */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (CONNECTION_SQLSTATES.has(code) || CONNECTION_CODES.has(code)))
    return true;
  return CONNECTION_MESSAGE.test(err.message);
}

export class PgvigilClient extends EventEmitter {
  readonly #opts: PgvigilClientOptions;
  readonly #store: RedisCoordinationStore;
  #topology: Topology;
  #pool: pg.Pool;
  #target: string;
  #unsubscribe: (() => Promise<void>) | null = null;
  #refreshing: Promise<void> | null = null;
  #closed = false;

  private constructor(
    opts: PgvigilClientOptions,
    store: RedisCoordinationStore,
    topology: Topology,
  ) {
    super();
    this.#opts = opts;
    this.#store = store;
    this.#topology = topology;
    this.#target = addressOf(topology);
    this.#pool = this.#newPool(topology);
  }

  static async connect(opts: PgvigilClientOptions): Promise<PgvigilClient> {
    const store = new RedisCoordinationStore({
      urls: opts.redis,
      prefix: opts.prefix ?? 'pgvigil',
      commandTimeoutMs: opts.redisTimeoutMs ?? 500,
      ...(opts.redisAuth ? { auth: opts.redisAuth } : {}),
    });
    try {
      await store.ready(2000); // a majority is enough: readTopology says when it is missing
      const read = await store.readTopology(opts.cluster);
      if (!read.value)
        throw new Error(
          `cluster ${opts.cluster}: no topology in Redis (are the sentinels running?)`,
        );
      const client = new PgvigilClient(opts, store, read.value);
      client.#unsubscribe = await store.subscribe(opts.cluster, (event) => {
        if (event.type === 'topology-changed') client.#apply(event.topology);
      });
      // An event may have been published between the read and the subscription.
      await client.refresh().catch(() => undefined);
      return client;
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  /** `topology`: every newer topology seen (events or re-reads), after the pool was switched. */
  override on(event: 'topology', listener: (topology: Topology) => void): this {
    return super.on(event, listener);
  }

  /** Name of the primary queries currently go to. */
  get primary(): string {
    return this.#topology.primary;
  }

  get topology(): Topology {
    return this.#topology;
  }

  /** Run one statement on the current primary. Connection-level errors re-read the topology, then throw. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    params?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    if (this.#closed) throw new Error('PgvigilClient is closed');
    try {
      return await this.#pool.query<R>(text, params);
    } catch (err) {
      if (isConnectionError(err)) await this.refresh().catch(() => undefined);
      throw err;
    }
  }

  /** Re-read the topology from a Redis majority (one read in flight at a time). */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#store
      .readTopology(this.#opts.cluster)
      .then((read) => {
        if (read.value) this.#apply(read.value);
      })
      .finally(() => {
        this.#refreshing = null;
      });
    return this.#refreshing;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#unsubscribe?.().catch(() => undefined);
    await this.#store.close();
    await endQuietly(this.#pool);
  }

  #apply(next: Topology): void {
    if (this.#closed || next.epoch < this.#topology.epoch) return;
    this.#topology = next;
    const target = addressOf(next);
    if (target !== this.#target) {
      const old = this.#pool;
      this.#pool = this.#newPool(next);
      this.#target = target;
      void endQuietly(old); // in the background: the old server may be dead or hung
    }
    this.emit('topology', next);
  }

  #newPool(topology: Topology): pg.Pool {
    const node = topology.nodes.find((n) => n.name === topology.primary);
    if (!node)
      throw new Error(
        `topology epoch ${topology.epoch}: primary ${topology.primary} is not among its nodes`,
      );
    const { tls, ...credentials } = this.#opts.pg;
    const pool = new pg.Pool({
      host: node.host,
      port: node.port,
      ...credentials,
      ssl: pgSslOptions(tls, node.host),
      max: this.#opts.poolSize ?? 10,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      query_timeout: QUERY_TIMEOUT_MS,
      idleTimeoutMillis: 10_000,
    });
    // An idle client whose server died emits here; without a listener it would crash the process.
    pool.on('error', () => undefined);
    return pool;
  }
}

function addressOf(t: Topology): string {
  const n = t.nodes.find((x) => x.name === t.primary);
  return `${t.primary}@${n?.host}:${n?.port}`;
}

async function endQuietly(pool: pg.Pool): Promise<void> {
  await pool.end().catch(() => undefined);
}
