/**
 * One coordination server, as the majority engine (majority-store.ts) sees it: the few
 * primitives every CoordinationStore operation is built from. Two implementations:
 * `RedisLink` (link.ts, one ioredis client; the atomic rules run as Lua scripts) and the
 * in-memory `FakeServer` (test/fakes/coordination-server.ts: the same rules as their
 * TypeScript twins in majority.ts). Neither knows about majorities: that is the engine's job.
 *
 * Every method answers for this one server or rejects (down, timed out, closed); the engine
 * counts a rejection as "that server did not answer". The leader lock and pub/sub
 * subscriptions are not here: the Redis adapter does them with redlock and dedicated
 * connections, which have no per-server equivalent the engine could combine.
 */
import type { TopologyWrite } from './majority.js';

export interface SetOptions {
  /** expire after this many ms (SET ... PX) */
  pxMs?: number;
  /** only when the key does not exist (SET ... NX) */
  nx?: boolean;
}

/** What one server did with a topology write (TOPOLOGY_SCRIPT / acceptsTopologyWrite). */
export interface TopologyWriteAnswer {
  accepted: boolean;
  /** the epoch stored before the write (0 when absent or unreadable) */
  storedEpoch: number;
  /** the raw value an accepted write replaced; null when the key was absent or refused */
  previous: string | null;
}

export interface StreamEntry {
  id: string;
  /** the entry's `event` field */
  json: string;
}

export interface CoordinationServer {
  /** for messages and logs (a URL without its password) */
  readonly label: string;

  get(key: string): Promise<string | null>;
  /** SET; false when `nx` was asked and the key exists */
  set(key: string, value: string, options?: SetOptions): Promise<boolean>;
  /** The per-server topology rule, atomically: accept (and store `json`) or refuse. */
  writeTopology(key: string, write: TopologyWrite, json: string): Promise<TopologyWriteAnswer>;
  /**
   * Put `previous` back (null: delete the key), only while the stored topology is still the
   * write of `epoch` by `writer` (REVERT_SCRIPT). True when it was reverted.
   */
  revertTopology(
    key: string,
    epoch: number,
    writer: string,
    previous: string | null,
  ): Promise<boolean>;
  /** Delete `key` only when its JSON carries this id (DELETE_IF_ID_SCRIPT). */
  deleteIfId(key: string, id: string): Promise<boolean>;
  /** Live values of every key matching the Redis glob `pattern` (SCAN MATCH + MGET). */
  scanValues(pattern: string): Promise<string[]>;
  /**
   * PUBLISH `json` to `channel` and XADD it (field `event`, MAXLEN ~ `maxLen`) to `stream`,
   * with the stream id `id` when given (skipped when the stream already holds `id` or a later
   * one: then the stream's last id is returned; null otherwise).
   */
  appendEvent(
    channel: string,
    stream: string,
    json: string,
    maxLen: number,
    id?: string,
  ): Promise<string | null>;
  /** Entries of `stream` after `afterId` (exclusive; null = from the start), at most `count`. */
  readStream(stream: string, afterId: string | null, count: number): Promise<StreamEntry[]>;
}
