/**
 * `createPool()` (`pgvigil/client`): a pg-compatible pool that always routes to the current
 * primary (DESIGN.md, "Events").
 *
 * - At start it reads the committed topology from a Redis majority; then it follows
 *   `topology-changed` through `subscribe()` (pgvigil/events). A new primary gets a fresh
 *   pg.Pool; the old one is drained in the background (idle connections closed, checked-out
 *   ones closed when released), never awaited.
 * - A pool is used only once the server answered `pg_is_in_recovery() = false`.
 * - An operation that could not be sent (no connection could be made: refused, reset, timed
 *   out, not yet writable; or the server refused it as read-only, SQLSTATE 25006, so it had no
 *   effect) is retried, against whatever the primary is by then, until `failoverTimeoutMs`.
 *   An operation whose outcome is unknown (the connection broke after it was sent) is never
 *   retried: its error goes to the caller, who alone knows whether it is safe to repeat.
 * - When Redis is unreachable, it probes the nodes it knows (the last topology's and `hosts`)
 *   and takes the one that is writable.
 * - `read: {maxLagBytes}` adds `pool.reader`, which spreads reads over the standbys within
 *   that lag (read-pool.ts).
 */
import { EventEmitter } from 'node:events';

import type { RedisOptions } from 'ioredis';
import pg from 'pg';

import { type RedisAuth, RedisCoordinationStore } from '../adapters/redis/store.js';
import type { Topology } from '../core/model.js';
import { subscribe, type Subscription } from '../events/subscribe.js';
import { isConnectionError } from './client.js';
import { findWritable, type HostPort, isWritable, nodesOf, primaryOf } from './probe.js';
import { ReadPool } from './read-pool.js';

export interface PoolOptions extends pg.PoolConfig {
  cluster: string;
  /** the sentinels' Redis servers (`coordination.redis`) */
  redis: string[];
  prefix?: string;
  /** Redis AUTH and TLS files (the sentinels' coordination.username / password / tls) */
  redisAuth?: RedisAuth;
  /** ioredis `tls` options for the subscription's connections (else redisAuth.tls files) */
  redisTls?: RedisOptions['tls'];
  /** how long an operation that could not be sent is retried (default 15000 ms) */
  failoverTimeoutMs?: number;
  /** nodes to probe when Redis is unreachable (besides the last topology's) */
  hosts?: HostPort[];
  /** a read pool over the standbys within this lag (`pool.reader`) */
  read?: { maxLagBytes: number };
}

/** Raised while the target is not (yet) a writable primary: retried like a refused connect. */
export class NotWritableError extends Error {
  readonly code = 'PGVIGIL_NOT_WRITABLE';
}

const OWN_KEYS = new Set([
  'cluster',
  'redis',
  'prefix',
  'redisAuth',
  'redisTls',
  'failoverTimeoutMs',
  'hosts',
  'read',
]);

/** SQLSTATE 25006: the server refused the statement as read-only; it had no effect. */
export function isReadOnlyRefusal(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === '25006';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class PgvigilPool extends EventEmitter {
  readonly options: PoolOptions;
  readonly reader: ReadPool | null;
  readonly #pgConfig: pg.PoolConfig;
  readonly #store: RedisCoordinationStore;
  readonly #verified = new WeakMap<pg.Pool, Promise<void>>();
  #topology: Topology | null = null;
  #target: HostPort | null = null;
  #pool: pg.Pool | null = null;
  #subscription: Subscription | null = null;
  #refreshing: Promise<void> | null = null;
  #lastRefresh = 0;
  #ended = false;

  constructor(options: PoolOptions) {
    super();
    this.options = options;
    this.#pgConfig = Object.fromEntries(
      Object.entries(options).filter(([k]) => !OWN_KEYS.has(k)),
    ) as pg.PoolConfig;
    this.#store = new RedisCoordinationStore({
      urls: options.redis,
      prefix: options.prefix ?? 'pgvigil',
      commandTimeoutMs: 1000,
      ...(options.redisAuth ? { auth: options.redisAuth } : {}),
    });
    this.reader = options.read
      ? new ReadPool(this, this.#pgConfig, options.read.maxLagBytes)
      : null;
  }

  /** The node writes go to, `host:port` (null before the first topology or probe). */
  get primary(): string | null {
    return this.#target ? `${this.#target.host}:${this.#target.port}` : null;
  }

  get topology(): Topology | null {
    return this.#topology;
  }

  get totalCount(): number {
    return this.#pool?.totalCount ?? 0;
  }
  get idleCount(): number {
    return this.#pool?.idleCount ?? 0;
  }
  get waitingCount(): number {
    return this.#pool?.waitingCount ?? 0;
  }

  async start(): Promise<void> {
    await this.#store.ready(2000);
    await this.refresh();
    this.#subscription = await subscribe({
      cluster: this.options.cluster,
      redis: this.options.redis,
      ...(this.options.prefix ? { prefix: this.options.prefix } : {}),
      ...(this.options.redisAuth?.username ? { username: this.options.redisAuth.username } : {}),
      ...(this.options.redisAuth?.password ? { password: this.options.redisAuth.password } : {}),
      ...(this.options.redisAuth?.tls ? { tlsFiles: this.options.redisAuth.tls } : {}),
      ...(this.options.redisTls ? { tls: this.options.redisTls } : {}),
      onEvent: (e) => {
        if (e.type === 'topology-changed') this.#apply(e.topology);
      },
    });
    // a change published between the first read and the subscription
    await this.refresh(true);
  }

  /** Re-read the topology (Redis majority; probing the nodes when Redis does not answer). */
  refresh(force = false): Promise<void> {
    if (!force && Date.now() - this.#lastRefresh < 200 && this.#refreshing === null)
      return Promise.resolve();
    this.#refreshing ??= this.#readTopology().finally(() => {
      this.#lastRefresh = Date.now();
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  async #readTopology(): Promise<void> {
    try {
      const read = await this.#store.readTopology(this.options.cluster);
      if (read.value) return this.#apply(read.value);
    } catch {
      // Redis unreachable: find the writable node ourselves
    }
    const known = [...nodesOf(this.#topology), ...(this.options.hosts ?? [])];
    const found = await findWritable(known, this.#pgConfig);
    if (found) this.#switchTo(found);
  }

  #apply(next: Topology): void {
    if (this.#ended || (this.#topology && next.epoch < this.#topology.epoch)) return;
    this.#topology = next;
    const primary = primaryOf(next);
    if (primary) this.#switchTo(primary);
    this.reader?.follow(next);
    this.emit('topology', next);
  }

  #switchTo(target: HostPort): void {
    if (this.#target && this.#target.host === target.host && this.#target.port === target.port)
      return;
    const old = this.#pool;
    this.#target = target;
    this.#pool = this.#newPool(target);
    if (old) void old.end().catch(() => undefined); // drain: the old server may be dead or hung
  }

  #newPool(target: HostPort): pg.Pool {
    const pool = new pg.Pool({
      connectionTimeoutMillis: 1000,
      query_timeout: 5000,
      ...this.#pgConfig,
      host: target.host,
      port: target.port,
    });
    // a connection that breaks while checked out but idle would otherwise throw in the process
    pool.on('connect', (client) => client.on('error', () => undefined));
    pool.on('error', (err) => {
      // an idle connection whose server died: expected during a failover
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
    return pool;
  }

  /** Writable once per pool (memoized; forgotten on failure so that the next try asks again). */
  #verify(pool: pg.Pool): Promise<void> {
    let check = this.#verified.get(pool);
    if (!check) {
      check = isWritable(pool).then((writable) => {
        if (!writable) throw new NotWritableError('the target server is in recovery');
      });
      check.catch(() => this.#verified.delete(pool));
      this.#verified.set(pool, check);
    }
    return check;
  }

  /** A connection to the current, writable primary; retried until the deadline. */
  async #checkout(deadline: number): Promise<pg.PoolClient> {
    for (let attempt = 0; ; attempt++) {
      if (this.#ended) throw new Error('pgvigil pool has ended');
      const pool = this.#pool;
      try {
        if (!pool) throw new NotWritableError('no primary known yet');
        await this.#verify(pool);
        const client = await pool.connect();
        if (pool === this.#pool) return client;
        client.release(); // switched while connecting
      } catch (err) {
        if (!(err instanceof NotWritableError) && !isConnectionError(err)) throw err;
        if (Date.now() >= deadline) throw err;
        await this.refresh();
        await sleep(Math.min(250, 25 * 2 ** Math.min(attempt, 4)));
      }
    }
  }

  #deadline(): number {
    return Date.now() + (this.options.failoverTimeoutMs ?? 15_000);
  }

  /** pg.Pool.query: on the current primary; retried only when it could not be sent. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    const deadline = this.#deadline();
    for (;;) {
      const client = await this.#checkout(deadline);
      try {
        const result = await client.query<R>(text as string, values);
        client.release();
        return result;
      } catch (err) {
        const broken = isConnectionError(err) || isReadOnlyRefusal(err);
        client.release(broken ? (err as Error) : undefined);
        if (broken) {
          this.#forgetVerification();
          void this.refresh().catch(() => undefined);
        }
        // refused as read-only: it had no effect, so it is sent again to the new primary
        if (!isReadOnlyRefusal(err) || Date.now() >= deadline) throw err;
      }
    }
  }

  /** pg.Pool.connect: a client of the current primary (release() it as usual). */
  connect(): Promise<pg.PoolClient> {
    return this.#checkout(this.#deadline());
  }

  /** The current target is re-checked before its next use (it answered as not writable). */
  #forgetVerification(): void {
    if (this.#pool) this.#verified.delete(this.#pool);
  }

  async end(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    await this.#subscription?.close().catch(() => undefined);
    await this.#store.close();
    await Promise.all([this.#pool?.end().catch(() => undefined), this.reader?.end()]);
  }
}

/** Start a pool following the primary of `options.cluster`. */
export async function createPool(options: PoolOptions): Promise<PgvigilPool> {
  const pool = new PgvigilPool(options);
  try {
    await pool.start();
  } catch (err) {
    await pool.end();
    throw err;
  }
  return pool;
}
