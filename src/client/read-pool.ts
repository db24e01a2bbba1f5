/**
 * `pool.reader`: reads spread over the healthy standbys (topology role standby, state up)
 * whose replay is within `maxLagBytes` of the primary, checked at each read:
 *
 *   1. the primary's `pg_current_wal_lsn()` (through the write pool);
 *   2. on a standby connection, `pg_wal_lsn_diff(<that lsn>, pg_last_wal_replay_lsn())`;
 *   3. within the limit: the read runs on that same connection, so it sees at least
 *      everything the primary had at step 1 minus `maxLagBytes`; otherwise the next standby.
 *
 * With no standby within the limit the read goes to the primary: a reader never answers from
 * a standby lagging past its limit.
 */
import pg from 'pg';

import type { Topology } from '../core/model.js';

/** What the reader needs of the write pool. */
export interface PrimaryQuery {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
}

export class ReadPool {
  readonly #primary: PrimaryQuery;
  readonly #config: pg.PoolConfig;
  readonly #maxLagBytes: number;
  readonly #pools = new Map<string, pg.Pool>();
  #standbys: string[] = [];
  #next = 0;

  constructor(primary: PrimaryQuery, config: pg.PoolConfig, maxLagBytes: number) {
    this.#primary = primary;
    this.#config = config;
    this.#maxLagBytes = maxLagBytes;
  }

  /** The standbys of a newer topology (pools of nodes no longer standbys are ended). */
  follow(t: Topology): void {
    const standbys = t.nodes.filter((n) => n.role === 'standby' && n.state === 'up');
    this.#standbys = standbys.map((n) => `${n.host}:${n.port}`);
    for (const [key, pool] of this.#pools)
      if (!this.#standbys.includes(key)) {
        this.#pools.delete(key);
        void pool.end().catch(() => undefined);
      }
  }

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    const order = this.#rotation();
    if (order.length > 0) {
      const { rows } = await this.#primary.query<{ lsn: string }>(
        'SELECT pg_current_wal_lsn()::text AS lsn',
      );
      const lsn = rows[0]!.lsn;
      for (const key of order) {
        const answer = await this.#tryStandby<R>(key, lsn, text, values);
        if (answer) return answer;
      }
    }
    return this.#primary.query<R>(text, values);
  }

  async #tryStandby<R extends pg.QueryResultRow>(
    key: string,
    primaryLsn: string,
    text: string,
    values: unknown[] | undefined,
  ): Promise<pg.QueryResult<R> | null> {
    let client: pg.PoolClient;
    try {
      client = await this.#poolOf(key).connect();
    } catch {
      return null; // unreachable: the next one
    }
    try {
      const { rows } = await client.query<{ lag: string | null }>(
        'SELECT pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::text AS lag',
        [primaryLsn],
      );
      const lag = rows[0]?.lag;
      if (lag === null || lag === undefined || Number(lag) > this.#maxLagBytes) {
        client.release();
        return null;
      }
      const result = await client.query<R>(text, values);
      client.release();
      return result;
    } catch (err) {
      client.release(err as Error);
      throw err;
    }
  }

  #rotation(): string[] {
    const n = this.#standbys.length;
    if (n === 0) return [];
    const start = this.#next++ % n;
    return [...this.#standbys.slice(start), ...this.#standbys.slice(0, start)];
  }

  #poolOf(key: string): pg.Pool {
    let pool = this.#pools.get(key);
    if (!pool) {
      const [host, port] = [
        key.slice(0, key.lastIndexOf(':')),
        key.slice(key.lastIndexOf(':') + 1),
      ];
      pool = new pg.Pool({
        connectionTimeoutMillis: 1000,
        query_timeout: 5000,
        ...this.#config,
        host,
        port: Number(port),
      });
      pool.on('error', () => undefined);
      pool.on('connect', (client) => client.on('error', () => undefined));
      this.#pools.set(key, pool);
    }
    return pool;
  }

  async end(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
  }
}
