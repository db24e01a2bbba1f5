/**
 * Coordination store port: the Redis servers of `coordination.redis`, used by majority.
 *
 * Error contract (adapters translate library errors to these, see src/core/errors.ts):
 * - `CoordinationUnavailable`: fewer than a majority of servers answered. The caller must
 *   not fail over; monitoring goes on.
 * - A lost compare-and-set is NOT an error: `casTopology` returns `{ committed: false }`.
 *
 * Decoding: every value read is decoded by its schema in src/ports/records.ts, and every value
 * written is checked by it first (a value its readers would reject throws, as a bug). A stored
 * copy that fails to decode counts as absent (topology, votes, presence, record copies) or as
 * paused (the pause record); an event that fails is dropped.
 *
 * Timing-critical calls (run every tick): `publishVote`, `publishPresence`, `readVotes`,
 * `readTopology`, `readPause`. Each must answer within the adapter's command timeout
 * (well under `downAfterMs`), never hang.
 */
import type { z } from 'zod';

import type { StampedEvent } from '../core/events.js';
import type { PauseState, SentinelPresence, Topology, Vote } from '../core/model.js';
import type { StoredRecord } from './records.js';

export type { StoredRecord } from './records.js';

export interface MajorityRead<T> {
  value: T;
  /** servers that answered / configured */
  answered: number;
  total: number;
  /** topology reads: reverts of lost CASes still pending after this read's retry (absent: 0) */
  unreverted?: number;
}

/**
 * The schema `getRecord` decodes with: required, except when the caller asks for no more than a
 * bare `StoredRecord` (then `StoredRecordSchema`), so a record is never cast to a type nothing
 * checked.
 */
export type RecordSchemaArg<T extends StoredRecord> = StoredRecord extends T
  ? [schema?: z.ZodType<T>]
  : [schema: z.ZodType<T>];

export interface CasResult {
  committed: boolean;
  /** servers that accepted the write */
  accepted: number;
  total: number;
  /** highest epoch seen on the servers that refused */
  seenEpoch: number;
  /**
   * A lost CAS whose revert failed on this many servers (absent when 0). The store keeps those
   * reverts and retries them before every later topology read and write, until they succeed.
   */
  unreverted?: number;
}

export interface CoordinationStore {
  /** number of configured servers and the majority needed */
  readonly total: number;
  readonly majority: number;

  /**
   * Highest-epoch topology found on a majority (null when none stored yet). A server
   * that is behind is repaired by the next `casTopology`/`updateTopology`.
   * Throws CoordinationUnavailable without a majority.
   *
   * It answers once a majority has (any majority holds the newest committed topology: it
   * overlaps the majority that committed it), so a server that drops packets in silence costs
   * no timeout; `every: true` waits for every server, to report how many answered (status).
   */
  readTopology(cluster: string, o?: { every?: boolean }): Promise<MajorityRead<Topology | null>>;

  /**
   * Commit `next` (whose epoch must be `expectedEpoch + 1`) iff the stored epoch is
   * `expectedEpoch` (or absent and expectedEpoch is 0) on a majority. Lua on each server:
   * a server accepts at most one writer per epoch (it records `committedBy`).
   * Servers that are behind (epoch < expected) are brought up to date by the same write.
   */
  casTopology(
    cluster: string,
    expectedEpoch: number,
    next: Topology,
    writer: string,
  ): Promise<CasResult>;

  /**
   * Rewrite the topology at the same epoch, only by the writer who committed it
   * (state `failing-over` -> `ok`, node states). Returns false when another writer owns it
   * or a higher epoch exists.
   */
  updateTopology(cluster: string, next: Topology, writer: string): Promise<CasResult>;

  /** Write this sentinel's vote to every reachable server with PX ttl. */
  publishVote(cluster: string, vote: Vote, ttlMs: number): Promise<void>;
  /** Fresh votes (any server of a majority that has them), one per sentinel (newest). */
  readVotes(cluster: string): Promise<MajorityRead<Vote[]>>;

  publishPresence(cluster: string, presence: SentinelPresence, ttlMs: number): Promise<void>;
  readPresence(cluster: string): Promise<MajorityRead<SentinelPresence[]>>;

  /** Maintenance mode: written to every reachable server; fails without a majority. */
  setPause(cluster: string, state: PauseState): Promise<void>;
  /** Paused when any answering server says so (the safe side). */
  readPause(cluster: string): Promise<MajorityRead<PauseState>>;

  /**
   * Small JSON records under `<prefix>:<cluster>:<name>`, each carrying an `id`; their names and
   * schemas are `RECORDS` in src/ports/records.ts (`intent`, `intent-result:<id>`, `verdict`).
   * `putRecord` writes to every reachable server (throws CoordinationUnavailable without a
   * majority). `claimRecord` is SET NX on every server and succeeds only when a majority
   * accepted; otherwise it removes its copies and returns false (two concurrent claims: at most
   * one wins). Both check `value` against `schema` when given, before writing anything.
   * `getRecord` decodes each answering server's copy with `schema` (a copy it rejects counts as
   * absent) and returns the copy found on most of them (ties: the newest `atWall`).
   * `deleteRecord` removes it where its id matches.
   */
  putRecord<T extends StoredRecord>(
    cluster: string,
    name: string,
    value: T,
    ttlMs: number,
    schema?: z.ZodType<T>,
  ): Promise<void>;
  claimRecord<T extends StoredRecord>(
    cluster: string,
    name: string,
    value: T,
    ttlMs: number,
    schema?: z.ZodType<T>,
  ): Promise<boolean>;
  getRecord<T extends StoredRecord = StoredRecord>(
    cluster: string,
    name: string,
    ...schema: RecordSchemaArg<T>
  ): Promise<MajorityRead<T | null>>;
  deleteRecord(cluster: string, name: string, id: string): Promise<void>;

  /**
   * Leader lock (redlock over all servers). `tryLead` acquires or extends, never waits;
   * a failure of any kind is "not leader this tick", never an exception.
   */
  tryLead(cluster: string, ttlMs: number): Promise<boolean>;
  releaseLead(cluster: string): Promise<void>;
  isLeader(cluster: string): boolean;

  /**
   * PUBLISH to the events channel and XADD to the history stream on every reachable server,
   * with `event.id` as the stream id when it is one (src/core/event-id.ts). `laterId`: a
   * server already held that id or a later one (the entry was skipped there).
   */
  publishEvent(cluster: string, event: StampedEvent): Promise<{ laterId?: string } | void>;
  /**
   * History after stream id `sinceId` ('0' = all): the union of what the servers that answer
   * hold, by id, in id order.
   */
  readHistory(
    cluster: string,
    sinceId: string,
    count: number,
  ): Promise<{ id: string; event: StampedEvent }[]>;
  /** Subscribe to the channel on every server; events are de-duplicated by `id`. */
  subscribe(cluster: string, onEvent: (event: StampedEvent) => void): Promise<() => Promise<void>>;

  close(): Promise<void>;
}
