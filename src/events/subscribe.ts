/**
 * `subscribe()` (`pgvigil/events`): every event of a cluster, once each and in id order, for
 * applications (DESIGN.md, "Events").
 *
 * - Pub/sub for speed: one subscribed connection per Redis server (1, 3 or 5, the sentinels'
 *   `coordination.redis`); the same event arrives from each, and is delivered once.
 * - The history stream for catch-up: event ids are the same stream id on every server
 *   (src/core/event-id.ts), so `since` (the last id an application handled) means the same
 *   event whichever server answers. At start, and whenever a subscribed connection is (re)made,
 *   the history after the last delivered id is read from every server that answers and merged.
 * - Delivery is serialized: an event is delivered only when its id is after the last delivered
 *   id, so nothing is delivered twice or out of order.
 * - Reconnects forever with backoff (100 ms doubling to 3 s, jittered) to whichever server
 *   answers; AUTH (`username`/`password`) and `tls` go to every connection as ioredis options.
 */
import { Redis, type RedisOptions } from 'ioredis';

import { DEFAULT_PREFIX, keys } from '../adapters/redis/keys.js';
import { parseEvent } from '../adapters/redis/majority.js';
import { redisTlsOptions } from '../adapters/redis/tls.js';
import { compareEventIds } from '../core/event-id.js';
import type { StampedEvent } from '../core/events.js';
import type { RedisTls } from '../core/tls.js';

export type { EventType, PgvigilEvent, StampedEvent } from '../core/events.js';

export interface SubscribeOptions {
  cluster: string;
  /** the sentinels' Redis servers (`coordination.redis`), `redis://host:port` */
  redis: string[];
  /** resume after this event id; '0' = the whole history; absent = only new events */
  since?: string;
  onEvent: (event: StampedEvent) => void;
  /** a history read that no server answered, or a handler that threw (default: ignored) */
  onError?: (err: Error) => void;
  prefix?: string;
  username?: string;
  password?: string;
  /** ioredis `tls` options, given to every connection as they are */
  tls?: RedisOptions['tls'];
  /** or the files of coordination.tls (CA, client cert and key), read for rediss:// servers */
  tlsFiles?: RedisTls;
  /** connect and command timeout per server (default 1000 ms) */
  timeoutMs?: number;
  /** at most this many events per catch-up read (default 10000) */
  catchUpCount?: number;
}

export interface Subscription {
  /** the id of the last event delivered (null before the first) */
  readonly lastId: string | null;
  close(): Promise<void>;
}

interface Server {
  sub: Redis;
  cmd: Redis;
}

export function backoffMs(attempt: number): number {
  return Math.min(3000, 100 * 2 ** Math.min(attempt, 5)) + Math.floor(Math.random() * 100);
}

class EventSubscription implements Subscription {
  readonly #opts: SubscribeOptions;
  readonly #channel: string;
  readonly #history: string;
  readonly #servers: Server[];
  #lastId: string | null;
  /** start at the top of the history (no `since`): the id is learned from the first read */
  #fromTop: boolean;
  #chain: Promise<void> = Promise.resolve();
  #retry: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(opts: SubscribeOptions) {
    this.#opts = opts;
    const k = keys(opts.prefix ?? DEFAULT_PREFIX);
    this.#channel = k.events(opts.cluster);
    this.#history = k.history(opts.cluster);
    this.#fromTop = opts.since === undefined;
    this.#lastId = opts.since === undefined || opts.since === '0' ? null : opts.since;
    this.#servers = opts.redis.map((url) => this.#connect(url));
  }

  get lastId(): string | null {
    return this.#lastId;
  }

  /** Subscribed on the servers that answer within the timeout, and caught up. */
  async start(): Promise<void> {
    const timeout = this.#opts.timeoutMs ?? 1000;
    await Promise.all(
      this.#servers.map((s) =>
        Promise.race([
          s.sub.subscribe(this.#channel).catch(() => undefined),
          new Promise((resolve) => setTimeout(resolve, timeout * 2).unref()),
        ]),
      ),
    );
    await this.#enqueue(() => this.#catchUp());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    // disconnect, not QUIT: a QUIT queued on a server that is down would wait for it
    for (const s of this.#servers) for (const c of [s.sub, s.cmd]) c.disconnect();
  }

  #connect(url: string): Server {
    const timeout = this.#opts.timeoutMs ?? 1000;
    const tls = this.#opts.tls ?? redisTlsOptions(url, this.#opts.tlsFiles);
    const base: RedisOptions = {
      ...(this.#opts.username === undefined ? {} : { username: this.#opts.username }),
      ...(this.#opts.password === undefined ? {} : { password: this.#opts.password }),
      ...(tls === undefined ? {} : { tls }),
      connectTimeout: timeout,
      retryStrategy: backoffMs,
    };
    const sub = new Redis(url, { ...base, enableOfflineQueue: true, maxRetriesPerRequest: null });
    const cmd = new Redis(url, {
      ...base,
      commandTimeout: timeout,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
    });
    for (const c of [sub, cmd]) c.on('error', () => undefined); // reconnects by itself
    sub.on('message', (from: string, message: string) => {
      if (from === this.#channel) void this.#enqueue(async () => this.#deliver(message));
    });
    // after a reconnect (ioredis resubscribes by itself): what was published meanwhile
    let first = true;
    sub.on('ready', () => {
      if (first) first = false;
      else void this.#enqueue(() => this.#catchUp());
    });
    return { sub, cmd };
  }

  #enqueue(task: () => Promise<void>): Promise<void> {
    this.#chain = this.#chain.then(async () => {
      if (!this.#closed) await task().catch((err: unknown) => this.#error(err));
    });
    return this.#chain;
  }

  #deliver(json: string): void {
    const event = parseEvent(json);
    if (event === null) return;
    if (this.#fromTop) return; // before the first read: the catch-up will place it
    if (this.#lastId !== null && compareEventIds(event.id, this.#lastId) <= 0) return;
    this.#lastId = event.id;
    try {
      this.#opts.onEvent(event);
    } catch (err) {
      this.#error(err);
    }
  }

  /** The history after the last delivered id, merged from every server that answers. */
  async #catchUp(): Promise<void> {
    const count = this.#opts.catchUpCount ?? 10_000;
    const start = this.#lastId === null ? '-' : `(${this.#lastId}`;
    const answers = await Promise.all(
      this.#servers
        .map(async (s) =>
          this.#fromTop
            ? s.cmd.xrevrange(this.#history, '+', '-', 'COUNT', 1)
            : s.cmd.xrange(this.#history, start, '+', 'COUNT', count),
        )
        .map((p) =>
          p.then(
            (v) => v,
            () => null,
          ),
        ),
    );
    if (answers.every((a) => a === null)) {
      this.#scheduleRetry();
      throw new Error(`no Redis server answered for the history of ${this.#opts.cluster}`);
    }
    const entries = new Map<string, string>();
    for (const answer of answers)
      for (const [id, fields] of answer ?? []) {
        const at = fields.indexOf('event');
        const json = at >= 0 ? fields[at + 1] : undefined;
        if (json !== undefined && !entries.has(id)) entries.set(id, json);
      }
    const ids = [...entries.keys()].sort(compareEventIds);
    if (this.#fromTop) {
      this.#fromTop = false;
      this.#lastId = ids.at(-1) ?? '0-0';
      return;
    }
    for (const id of ids) this.#deliver(entries.get(id)!);
  }

  #scheduleRetry(): void {
    if (this.#retry || this.#closed) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      void this.#enqueue(() => this.#catchUp());
    }, backoffMs(3));
    this.#retry.unref();
  }

  #error(err: unknown): void {
    this.#opts.onError?.(err instanceof Error ? err : new Error(String(err)));
  }
}

/**
 * Subscribe to the events of `cluster`. Resolves once subscribed on the servers that answered
 * within the timeout and caught up from `since`; the others join when they come up.
 */
export async function subscribe(opts: SubscribeOptions): Promise<Subscription> {
  if (opts.redis.length === 0) throw new Error('subscribe: redis needs at least one server URL');
  const subscription = new EventSubscription(opts);
  try {
    await subscription.start();
  } catch (err) {
    await subscription.close();
    throw err;
  }
  return subscription;
}
