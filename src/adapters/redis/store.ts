/**
 * CoordinationStore over 1, 3 or 5 independent Redis servers, used by majority
 * (DESIGN.md, "Coordination"; the contract is src/ports/coordination.ts).
 *
 * - One RedisLink (link.ts: one failing-fast ioredis client, health logged once per change)
 *   per server; the majority rules are the engine's (majority-store.ts), shared with the
 *   in-memory fake, and library errors count as "that server did not answer".
 * - Specific to this adapter, because they need ioredis connections of their own:
 *   - the leader lock is redlock over the links' clients; a failed acquire or extend is "not
 *     leader this tick" (redlock 5 beta reports spurious quorum errors, upstream #168/#282);
 *   - a subscription opens one dedicated connection per server (a subscribed connection takes
 *     no other command), with the same AUTH as the command clients.
 */
import { Redis } from 'ioredis';
import Redlock, { type Lock } from 'redlock';

import { ConfigError, CoordinationUnavailable } from '../../core/errors.js';
import type { StampedEvent } from '../../core/events.js';
import type { CoordinationStore } from '../../ports/coordination.js';
import { type Keys, keys as makeKeys } from './keys.js';
import {
  clientOptions,
  closeClient,
  type CoordinationLogger,
  type RedisAuth,
  RedisLink,
} from './link.js';
import { deliverOnce } from './majority.js';
import { MajorityStore } from './majority-store.js';

export type { CoordinationLogger, RedisAuth } from './link.js';
export { HISTORY_MAXLEN } from './majority-store.js';

export interface RedisCoordinationOptions {
  urls: string[];
  prefix: string;
  /** per-command timeout; also the connect timeout */
  commandTimeoutMs: number;
  logger?: CoordinationLogger;
  /** AUTH of every connection (a URL's own credentials win for that server) */
  auth?: RedisAuth;
}

export class RedisCoordinationStore extends MajorityStore<RedisLink> implements CoordinationStore {
  readonly keys: Keys;

  readonly #links: RedisLink[];
  readonly #options: RedisCoordinationOptions;
  readonly #redlock: Redlock;
  readonly #locks = new Map<string, Lock>();
  readonly #leading = new Map<string, Promise<boolean>>();
  readonly #subscriptions = new Set<Redis[]>();
  #closed = false;

  constructor(options: RedisCoordinationOptions) {
    if (options.urls.length === 0) {
      throw new ConfigError('coordination.redis: at least one Redis URL is required');
    }
    const keys = makeKeys(options.prefix);
    const timeout = Math.max(1, Math.round(options.commandTimeoutMs));
    const links = options.urls.map(
      (url) => new RedisLink(url, timeout, options.logger, options.auth),
    );
    super(links, keys);
    this.#options = options;
    this.keys = keys;
    this.#links = links;
    this.#redlock = new Redlock(
      this.#links.map((l) => l.client),
      { retryCount: 0, driftFactor: 0.01 },
    );
  }

  /**
   * Wait until every server (or those at `indexes`, in configuration order) is connected, or
   * `timeoutMs`; true when they are.
   */
  async ready(timeoutMs: number, indexes?: number[]): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const links = indexes === undefined ? this.#links : indexes.map((i) => this.#links[i]);
    while (!links.every((l) => l?.client.status === 'ready')) {
      if (Date.now() >= deadline || this.#closed) return false;
      await sleep(20);
    }
    return true;
  }

  // ---- leader (redlock) -----------------------------------------------------------------

  async tryLead(cluster: string, ttlMs: number): Promise<boolean> {
    // One attempt per cluster at a time: a second caller shares the answer.
    const inFlight = this.#leading.get(cluster);
    if (inFlight) return inFlight;
    const attempt = this.#lead(cluster, Math.max(1, Math.round(ttlMs))).finally(() =>
      this.#leading.delete(cluster),
    );
    this.#leading.set(cluster, attempt);
    return attempt;
  }

  async #lead(cluster: string, ttl: number): Promise<boolean> {
    if (this.#closed) return false;
    await Promise.all(
      this.#links.map((l) => (l.client.status === 'ready' ? undefined : l.firstConnect)),
    );
    const held = this.#locks.get(cluster);
    try {
      const lock =
        held !== undefined && held.expiration > Date.now()
          ? await held.extend(ttl)
          : await this.#redlock.acquire([this.keys.lock(cluster)], ttl);
      this.#locks.set(cluster, lock);
      return lock.expiration > Date.now();
    } catch {
      // Not leader this tick. Drop what we may still hold on some servers so that another
      // sentinel does not have to wait for the TTL.
      this.#locks.delete(cluster);
      if (held !== undefined)
        void this.#redlock.release(held, { retryCount: 0 }).catch(() => undefined);
      return false;
    }
  }

  async releaseLead(cluster: string): Promise<void> {
    await this.#leading.get(cluster)?.catch(() => undefined);
    const held = this.#locks.get(cluster);
    this.#locks.delete(cluster);
    if (held === undefined) return;
    await this.#redlock.release(held, { retryCount: 0 }).catch(() => undefined);
  }

  isLeader(cluster: string): boolean {
    const held = this.#locks.get(cluster);
    return held !== undefined && held.expiration > Date.now();
  }

  // ---- subscriptions (dedicated connections) --------------------------------------------

  async subscribe(
    cluster: string,
    onEvent: (event: StampedEvent) => void,
  ): Promise<() => Promise<void>> {
    if (this.#closed) throw new CoordinationUnavailable('coordination store is closed');
    const channel = this.keys.events(cluster);
    const deliver = deliverOnce(onEvent, (err, event) =>
      this.#options.logger?.warn({ err, cluster, event: event.type }, 'event subscriber threw'),
    );
    const timeout = Math.max(1, Math.round(this.#options.commandTimeoutMs));
    const subscribers = this.#links.map((link) => {
      // Its own connection (a subscribed connection takes no other command). It queues while
      // disconnected and resubscribes after every reconnect, so a server that comes back
      // delivers again.
      const sub = new Redis(link.url, {
        ...clientOptions(link.url, timeout, this.#options.auth),
        commandTimeout: undefined,
        enableOfflineQueue: true,
        maxRetriesPerRequest: null,
      });
      sub.on('error', () => undefined); // health is reported by the command client
      sub.on('message', (from: string, message: string) => {
        if (from === channel) deliver(message);
      });
      return sub;
    });
    this.#subscriptions.add(subscribers);
    await Promise.all(subscribers.map((sub) => subscribed(sub, channel, timeout * 2)));
    let closed = false;
    return async () => {
      if (closed) return;
      closed = true;
      this.#subscriptions.delete(subscribers);
      await Promise.all(subscribers.map((sub) => closeClient(sub, timeout)));
    };
  }

  // ---- lifecycle ------------------------------------------------------------------------

  /** Closes every connection (subscriptions too); never hangs. Held locks just expire. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.markClosed();
    this.#locks.clear();
    const timeout = Math.min(1000, Math.max(50, this.#options.commandTimeoutMs));
    const subscribers = [...this.#subscriptions].flat();
    this.#subscriptions.clear();
    await Promise.all([
      ...this.#links.map((link) => link.close(timeout)),
      ...subscribers.map((sub) => closeClient(sub, timeout)),
    ]);
  }
}

/** Resolves when subscribed, when the connection fails, or after `timeoutMs`. */
async function subscribed(sub: Redis, channel: string, timeoutMs: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      sub.off('error', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    timer.unref();
    sub.once('error', done);
    sub.subscribe(channel).then(done, done);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
