/**
 * One connection to one node, with a socket we own so it can always be destroyed:
 * `client.end()` waits for the server, and a SIGSTOPped server never answers.
 */
import type { Socket } from 'node:net';

import pg from 'pg';

import type { PgTls } from '../../core/tls.js';
import { lookupSocket } from './lookup.js';
import { pgSslOptions } from './tls.js';

export interface SessionParams {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  applicationName: string;
  connectTimeoutMs: number;
  /** client-side: a server-side statement_timeout cannot fire in a stopped server */
  queryTimeoutMs: number;
  /** clusters[].tls (absent: no TLS) */
  tls?: PgTls | undefined;
}

export class Session {
  readonly #client: pg.Client;
  readonly #socket: Socket;
  #dead = false;

  private constructor(p: SessionParams) {
    // a name goes through the shared lookup (lookup.ts), so a node whose name hangs cannot
    // queue the lookups of the others
    this.#socket = lookupSocket();
    this.#client = new pg.Client({
      host: p.host,
      port: p.port,
      user: p.user,
      password: p.password,
      database: p.database,
      application_name: p.applicationName,
      connectionTimeoutMillis: p.connectTimeoutMs,
      query_timeout: p.queryTimeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: 1000,
      // a heartbeat or an epoch stamp must not wait for a synchronous standby
      options: '-c synchronous_commit=local',
      stream: () => this.#socket,
      ssl: pgSslOptions(p.tls, p.host),
    });
    // An idle session can be ended by the server (terminated, postmaster died): mark it dead
    // so the next call reconnects instead of reporting that as a fresh failure.
    this.#client.on('error', () => this.destroy());
    this.#client.on('end', () => {
      this.#dead = true;
    });
  }

  static async open(p: SessionParams): Promise<Session> {
    const s = new Session(p);
    try {
      await s.#client.connect();
    } catch (err) {
      s.destroy();
      throw err;
    }
    return s;
  }

  get dead(): boolean {
    return this.#dead;
  }

  /** Simple protocol: several statements in one round trip, one result per statement. */
  async query(text: string): Promise<pg.QueryResult[]> {
    try {
      const r: pg.QueryResult | pg.QueryResult[] = await this.#client.query(text);
      return Array.isArray(r) ? r : [r];
    } catch (err) {
      // SQL errors leave the session usable; anything else (timeout, reset) does not.
      if (!(err instanceof pg.DatabaseError)) this.destroy();
      return Promise.reject(err);
    }
  }

  destroy(): void {
    this.#dead = true;
    this.#socket.destroy();
  }

  /** Polite goodbye (Terminate message), then the socket goes anyway. */
  async close(graceMs = 500): Promise<void> {
    if (this.#dead) return;
    const timer = new Promise<void>((r) => setTimeout(r, graceMs).unref());
    await Promise.race([this.#client.end().catch(() => undefined), timer]);
    this.destroy();
  }
}
