/**
 * In-memory CoordinationStore for unit tests of the runtime: N fake Redis servers that can be
 * taken down and brought back, TTLs on an injectable clock. The majority rules are not
 * re-implemented here: FakeCoordinationStore runs the adapter's own engine
 * (src/adapters/redis/majority-store.ts) over `FakeServer`s (coordination-server.ts), which
 * implement the same per-server interface as the ioredis links (src/adapters/redis/server.ts)
 * with the TypeScript twins of the Lua rules. test/contract/ holds both to one suite.
 *
 * Only microtasks are used to make operations asynchronous (no timers), so it works under
 * vitest fake timers. Each server answers after a random number of microtask turns, so
 * concurrent writers interleave as they would against real servers.
 *
 * Several stores (sentinels) share one `FakeRedisBackend`:
 *   const backend = new FakeRedisBackend({ servers: 3, now: clock.now });
 *   const a = new FakeCoordinationStore({ backend }), b = new FakeCoordinationStore({ backend });
 */
import { randomBytes } from 'node:crypto';

import { type Keys, keys as makeKeys } from '../../src/adapters/redis/keys.js';
import { deliverOnce } from '../../src/adapters/redis/majority.js';
import { MajorityStore } from '../../src/adapters/redis/majority-store.js';
import { CoordinationUnavailable } from '../../src/core/errors.js';
import type { StampedEvent } from '../../src/core/events.js';
import type { CoordinationStore } from '../../src/ports/coordination.js';
import { FakeServer, yieldTurns } from './coordination-server.js';

/** A clock you move by hand. `now` is bound, so it can be passed around as a function. */
export class ManualClock {
  #t: number;
  constructor(start = 1_700_000_000_000) {
    this.#t = start;
  }
  readonly now = (): number => this.#t;
  advance(ms: number): void {
    this.#t += ms;
  }
}

export interface FakeBackendOptions {
  servers?: number;
  /** wall clock in ms for TTLs and lock expiry (default Date.now) */
  now?: () => number;
  /** answer in a random order (default true); false = in server order */
  shuffle?: boolean;
}

/** The shared "Redis servers" several fake stores (sentinels) talk to. */
export class FakeRedisBackend {
  readonly servers: FakeServer[];
  readonly now: () => number;
  readonly shuffle: boolean;

  constructor(options: FakeBackendOptions = {}) {
    const count = options.servers ?? 3;
    this.now = options.now ?? (() => Date.now());
    this.shuffle = options.shuffle ?? true;
    this.servers = Array.from(
      { length: count },
      (_, i) => new FakeServer(`fake://redis-${i}`, this.now, this.shuffle),
    );
  }

  /** The server stops answering (every operation on it fails). Its data is kept. */
  down(i: number): void {
    this.#server(i).up = false;
  }

  up(i: number): void {
    this.#server(i).up = true;
  }

  /** Lose everything a server holds (a restart without persistence). */
  wipe(i: number): void {
    this.#server(i).wipe();
  }

  #server(i: number): FakeServer {
    const server = this.servers[i];
    if (server === undefined)
      throw new RangeError(`no fake Redis server #${i} (of ${this.servers.length})`);
    return server;
  }
}

interface FakeLock {
  value: string;
  expiration: number;
}

export interface FakeStoreOptions extends FakeBackendOptions {
  /** share servers with other stores; when absent a private backend is made from the options */
  backend?: FakeRedisBackend;
  prefix?: string;
}

export class FakeCoordinationStore extends MajorityStore<FakeServer> implements CoordinationStore {
  readonly backend: FakeRedisBackend;
  readonly keys: Keys;
  /** every event this store published, in order (handy for assertions) */
  readonly published: StampedEvent[] = [];

  readonly #locks = new Map<string, FakeLock>();
  readonly #unsubscribers = new Set<() => void>();

  constructor(options: FakeStoreOptions = {}) {
    const backend = options.backend ?? new FakeRedisBackend(options);
    const keys = makeKeys(options.prefix);
    super(backend.servers, keys);
    this.backend = backend;
    this.keys = keys;
  }

  down(i: number): void {
    this.backend.down(i);
  }

  up(i: number): void {
    this.backend.up(i);
  }

  // ---- events: what this store published, for assertions --------------------------------

  override async publishEvent(cluster: string, event: StampedEvent): Promise<{ laterId?: string }> {
    const outcome = await super.publishEvent(cluster, event);
    this.published.push(event);
    return outcome;
  }

  // ---- leader: redlock's rules (majority of SET NX PX, extend and release only our value) --
  // The adapter runs the redlock library itself, which drives ioredis clients directly, so
  // the lock cannot be the engine's; this emulation runs on the engine's onAll.

  async tryLead(cluster: string, ttlMs: number): Promise<boolean> {
    if (this.closed) return false;
    const ttl = Math.max(1, Math.round(ttlMs));
    const key = this.keys.lock(cluster);
    const held = this.#locks.get(cluster);
    const start = this.backend.now();
    const extending = held !== undefined && held.expiration > start;
    const value = extending ? held.value : randomBytes(16).toString('hex');
    const answers = await this.onAll((s) => s.lock(key, value, ttl, extending));
    if (answers.filter((a) => a.ok && a.value).length >= this.majority) {
      // redlock's validity: start + ttl - drift (1% + 2 ms)
      this.#locks.set(cluster, { value, expiration: start + ttl - (Math.round(0.01 * ttl) + 2) });
      return true;
    }
    this.#locks.delete(cluster);
    await this.onAll((s) => s.unlock(key, value));
    return false;
  }

  async releaseLead(cluster: string): Promise<void> {
    const held = this.#locks.get(cluster);
    this.#locks.delete(cluster);
    if (held === undefined) return;
    const key = this.keys.lock(cluster);
    await this.onAll((s) => s.unlock(key, held.value));
  }

  isLeader(cluster: string): boolean {
    const held = this.#locks.get(cluster);
    return held !== undefined && held.expiration > this.backend.now();
  }

  // ---- subscriptions: a handler on every in-memory server -------------------------------

  async subscribe(
    cluster: string,
    onEvent: (event: StampedEvent) => void,
  ): Promise<() => Promise<void>> {
    if (this.closed) throw new CoordinationUnavailable('coordination store is closed');
    const deliver = deliverOnce(onEvent);
    const handler = (message: string): void => {
      if (!this.closed) deliver(message);
    };
    const channel = this.keys.events(cluster);
    const offs = this.backend.servers.map((server) => server.listen(channel, handler));
    const off = (): void => {
      for (const o of offs) o();
      this.#unsubscribers.delete(off);
    };
    this.#unsubscribers.add(off);
    await yieldTurns(1);
    return async () => off();
  }

  async close(): Promise<void> {
    this.markClosed();
    this.#locks.clear();
    for (const off of [...this.#unsubscribers]) off();
  }
}
