/**
 * CoordinationStore over 1, 3 or 5 independent Redis servers, used by majority
 * (DESIGN.md, "Coordination"; the contract is src/ports/coordination.ts).
 *
 * - One ioredis client per server, failing fast: no offline queue, a command timeout, one
 *   retry per request, reconnecting every 200-500 ms forever. A down server costs a
 *   rejected promise, a hung one (SIGSTOP, blackhole) at most `commandTimeoutMs`.
 * - Every operation runs on all servers at once and counts answers; fewer than a majority
 *   -> CoordinationUnavailable (the loop must not fail over). Library errors never escape
 *   otherwise: they are counted as "that server did not answer".
 * - Server health is logged once per change (down -> up, up -> down), not per command.
 * - The leader lock is redlock; a failed acquire or extend is "not leader this tick" (redlock
 *   5 beta reports spurious quorum errors, upstream #168/#282).
 */
import { Redis, type RedisOptions } from 'ioredis';
import Redlock, { type Lock } from 'redlock';

import { ConfigError, CoordinationUnavailable, UserError } from '../../core/errors.js';
import type { StampedEvent } from '../../core/events.js';
import type { PauseState, SentinelPresence, Topology, Vote } from '../../core/model.js';
import type {
  CasResult,
  CoordinationStore,
  MajorityRead,
  StoredRecord,
} from '../../ports/coordination.js';
import { type Keys, keys as makeKeys } from './keys.js';
import {
  DELETE_IF_ID_SCRIPT,
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
} from './majority.js';
import { REVERT_SCRIPT, runTopologyScript } from './topology-script.js';

export interface CoordinationLogger {
  warn(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
}

export interface RedisCoordinationOptions {
  urls: string[];
  prefix: string;
  /** per-command timeout; also the connect timeout */
  commandTimeoutMs: number;
  logger?: CoordinationLogger;
}

/** Cap of the history stream (XADD MAXLEN ~). */
export const HISTORY_MAXLEN = 10_000;
/** How many event ids a subscription remembers to drop the copies from other servers. */
const DEDUP_IDS = 4096;
const SCAN_COUNT = 1000;
const STREAM_ID = /^\d+(-\d+)?$/;

type Answer<T> = { ok: true; value: T } | { ok: false; error: string };

/** One configured server: its command client and what we last knew of its health. */
class Link {
  readonly url: string;
  readonly label: string;
  readonly client: Redis;
  /** settles once the first connection attempt succeeded or failed (never rejects) */
  readonly firstConnect: Promise<void>;
  reachable: boolean | null = null;

  constructor(url: string, options: RedisOptions, settleAfterMs: number) {
    this.url = url;
    this.label = redact(url);
    this.client = new Redis(url, options);
    this.firstConnect = new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.client.off('ready', done).off('error', done).off('end', done);
        resolve();
      };
      const timer = setTimeout(done, settleAfterMs);
      timer.unref();
      this.client.once('ready', done).once('error', done).once('end', done);
    });
  }
}

export class RedisCoordinationStore implements CoordinationStore {
  readonly total: number;
  readonly majority: number;
  readonly keys: Keys;

  readonly #links: Link[];
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
    this.#options = options;
    this.total = options.urls.length;
    this.majority = majorityOf(this.total);
    this.keys = makeKeys(options.prefix);
    const timeout = Math.max(1, Math.round(options.commandTimeoutMs));
    this.#links = options.urls.map((url) => {
      const link = new Link(url, this.#clientOptions(timeout), timeout + 100);
      link.client.on('error', (err: Error) => this.#note(link, false, err.message));
      link.client.on('ready', () => this.#note(link, true));
      return link;
    });
    this.#redlock = new Redlock(
      this.#links.map((l) => l.client),
      { retryCount: 0, driftFactor: 0.01 },
    );
  }

  /** Health of each server as last seen (null: not tried yet), for `status`. */
  servers(): { url: string; reachable: boolean | null }[] {
    return this.#links.map((l) => ({ url: l.label, reachable: l.reachable }));
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

  // ---- topology -------------------------------------------------------------------------

  async readTopology(cluster: string): Promise<MajorityRead<Topology | null>> {
    const key = this.keys.topology(cluster);
    const answers = await this.#onAll((client) => client.get(key));
    const values = this.#requireMajority(answers);
    return {
      value: pickTopology(values.map(parseTopology)),
      answered: values.length,
      total: this.total,
    };
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
    return this.#writeTopology(cluster, 'cas', expectedEpoch, next, writer);
  }

  async updateTopology(cluster: string, next: Topology, writer: string): Promise<CasResult> {
    return this.#writeTopology(cluster, 'update', next.epoch, next, writer);
  }

  async #writeTopology(
    cluster: string,
    mode: 'cas' | 'update',
    expectedEpoch: number,
    next: Topology,
    writer: string,
  ): Promise<CasResult> {
    const key = this.keys.topology(cluster);
    const json = JSON.stringify({ ...next, committedBy: writer });
    const previous = new Map<Redis, string>();
    const answers = await this.#onAll(async (client) => {
      const answer = await runTopologyScript(client, key, {
        mode,
        expectedEpoch,
        nextEpoch: next.epoch,
        writer,
        json,
      });
      if (answer.accepted) previous.set(client, answer.previous);
      return answer;
    });
    let accepted = 0;
    let seenEpoch = 0;
    for (const answer of answers) {
      if (!answer.ok) continue;
      if (answer.value.accepted) accepted++;
      else seenEpoch = Math.max(seenEpoch, answer.value.storedEpoch);
    }
    const committed = accepted >= this.majority;
    if (!committed && mode === 'cas' && previous.size > 0) {
      // A lost CAS must leave no trace on the minority that took it (see REVERT_SCRIPT).
      const took = this.#links.filter((l) => previous.has(l.client));
      await Promise.all(
        took.map((l) =>
          this.#on(l, (client) =>
            client.eval(
              REVERT_SCRIPT,
              1,
              key,
              String(next.epoch),
              writer,
              previous.get(client) ?? '',
            ),
          ),
        ),
      );
    }
    return { committed, accepted, total: this.total, seenEpoch };
  }

  // ---- votes and presence ---------------------------------------------------------------

  async publishVote(cluster: string, vote: Vote, ttlMs: number): Promise<void> {
    await this.#setEverywhere(this.keys.vote(cluster, vote.sentinel), JSON.stringify(vote), ttlMs);
  }

  async readVotes(cluster: string): Promise<MajorityRead<Vote[]>> {
    return this.#readStamped<Vote>(this.keys.votePattern(cluster), (v) =>
      typeof v.sentinel === 'string' ? v.sentinel : null,
    );
  }

  async publishPresence(cluster: string, presence: SentinelPresence, ttlMs: number): Promise<void> {
    const key = this.keys.sentinel(cluster, presence.id);
    await this.#setEverywhere(key, JSON.stringify(presence), ttlMs);
  }

  async readPresence(cluster: string): Promise<MajorityRead<SentinelPresence[]>> {
    return this.#readStamped<SentinelPresence>(this.keys.sentinelPattern(cluster), (p) =>
      typeof p.id === 'string' ? p.id : null,
    );
  }

  /** Best effort, never throws: a server that missed it is reported by #note. */
  async #setEverywhere(key: string, json: string, ttlMs: number): Promise<void> {
    const px = Math.max(1, Math.round(ttlMs));
    await this.#onAll((client) => client.set(key, json, 'PX', px));
  }

  async #readStamped<T extends { atWall: number }>(
    pattern: string,
    keyOf: (item: T) => string | null,
  ): Promise<MajorityRead<T[]>> {
    const answers = await this.#onAll(async (client) => {
      const found = await scanAll(client, pattern);
      if (found.length === 0) return [];
      const raws = await client.mget(...found);
      return raws
        .map((raw) => parseStamped<T>(raw))
        .filter((v): v is T => v !== null && keyOf(v) !== null);
    });
    const lists = this.#requireMajority(answers);
    return {
      value: newestBy(lists, (v) => keyOf(v) ?? ''),
      answered: lists.length,
      total: this.total,
    };
  }

  // ---- pause ----------------------------------------------------------------------------

  async setPause(cluster: string, state: PauseState): Promise<void> {
    const key = this.keys.paused(cluster);
    const answers = await this.#onAll((client) => client.set(key, JSON.stringify(state)));
    this.#requireMajority(answers);
  }

  async readPause(cluster: string): Promise<MajorityRead<PauseState>> {
    const key = this.keys.paused(cluster);
    const answers = await this.#onAll((client) => client.get(key));
    const raws = this.#requireMajority(answers);
    return { value: mergePause(raws.map(parsePause)), answered: raws.length, total: this.total };
  }

  // ---- records (intents, results, verdict) ----------------------------------------------

  async putRecord(
    cluster: string,
    name: string,
    value: StoredRecord,
    ttlMs: number,
  ): Promise<void> {
    const key = this.keys.record(cluster, name);
    const px = Math.max(1, Math.round(ttlMs));
    this.#requireMajority(
      await this.#onAll((client) => client.set(key, JSON.stringify(value), 'PX', px)),
    );
  }

  async claimRecord(
    cluster: string,
    name: string,
    value: StoredRecord,
    ttlMs: number,
  ): Promise<boolean> {
    const key = this.keys.record(cluster, name);
    const px = Math.max(1, Math.round(ttlMs));
    const answers = await this.#onAll((client) =>
      client.set(key, JSON.stringify(value), 'PX', px, 'NX'),
    );
    const won = answers.filter((a) => a.ok && a.value === 'OK').length;
    if (won >= this.majority) return true;
    await this.deleteRecord(cluster, name, value.id);
    return false;
  }

  async getRecord<T extends StoredRecord>(
    cluster: string,
    name: string,
  ): Promise<MajorityRead<T | null>> {
    const key = this.keys.record(cluster, name);
    const raws = this.#requireMajority(await this.#onAll((client) => client.get(key)));
    return { value: pickRecord<T>(raws), answered: raws.length, total: this.total };
  }

  async deleteRecord(cluster: string, name: string, id: string): Promise<void> {
    const key = this.keys.record(cluster, name);
    await this.#onAll((client) => client.eval(DELETE_IF_ID_SCRIPT, 1, key, id));
  }

  // ---- leader ---------------------------------------------------------------------------

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

  // ---- events ---------------------------------------------------------------------------

  /** Throws CoordinationUnavailable only when no server at all took the event. */
  async publishEvent(cluster: string, event: StampedEvent): Promise<void> {
    const json = JSON.stringify(event);
    const channel = this.keys.events(cluster);
    const history = this.keys.history(cluster);
    const answers = await this.#onAll(async (client) => {
      const replies = await client
        .multi()
        .publish(channel, json)
        .xadd(history, 'MAXLEN', '~', String(HISTORY_MAXLEN), '*', 'event', json)
        .exec();
      const failed = replies?.find(([err]) => err !== null)?.[0];
      if (replies === null || failed) throw failed ?? new Error('transaction aborted');
    });
    if (!answers.some((a) => a.ok)) {
      throw new CoordinationUnavailable(
        `event ${event.type} not published: ${this.#describeFailures(answers)}`,
      );
    }
  }

  async readHistory(
    cluster: string,
    sinceId: string,
    count: number,
  ): Promise<{ id: string; event: StampedEvent }[]> {
    const start = sinceId === '0' || sinceId === '' || sinceId === '-' ? '-' : sinceId;
    if (start !== '-' && !STREAM_ID.test(start)) {
      throw new UserError(
        `invalid event id "${sinceId}": expected a stream id such as 1700000000000-0`,
      );
    }
    const key = this.keys.history(cluster);
    const failures: string[] = [];
    for (const link of this.#links) {
      const answer = await this.#on(link, (client) =>
        client.xrange(
          key,
          start === '-' ? '-' : `(${start}`,
          '+',
          'COUNT',
          Math.max(1, Math.floor(count)),
        ),
      );
      if (!answer.ok) {
        failures.push(`${link.label}: ${answer.error}`);
        continue;
      }
      const out: { id: string; event: StampedEvent }[] = [];
      for (const [id, fields] of answer.value) {
        const at = fields.indexOf('event');
        const raw = at >= 0 && at % 2 === 0 ? fields[at + 1] : undefined;
        const event = raw === undefined ? null : parseEvent(raw);
        if (event !== null) out.push({ id, event });
      }
      return out;
    }
    throw new CoordinationUnavailable(
      `no Redis server answered for the event history (${failures.join('; ')})`,
    );
  }

  async subscribe(
    cluster: string,
    onEvent: (event: StampedEvent) => void,
  ): Promise<() => Promise<void>> {
    if (this.#closed) throw new CoordinationUnavailable('coordination store is closed');
    const channel = this.keys.events(cluster);
    const seen = new RecentIds(DEDUP_IDS);
    const timeout = Math.max(1, Math.round(this.#options.commandTimeoutMs));
    const subscribers = this.#links.map((link) => {
      // Its own connection (a subscribed connection takes no other command). It queues while
      // disconnected and resubscribes after every reconnect, so a server that comes back
      // delivers again.
      const sub = new Redis(link.url, {
        ...this.#clientOptions(timeout),
        commandTimeout: undefined,
        enableOfflineQueue: true,
        maxRetriesPerRequest: null,
      });
      sub.on('error', () => undefined); // health is reported by the command client
      sub.on('message', (from: string, message: string) => {
        if (from !== channel) return;
        const event = parseEvent(message);
        if (event === null || !seen.add(typeof event.id === 'string' ? event.id : message)) return;
        try {
          onEvent(event);
        } catch (err) {
          this.#options.logger?.warn({ err, cluster, event: event.type }, 'event subscriber threw');
        }
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
    this.#locks.clear();
    const timeout = Math.min(1000, Math.max(50, this.#options.commandTimeoutMs));
    const clients = [...this.#links.map((l) => l.client), ...[...this.#subscriptions].flat()];
    this.#subscriptions.clear();
    await Promise.all(clients.map((client) => closeClient(client, timeout)));
  }

  // ---- plumbing -------------------------------------------------------------------------

  #clientOptions(timeoutMs: number): RedisOptions {
    return {
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      lazyConnect: false,
      // A command that timed out is not sent again after a reconnect: the caller gave up.
      autoResendUnfulfilledCommands: false,
      retryStrategy: () => 200 + Math.floor(Math.random() * 300),
      // the reads of one tick (topology, pause, votes, intent) leave in one write per server
      enableAutoPipelining: true,
    };
  }

  async #onAll<T>(op: (client: Redis) => Promise<T>): Promise<Answer<T>[]> {
    return Promise.all(this.#links.map((link) => this.#on(link, op)));
  }

  async #on<T>(link: Link, op: (client: Redis) => Promise<T>): Promise<Answer<T>> {
    try {
      // Right after construction the first connection is still being made: wait for it
      // once, instead of failing every server on the first tick.
      if (link.client.status !== 'ready') await link.firstConnect;
      const value = await op(link.client);
      this.#note(link, true);
      return { ok: true, value };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.#note(link, false, message);
      return { ok: false, error: message };
    }
  }

  #requireMajority<T>(answers: Answer<T>[]): T[] {
    const values = answers.flatMap((a) => (a.ok ? [a.value] : []));
    if (values.length < this.majority) {
      throw new CoordinationUnavailable(this.#describeFailures(answers));
    }
    return values;
  }

  #describeFailures<T>(answers: Answer<T>[]): string {
    const failed = answers.flatMap((a, i) =>
      a.ok ? [] : [{ url: this.#links[i]?.label ?? `#${i}`, error: a.error }],
    );
    return noMajorityMessage(this.total, failed);
  }

  /** Log a server's health only when it changes. */
  #note(link: Link, reachable: boolean, error?: string): void {
    if (link.reachable === reachable || this.#closed) {
      link.reachable = reachable;
      return;
    }
    const wasKnown = link.reachable !== null;
    link.reachable = reachable;
    const logger = this.#options.logger;
    if (!reachable) logger?.warn({ redis: link.label, error }, 'Redis server unreachable');
    else if (wasKnown && logger) {
      if (logger.info) logger.info({ redis: link.label }, 'Redis server reachable again');
      else logger.warn({ redis: link.label }, 'Redis server reachable again');
    }
  }
}

async function scanAll(client: Redis, pattern: string): Promise<string[]> {
  const found = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
    for (const key of batch) found.add(key);
    cursor = next;
  } while (cursor !== '0');
  return [...found];
}

function parseEvent(raw: string): StampedEvent | null {
  try {
    const value = JSON.parse(raw) as unknown;
    if (
      typeof value === 'object' &&
      value !== null &&
      typeof (value as StampedEvent).type === 'string'
    ) {
      return value as StampedEvent;
    }
  } catch {
    // fall through
  }
  return null;
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

async function closeClient(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status !== 'end') {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      client.quit().catch(() => undefined),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }
  client.disconnect();
}

/** URL without its password, for logs and messages. */
function redact(url: string): string {
  return url.replace(
    /\/\/([^@/]*)@/,
    (_m, auth: string) => `//${auth.includes(':') ? `${auth.split(':')[0]}:***` : '***'}@`,
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
