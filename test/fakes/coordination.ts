/**
 * In-memory CoordinationStore for unit tests of the runtime: N fake Redis servers that can be
 * taken down and brought back, TTLs on an injectable clock, and the same rules as the Redis
 * adapter (the CAS rule, majority, tie-breaks and pause merge come from the same pure
 * functions in src/adapters/redis/majority.ts). test/contract/ holds both to one suite.
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
import {
  acceptsTopologyWrite,
  majorityOf,
  mergePause,
  newestBy,
  noMajorityMessage,
  parsePause,
  parseStamped,
  parseTopology,
  pickRecord,
  pickTopology,
  RecentIds,
  type TopologyWrite,
} from '../../src/adapters/redis/majority.js';
import { CoordinationUnavailable, UserError } from '../../src/core/errors.js';
import type { StampedEvent } from '../../src/core/events.js';
import type { PauseState, SentinelPresence, Topology, Vote } from '../../src/core/model.js';
import type {
  CasResult,
  CoordinationStore,
  MajorityRead,
  StoredRecord,
} from '../../src/ports/coordination.js';

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

interface Entry {
  value: string;
  expiresAt: number | null;
}

class FakeServer {
  up = true;
  readonly kv = new Map<string, Entry>();
  readonly streams = new Map<string, { id: string; json: string }[]>();
  readonly channels = new Map<string, Set<(message: string) => void>>();
  #lastMs = 0;
  #seq = 0;

  constructor(
    readonly url: string,
    readonly now: () => number,
  ) {}

  get(key: string): string | null {
    const entry = this.kv.get(key);
    if (entry === undefined) return null;
    if (entry.expiresAt !== null && entry.expiresAt <= this.now()) {
      this.kv.delete(key);
      return null;
    }
    return entry.value;
  }

  set(key: string, value: string, ttlMs?: number): void {
    this.kv.set(key, { value, expiresAt: ttlMs === undefined ? null : this.now() + ttlMs });
  }

  del(key: string): void {
    this.kv.delete(key);
  }

  /** Live values of keys starting with `prefix`. */
  scan(prefix: string): string[] {
    const out: string[] = [];
    for (const key of [...this.kv.keys()]) {
      if (!key.startsWith(prefix)) continue;
      const value = this.get(key);
      if (value !== null) out.push(value);
    }
    return out;
  }

  xadd(key: string, json: string, maxLen: number): string {
    const ms = Math.max(Math.floor(this.now()), this.#lastMs);
    this.#seq = ms === this.#lastMs ? this.#seq + 1 : 0;
    this.#lastMs = ms;
    const id = `${ms}-${this.#seq}`;
    const stream = this.streams.get(key) ?? [];
    stream.push({ id, json });
    if (stream.length > maxLen) stream.splice(0, stream.length - maxLen);
    this.streams.set(key, stream);
    return id;
  }

  publish(channel: string, message: string): void {
    for (const handler of this.channels.get(channel) ?? []) queueMicrotask(() => handler(message));
  }

  /** A restart without persistence: everything is gone (subscribers reconnect, as ioredis does). */
  wipe(): void {
    this.kv.clear();
    this.streams.clear();
    this.#lastMs = 0;
    this.#seq = 0;
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
      (_, i) => new FakeServer(`fake://redis-${i}`, this.now),
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

type Answer<T> = { ok: true; value: T } | { ok: false; error: string };

interface FakeLock {
  value: string;
  expiration: number;
}

export interface FakeStoreOptions extends FakeBackendOptions {
  /** share servers with other stores; when absent a private backend is made from the options */
  backend?: FakeRedisBackend;
  prefix?: string;
}

export class FakeCoordinationStore implements CoordinationStore {
  readonly backend: FakeRedisBackend;
  readonly total: number;
  readonly majority: number;
  readonly keys: Keys;
  /** every event this store published, in order (handy for assertions) */
  readonly published: StampedEvent[] = [];

  readonly #locks = new Map<string, FakeLock>();
  readonly #unsubscribers = new Set<() => void>();
  #closed = false;

  constructor(options: FakeStoreOptions = {}) {
    this.backend = options.backend ?? new FakeRedisBackend(options);
    this.total = this.backend.servers.length;
    this.majority = majorityOf(this.total);
    this.keys = makeKeys(options.prefix);
  }

  down(i: number): void {
    this.backend.down(i);
  }

  up(i: number): void {
    this.backend.up(i);
  }

  get #now(): number {
    return this.backend.now();
  }

  // ---- topology -------------------------------------------------------------------------

  async readTopology(cluster: string): Promise<MajorityRead<Topology | null>> {
    const key = this.keys.topology(cluster);
    const values = this.#requireMajority(await this.#onAll((s) => parseTopology(s.get(key))));
    return { value: pickTopology(values), answered: values.length, total: this.total };
  }

  async casTopology(
    cluster: string,
    expectedEpoch: number,
    next: Topology,
    writer: string,
  ): Promise<CasResult> {
    if (next.epoch !== expectedEpoch + 1) {
      throw new Error(
        `casTopology: next epoch ${next.epoch} is not expected epoch ${expectedEpoch} + 1`,
      );
    }
    return this.#writeTopology(
      cluster,
      { kind: 'cas', expectedEpoch, nextEpoch: next.epoch, writer },
      next,
      writer,
    );
  }

  async updateTopology(cluster: string, next: Topology, writer: string): Promise<CasResult> {
    return this.#writeTopology(
      cluster,
      { kind: 'update', nextEpoch: next.epoch, writer },
      next,
      writer,
    );
  }

  async #writeTopology(
    cluster: string,
    write: TopologyWrite,
    next: Topology,
    writer: string,
  ): Promise<CasResult> {
    const key = this.keys.topology(cluster);
    const json = JSON.stringify({ ...next, committedBy: writer });
    const previous = new Map<FakeServer, string | null>();
    const answers = await this.#onAll((s) => {
      const raw = s.get(key);
      const stored = parseTopology(raw);
      const stamp =
        raw === null
          ? null
          : { epoch: stored?.epoch ?? 0, committedBy: stored?.committedBy ?? null };
      const accepted = acceptsTopologyWrite(stamp, write);
      if (accepted) {
        previous.set(s, raw);
        s.set(key, json);
      }
      return { accepted, storedEpoch: stamp?.epoch ?? 0 };
    });
    let accepted = 0;
    let seenEpoch = 0;
    for (const a of answers) {
      if (!a.ok) continue;
      if (a.value.accepted) accepted++;
      else seenEpoch = Math.max(seenEpoch, a.value.storedEpoch);
    }
    const committed = accepted >= this.majority;
    if (!committed && write.kind === 'cas' && previous.size > 0) {
      // a lost CAS leaves no trace on the minority that took it (REVERT_SCRIPT in the adapter)
      await this.#onAll((s) => {
        const prev = previous.get(s);
        const now = parseTopology(s.get(key));
        if (prev === undefined || now?.epoch !== next.epoch || now.committedBy !== writer) return;
        if (prev === null) s.del(key);
        else s.set(key, prev);
      });
    }
    return { committed, accepted, total: this.total, seenEpoch };
  }

  // ---- votes and presence ---------------------------------------------------------------

  async publishVote(cluster: string, vote: Vote, ttlMs: number): Promise<void> {
    const key = this.keys.vote(cluster, vote.sentinel);
    await this.#onAll((s) => s.set(key, JSON.stringify(vote), Math.max(1, Math.round(ttlMs))));
  }

  async readVotes(cluster: string): Promise<MajorityRead<Vote[]>> {
    return this.#readStamped<Vote>(`${this.keys.prefix}:${cluster}:vote:`, (v) => v.sentinel);
  }

  async publishPresence(cluster: string, presence: SentinelPresence, ttlMs: number): Promise<void> {
    const key = this.keys.sentinel(cluster, presence.id);
    await this.#onAll((s) => s.set(key, JSON.stringify(presence), Math.max(1, Math.round(ttlMs))));
  }

  async readPresence(cluster: string): Promise<MajorityRead<SentinelPresence[]>> {
    return this.#readStamped<SentinelPresence>(
      `${this.keys.prefix}:${cluster}:sentinel:`,
      (p) => p.id,
    );
  }

  async #readStamped<T extends { atWall: number }>(
    prefix: string,
    keyOf: (item: T) => string,
  ): Promise<MajorityRead<T[]>> {
    const lists = this.#requireMajority(
      await this.#onAll((s) =>
        s
          .scan(prefix)
          .map((raw) => parseStamped<T>(raw))
          .filter((v): v is T => v !== null && typeof keyOf(v) === 'string'),
      ),
    );
    return { value: newestBy(lists, keyOf), answered: lists.length, total: this.total };
  }

  // ---- pause ----------------------------------------------------------------------------

  async setPause(cluster: string, state: PauseState): Promise<void> {
    const key = this.keys.paused(cluster);
    this.#requireMajority(await this.#onAll((s) => s.set(key, JSON.stringify(state))));
  }

  async readPause(cluster: string): Promise<MajorityRead<PauseState>> {
    const key = this.keys.paused(cluster);
    const raws = this.#requireMajority(await this.#onAll((s) => s.get(key)));
    return { value: mergePause(raws.map(parsePause)), answered: raws.length, total: this.total };
  }

  // ---- records --------------------------------------------------------------------------

  async putRecord(
    cluster: string,
    name: string,
    value: StoredRecord,
    ttlMs: number,
  ): Promise<void> {
    const key = this.keys.record(cluster, name);
    this.#requireMajority(await this.#onAll((s) => s.set(key, JSON.stringify(value), ttlMs)));
  }

  async claimRecord(
    cluster: string,
    name: string,
    value: StoredRecord,
    ttlMs: number,
  ): Promise<boolean> {
    const key = this.keys.record(cluster, name);
    const answers = await this.#onAll((s) => {
      if (s.get(key) !== null) return false;
      s.set(key, JSON.stringify(value), ttlMs);
      return true;
    });
    const won = answers.filter((a) => a.ok && a.value).length;
    if (won >= this.majority) return true;
    await this.deleteRecord(cluster, name, value.id);
    return false;
  }

  async getRecord<T extends StoredRecord>(
    cluster: string,
    name: string,
  ): Promise<MajorityRead<T | null>> {
    const key = this.keys.record(cluster, name);
    const raws = this.#requireMajority(await this.#onAll((s) => s.get(key)));
    return { value: pickRecord<T>(raws), answered: raws.length, total: this.total };
  }

  async deleteRecord(cluster: string, name: string, id: string): Promise<void> {
    const key = this.keys.record(cluster, name);
    await this.#onAll((s) => {
      const raw = s.get(key);
      if (raw !== null && (JSON.parse(raw) as { id?: string }).id === id) s.del(key);
    });
  }

  // ---- leader (redlock's rules: majority of SET NX PX, extend only our own value) -------

  async tryLead(cluster: string, ttlMs: number): Promise<boolean> {
    if (this.#closed) return false;
    const ttl = Math.max(1, Math.round(ttlMs));
    const key = this.keys.lock(cluster);
    const held = this.#locks.get(cluster);
    const start = this.#now;
    const extending = held !== undefined && held.expiration > start;
    const value = extending ? held.value : randomBytes(16).toString('hex');
    const answers = await this.#onAll((s) => {
      const current = s.get(key);
      const mine = extending ? current === value : current === null;
      if (mine) s.set(key, value, ttl);
      return mine;
    });
    const votes = answers.filter((a) => a.ok && a.value).length;
    if (votes >= this.majority) {
      // redlock's validity: start + ttl - drift (1% + 2 ms)
      this.#locks.set(cluster, { value, expiration: start + ttl - (Math.round(0.01 * ttl) + 2) });
      return true;
    }
    this.#locks.delete(cluster);
    await this.#release(key, value);
    return false;
  }

  async releaseLead(cluster: string): Promise<void> {
    const held = this.#locks.get(cluster);
    this.#locks.delete(cluster);
    if (held !== undefined) await this.#release(this.keys.lock(cluster), held.value);
  }

  isLeader(cluster: string): boolean {
    const held = this.#locks.get(cluster);
    return held !== undefined && held.expiration > this.#now;
  }

  async #release(key: string, value: string): Promise<void> {
    await this.#onAll((s) => {
      if (s.get(key) === value) s.del(key);
    });
  }

  // ---- events ---------------------------------------------------------------------------

  async publishEvent(cluster: string, event: StampedEvent): Promise<void> {
    const json = JSON.stringify(event);
    const channel = this.keys.events(cluster);
    const history = this.keys.history(cluster);
    const answers = await this.#onAll((s) => {
      s.publish(channel, json);
      s.xadd(history, json, 10_000);
    });
    if (!answers.some((a) => a.ok)) {
      throw new CoordinationUnavailable(
        `event ${event.type} not published: ${this.#describe(answers)}`,
      );
    }
    this.published.push(event);
  }

  async readHistory(
    cluster: string,
    sinceId: string,
    count: number,
  ): Promise<{ id: string; event: StampedEvent }[]> {
    const since =
      sinceId === '0' || sinceId === '' || sinceId === '-' ? null : parseStreamId(sinceId);
    const key = this.keys.history(cluster);
    for (const server of this.backend.servers) {
      await yieldTurns(this.backend.shuffle ? 1 : 0);
      if (!server.up || this.#closed) continue;
      return (server.streams.get(key) ?? [])
        .filter((e) => since === null || compareIds(parseStreamId(e.id), since) > 0)
        .slice(0, Math.max(1, Math.floor(count)))
        .map((e) => ({ id: e.id, event: JSON.parse(e.json) as StampedEvent }));
    }
    throw new CoordinationUnavailable('no Redis server answered for the event history');
  }

  async subscribe(
    cluster: string,
    onEvent: (event: StampedEvent) => void,
  ): Promise<() => Promise<void>> {
    if (this.#closed) throw new CoordinationUnavailable('coordination store is closed');
    const channel = this.keys.events(cluster);
    const seen = new RecentIds(4096);
    const handler = (message: string): void => {
      if (this.#closed) return;
      const event = JSON.parse(message) as StampedEvent;
      if (!seen.add(typeof event.id === 'string' ? event.id : message)) return;
      onEvent(event);
    };
    for (const server of this.backend.servers) {
      const set = server.channels.get(channel) ?? new Set();
      set.add(handler);
      server.channels.set(channel, set);
    }
    const off = (): void => {
      for (const server of this.backend.servers) server.channels.get(channel)?.delete(handler);
      this.#unsubscribers.delete(off);
    };
    this.#unsubscribers.add(off);
    await yieldTurns(1);
    return async () => off();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#locks.clear();
    for (const off of [...this.#unsubscribers]) off();
  }

  // ---- plumbing -------------------------------------------------------------------------

  async #onAll<T>(op: (server: FakeServer) => T): Promise<Answer<T>[]> {
    return Promise.all(
      this.backend.servers.map(async (server): Promise<Answer<T>> => {
        await yieldTurns(this.backend.shuffle ? Math.floor(Math.random() * 4) : 0);
        if (this.#closed) return { ok: false, error: 'Connection is closed.' };
        if (!server.up) return { ok: false, error: 'connect ECONNREFUSED (fake server down)' };
        return { ok: true, value: op(server) };
      }),
    );
  }

  #requireMajority<T>(answers: Answer<T>[]): T[] {
    const values = answers.flatMap((a) => (a.ok ? [a.value] : []));
    if (values.length < this.majority) throw new CoordinationUnavailable(this.#describe(answers));
    return values;
  }

  #describe<T>(answers: Answer<T>[]): string {
    const failed = answers.flatMap((a, i) =>
      a.ok ? [] : [{ url: this.backend.servers[i]?.url ?? `#${i}`, error: a.error }],
    );
    return noMajorityMessage(this.total, failed);
  }
}

function parseStreamId(id: string): [number, number] {
  const match = /^(\d+)(?:-(\d+))?$/.exec(id);
  if (match === null)
    throw new UserError(`invalid event id "${id}": expected a stream id such as 1700000000000-0`);
  return [Number(match[1]), Number(match[2] ?? 0)];
}

function compareIds(a: [number, number], b: [number, number]): number {
  return a[0] - b[0] || a[1] - b[1];
}

async function yieldTurns(turns: number): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}
