/**
 * The majority engine: the CoordinationStore operations (src/ports/coordination.ts) composed
 * from per-server primitives (server.ts) over 1, 3 or 5 independent servers. The Redis adapter
 * (store.ts) runs it over ioredis links, the in-memory fake (test/fakes/coordination.ts) over
 * fake servers, so the contract suite holds the one composition both use.
 *
 * - Every operation runs on all servers at once and counts answers; a server that rejects
 *   is "did not answer". Reads and the writes that must stick (pause, records) need a
 *   majority, else CoordinationUnavailable (the loop must not fail over). Votes and presence
 *   are best effort.
 * - A topology write is committed when a majority accepted it. A CAS that lost overall is
 *   reverted on the minority that took it, so a reader taking the highest epoch never sees
 *   an epoch that was not committed.
 * - Not here: the leader lock (redlock in the adapter, an emulation of redlock's rules in the
 *   fake: redlock drives ioredis clients itself, so it cannot run over this interface) and
 *   event subscriptions (dedicated connections in the adapter, handlers on the in-memory
 *   servers in the fake; both share `deliverOnce` from majority.ts).
 */
import type { z } from 'zod';

import { CoordinationUnavailable, UserError } from '../../core/errors.js';
import { compareEventIds, isEventId } from '../../core/event-id.js';
import type { StampedEvent } from '../../core/events.js';
import type { PauseState, SentinelPresence, Topology, Vote } from '../../core/model.js';
import type {
  CasResult,
  CoordinationStore,
  MajorityRead,
  RecordSchemaArg,
  StoredRecord,
} from '../../ports/coordination.js';
import {
  PauseStateSchema,
  SentinelPresenceSchema,
  StampedEventSchema,
  StoredRecordSchema,
  TopologySchema,
  VoteSchema,
} from '../../ports/records.js';
import type { Keys } from './keys.js';
import {
  decode,
  encode,
  majorityOf,
  mergePause,
  newestBy,
  noMajorityMessage,
  parseEvent,
  parsePause,
  parseTopology,
  pickRecord,
  pickTopology,
  type TopologyWrite,
} from './majority.js';
import type { CoordinationServer } from './server.js';

/** Cap of the history stream (XADD MAXLEN ~). */
export const HISTORY_MAXLEN = 10_000;
const STREAM_ID = /^\d+(-\d+)?$/;
const CLOSED = 'Connection is closed.';
const BARE_RECORD: z.ZodType<StoredRecord> = StoredRecordSchema;

/** A lost CAS left on one server, to revert there (REVERT_SCRIPT: only while still ours). */
interface PendingRevert {
  server: number;
  key: string;
  epoch: number;
  writer: string;
  previous: string | null;
}

export type Answer<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * What the engine implements of the port. The stores extend it and add the lock,
 * subscriptions and close.
 */
export type MajorityOperations = Omit<
  CoordinationStore,
  'tryLead' | 'releaseLead' | 'isLeader' | 'subscribe' | 'close'
>;

export class MajorityStore<
  S extends CoordinationServer = CoordinationServer,
> implements MajorityOperations {
  readonly total: number;
  readonly majority: number;
  readonly servers: readonly S[];
  readonly #keys: Keys;
  #closed = false;
  /** reverts that failed (server unreachable): retried before every topology read and write */
  #pendingReverts: PendingRevert[] = [];

  constructor(servers: readonly S[], keys: Keys) {
    this.servers = servers;
    this.total = servers.length;
    this.majority = majorityOf(this.total);
    this.#keys = keys;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** From now on every server counts as not answering. Closing connections is the subclass's. */
  markClosed(): void {
    this.#closed = true;
  }

  // ---- topology -------------------------------------------------------------------------

  async readTopology(
    cluster: string,
    o: { every?: boolean } = {},
  ): Promise<MajorityRead<Topology | null>> {
    const key = this.#keys.topology(cluster);
    const unreverted = await this.retryReverts();
    const read = (s: S) => s.get(key);
    const raws = this.#requireMajority(
      await (o.every === true ? this.onAll(read) : this.onMajority(read)),
    );
    return {
      value: pickTopology(raws.map(parseTopology)),
      answered: raws.length,
      total: this.total,
      ...(unreverted > 0 ? { unreverted } : {}),
    };
  }

  /** Reverts still owed (a lost CAS left on an unreachable server). */
  get pendingReverts(): number {
    return this.#pendingReverts.length;
  }

  /**
   * Retry every pending revert once; returns how many are still pending. A revert that the
   * server answers (reverted, or nothing of ours left to revert) is done.
   */
  async retryReverts(): Promise<number> {
    if (this.#pendingReverts.length === 0) return 0;
    const pending = this.#pendingReverts;
    this.#pendingReverts = [];
    const failed = await this.#revert(pending);
    this.#pendingReverts.push(...failed);
    return this.#pendingReverts.length;
  }

  /** Runs the reverts; returns those whose server did not answer. */
  async #revert(reverts: readonly PendingRevert[]): Promise<PendingRevert[]> {
    const answers = await Promise.all(
      reverts.map((r) => {
        const server = this.servers[r.server];
        if (server === undefined) return { ok: true } as const;
        return this.#on(server, (s) => s.revertTopology(r.key, r.epoch, r.writer, r.previous));
      }),
    );
    return reverts.filter((_, i) => answers[i]?.ok !== true);
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
    const write = { kind: 'cas', expectedEpoch, nextEpoch: next.epoch, writer } as const;
    return this.#writeTopology(cluster, write, next);
  }

  async updateTopology(cluster: string, next: Topology, writer: string): Promise<CasResult> {
    return this.#writeTopology(cluster, { kind: 'update', nextEpoch: next.epoch, writer }, next);
  }

  async #writeTopology(cluster: string, write: TopologyWrite, next: Topology): Promise<CasResult> {
    const key = this.#keys.topology(cluster);
    await this.retryReverts();
    // a topology no reader can decode would hold its epoch on the servers unseen: no CAS could win
    const json = encode(TopologySchema, { ...next, committedBy: write.writer }, 'a topology');
    const answers = await this.onAll((s) => s.writeTopology(key, write, json));
    let accepted = 0;
    let seenEpoch = 0;
    for (const answer of answers) {
      if (!answer.ok) continue;
      if (answer.value.accepted) accepted++;
      else seenEpoch = Math.max(seenEpoch, answer.value.storedEpoch);
    }
    const committed = accepted >= this.majority;
    if (!committed && write.kind === 'cas' && accepted > 0) {
      // A lost CAS must leave no trace on the minority that took it (see REVERT_SCRIPT); a
      // revert that fails is kept and retried (retryReverts), never forgotten.
      const reverts = answers.flatMap((answer, server): PendingRevert[] =>
        answer.ok && answer.value.accepted
          ? [
              {
                server,
                key,
                epoch: write.nextEpoch,
                writer: write.writer,
                previous: answer.value.previous,
              },
            ]
          : [],
      );
      const failed = await this.#revert(reverts);
      this.#pendingReverts.push(...failed);
      if (failed.length > 0) {
        return { committed, accepted, total: this.total, seenEpoch, unreverted: failed.length };
      }
    }
    return { committed, accepted, total: this.total, seenEpoch };
  }

  // ---- votes and presence ---------------------------------------------------------------

  async publishVote(cluster: string, vote: Vote, ttlMs: number): Promise<void> {
    const json = encode(VoteSchema, vote, 'a vote');
    await this.#setEverywhere(this.#keys.vote(cluster, vote.sentinel), json, ttlMs);
  }

  async readVotes(cluster: string): Promise<MajorityRead<Vote[]>> {
    return this.#readStamped(this.#keys.votePattern(cluster), VoteSchema, (v) => v.sentinel);
  }

  async publishPresence(cluster: string, presence: SentinelPresence, ttlMs: number): Promise<void> {
    const key = this.#keys.sentinel(cluster, presence.id);
    await this.#setEverywhere(key, encode(SentinelPresenceSchema, presence, 'a presence'), ttlMs);
  }

  async readPresence(cluster: string): Promise<MajorityRead<SentinelPresence[]>> {
    const pattern = this.#keys.sentinelPattern(cluster);
    return this.#readStamped(pattern, SentinelPresenceSchema, (p) => p.id);
  }

  /** Best effort, never throws: a server that missed it just did not answer. */
  async #setEverywhere(key: string, json: string, ttlMs: number): Promise<void> {
    await this.onAll((s) => s.set(key, json, { pxMs: px(ttlMs) }));
  }

  /** One entry per `keyOf` (the newest), from the union of what a majority holds. */
  async #readStamped<T extends { atWall: number }>(
    pattern: string,
    schema: z.ZodType<T>,
    keyOf: (item: T) => string,
  ): Promise<MajorityRead<T[]>> {
    const answers = await this.onAll(async (s) =>
      (await s.scanValues(pattern))
        .map((raw) => decode(schema, raw))
        .filter((v): v is T => v !== null),
    );
    const lists = this.#requireMajority(answers);
    return {
      value: newestBy(lists, keyOf),
      answered: lists.length,
      total: this.total,
    };
  }

  // ---- pause ----------------------------------------------------------------------------

  async setPause(cluster: string, state: PauseState): Promise<void> {
    const key = this.#keys.paused(cluster);
    const json = encode(PauseStateSchema, state, 'a pause record');
    this.#requireMajority(await this.onAll((s) => s.set(key, json)));
  }

  async readPause(cluster: string): Promise<MajorityRead<PauseState>> {
    const key = this.#keys.paused(cluster);
    const raws = this.#requireMajority(await this.onAll((s) => s.get(key)));
    return { value: mergePause(raws.map(parsePause)), answered: raws.length, total: this.total };
  }

  // ---- records (intents, results, verdict) ----------------------------------------------

  async putRecord<T extends StoredRecord>(
    cluster: string,
    name: string,
    value: T,
    ttlMs: number,
    schema?: z.ZodType<T>,
  ): Promise<void> {
    const key = this.#keys.record(cluster, name);
    const json = encode(schema ?? StoredRecordSchema, value, `the record ${name}`);
    this.#requireMajority(await this.onAll((s) => s.set(key, json, { pxMs: px(ttlMs) })));
  }

  async claimRecord<T extends StoredRecord>(
    cluster: string,
    name: string,
    value: T,
    ttlMs: number,
    schema?: z.ZodType<T>,
  ): Promise<boolean> {
    const key = this.#keys.record(cluster, name);
    const json = encode(schema ?? StoredRecordSchema, value, `the record ${name}`);
    const answers = await this.onAll((s) => s.set(key, json, { pxMs: px(ttlMs), nx: true }));
    if (answers.filter((a) => a.ok && a.value).length >= this.majority) return true;
    // lost (or no majority): remove the copies we did write, so that no one reads them
    await this.deleteRecord(cluster, name, value.id);
    return false;
  }

  async getRecord<T extends StoredRecord = StoredRecord>(
    cluster: string,
    name: string,
    ...[schema]: RecordSchemaArg<T>
  ): Promise<MajorityRead<T | null>> {
    // without a schema T is StoredRecord or wider (RecordSchemaArg): the bare schema decodes it
    const decodeWith = (schema ?? BARE_RECORD) as z.ZodType<T>;
    const key = this.#keys.record(cluster, name);
    const raws = this.#requireMajority(await this.onAll((s) => s.get(key)));
    return { value: pickRecord(raws, decodeWith), answered: raws.length, total: this.total };
  }

  async deleteRecord(cluster: string, name: string, id: string): Promise<void> {
    const key = this.#keys.record(cluster, name);
    await this.onAll((s) => s.deleteIfId(key, id));
  }

  // ---- events ---------------------------------------------------------------------------

  /** Throws CoordinationUnavailable only when no server at all took the event. */
  async publishEvent(cluster: string, event: StampedEvent): Promise<{ laterId?: string }> {
    const json = encode(StampedEventSchema, event, `the event ${event.type}`);
    const channel = this.#keys.events(cluster);
    const history = this.#keys.history(cluster);
    const id = isEventId(event.id) ? event.id : undefined;
    const answers = await this.onAll((s) =>
      s.appendEvent(channel, history, json, HISTORY_MAXLEN, id),
    );
    if (!answers.some((a) => a.ok)) {
      throw new CoordinationUnavailable(
        `event ${event.type} not published: ${this.#describe(answers)}`,
      );
    }
    const later = answers.flatMap((a) => (a.ok && a.value !== null ? [a.value] : []));
    const laterId = later.sort(compareEventIds).at(-1);
    return laterId === undefined ? {} : { laterId };
  }

  /** The union of the servers that answer (merged by stream id, in id order). */
  async readHistory(
    cluster: string,
    sinceId: string,
    count: number,
  ): Promise<{ id: string; event: StampedEvent }[]> {
    const after = sinceId === '0' || sinceId === '' || sinceId === '-' ? null : sinceId;
    if (after !== null && !STREAM_ID.test(after)) {
      throw new UserError(
        `invalid event id "${sinceId}": expected a stream id such as 1700000000000-0`,
      );
    }
    const key = this.#keys.history(cluster);
    const limit = Math.max(1, Math.floor(count));
    const answers = await this.onAll((s) => s.readStream(key, after, limit));
    if (!answers.some((a) => a.ok)) {
      const failures = answers.map((a, i) => `${this.servers[i]?.label}: ${a.ok ? '' : a.error}`);
      throw new CoordinationUnavailable(
        `no Redis server answered for the event history (${failures.join('; ')})`,
      );
    }
    // one entry per event id (the stream id itself, or, for an event published without one, the
    // first server's entry in configuration order)
    const byId = new Map<string, { id: string; event: StampedEvent }>();
    for (const answer of answers) {
      if (!answer.ok) continue;
      for (const { id, json } of answer.value) {
        const event = parseEvent(json);
        if (event !== null && !byId.has(event.id)) byId.set(event.id, { id, event });
      }
    }
    return [...byId.values()].sort((a, b) => compareStreamIds(a.id, b.id)).slice(0, limit);
  }

  // ---- plumbing -------------------------------------------------------------------------

  /** Run `op` on every server at once; one answer per server, in configuration order. */
  async onAll<T>(op: (server: S) => Promise<T>): Promise<Answer<T>[]> {
    return Promise.all(this.servers.map((server) => this.#on(server, op)));
  }

  /**
   * Like onAll, but resolves as soon as a majority answered: the others are left to finish
   * unseen (their slots answer `not awaited`). Without a majority it waits for every one, so
   * the failure names each server's error.
   */
  async onMajority<T>(op: (server: S) => Promise<T>): Promise<Answer<T>[]> {
    const answers: (Answer<T> | undefined)[] = this.servers.map(() => undefined);
    const all = this.servers.map((server, i) =>
      this.#on(server, op).then((a) => {
        answers[i] = a;
        return a;
      }),
    );
    let ok = 0;
    await new Promise<void>((resolve) => {
      for (const p of all)
        void p.then((a) => {
          if (a.ok && ++ok >= this.majority) resolve();
        });
      void Promise.all(all).then(() => resolve());
    });
    return answers.map((a) => a ?? { ok: false, error: 'not awaited' });
  }

  async #on<T>(server: S, op: (server: S) => Promise<T>): Promise<Answer<T>> {
    if (this.#closed) return { ok: false, error: CLOSED };
    try {
      return { ok: true, value: await op(server) };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  #requireMajority<T>(answers: Answer<T>[]): T[] {
    const values = answers.flatMap((a) => (a.ok ? [a.value] : []));
    if (values.length < this.majority) throw new CoordinationUnavailable(this.#describe(answers));
    return values;
  }

  #describe<T>(answers: Answer<T>[]): string {
    const failed = answers.flatMap((a, i) =>
      a.ok ? [] : [{ url: this.servers[i]?.label ?? `#${i}`, error: a.error }],
    );
    return noMajorityMessage(this.total, failed);
  }
}

/** Stream ids (`<ms>` or `<ms>-<seq>`) in stream order. */
function compareStreamIds(a: string, b: string): number {
  const full = (id: string): string => (id.includes('-') ? id : `${id}-0`);
  return compareEventIds(full(a), full(b));
}

/** A TTL as Redis takes it: a whole number of ms, at least 1. */
function px(ttlMs: number): number {
  return Math.max(1, Math.round(ttlMs));
}
