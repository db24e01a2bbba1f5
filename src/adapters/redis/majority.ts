/**
 * The pure rules of the coordination store, shared by the Redis adapter and the in-memory
 * fake (test/fakes/coordination.ts) so that both combine per-server answers the same way.
 * The per-server topology rule runs inside Redis as Lua (topology-script.ts); its TypeScript
 * twin here is what the fake runs, and the conformance suite holds both to the same cases.
 */
import type { z } from 'zod';

import type { StampedEvent } from '../../core/events.js';
import type { PauseState, Topology } from '../../core/model.js';
import {
  PauseStateSchema,
  StampedEventSchema,
  type StoredRecord,
  TopologySchema,
  UNREADABLE_PAUSE,
} from '../../ports/records.js';

export function majorityOf(total: number): number {
  return Math.floor(total / 2) + 1;
}

/** What one server holds of a topology key, as far as the write rule cares. */
export interface StoredStamp {
  epoch: number;
  committedBy: string | null;
}

export type TopologyWrite =
  | { kind: 'cas'; expectedEpoch: number; nextEpoch: number; writer: string }
  | { kind: 'update'; nextEpoch: number; writer: string };

/**
 * Whether one server accepts a topology write (mirror of TOPOLOGY_SCRIPT):
 * - the same writer re-sending the epoch it already wrote here: accepted (idempotent retry);
 * - cas: accepted iff stored epoch <= expected (== is the normal case; < is a server that
 *   missed commits while down and is repaired by this write);
 * - update: accepted iff stored epoch < next (repair); == only for its writer (above).
 * Hence a server accepts at most one writer per epoch, and two writers racing for the same
 * epoch cannot both be accepted by a majority.
 */
export function acceptsTopologyWrite(stored: StoredStamp | null, write: TopologyWrite): boolean {
  const epoch = stored?.epoch ?? 0;
  if (stored !== null && epoch === write.nextEpoch && stored.committedBy === write.writer)
    return true;
  return write.kind === 'cas' ? epoch <= write.expectedEpoch : epoch < write.nextEpoch;
}

/**
 * A stored JSON value decoded by its schema (src/ports/records.ts); null when absent, not JSON,
 * or rejected by the schema. Every read of the engine goes through here.
 */
export function decode<T>(schema: z.ZodType<T>, raw: string | null): T | null {
  if (raw === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  const result = schema.safeParse(value);
  return result.success ? result.data : null;
}

/**
 * The JSON to store for `value`, once its schema accepted it. A writer never stores what its
 * readers would drop: that is a bug, thrown before any server is touched.
 */
export function encode(schema: z.ZodType, value: unknown, what: string): string {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const at = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new Error(`refusing to write ${what} that readers would reject: ${at}${issue?.message}`);
  }
  return JSON.stringify(value);
}

/** A stored topology; null when absent or unreadable (treated as no value). */
export function parseTopology(raw: string | null): Topology | null {
  return decode(TopologySchema, raw);
}

/**
 * What TOPOLOGY_SCRIPT and REVERT_SCRIPT read of a stored value (their TypeScript twin, which
 * the fake runs): `tonumber(epoch) or 0` and a string `committedBy`, nothing else. Deliberately
 * not the schema: the write rule must count an unreadable value's epoch as the Lua does.
 */
export function storedStamp(raw: string | null): StoredStamp | null {
  if (raw === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { epoch: 0, committedBy: null };
  }
  const { epoch, committedBy } = (typeof value === 'object' && value !== null ? value : {}) as {
    epoch?: unknown;
    committedBy?: unknown;
  };
  const n =
    typeof epoch === 'number'
      ? epoch
      : typeof epoch === 'string' && epoch.trim() !== ''
        ? Number(epoch)
        : NaN;
  return {
    epoch: Number.isFinite(n) ? n : 0,
    committedBy: typeof committedBy === 'string' ? committedBy : null,
  };
}

/**
 * The topology to believe among the answering servers: the highest epoch. Several values at
 * that epoch (a lost race left the loser's write on a minority) -> the one held by the most
 * servers, then the first in configuration order.
 */
export function pickTopology(values: (Topology | null)[]): Topology | null {
  let best: Topology | null = null;
  let bestCount = 0;
  const counts = new Map<string, number>();
  for (const value of values) {
    if (value === null) continue;
    const id = `${value.epoch}\u0000${value.committedBy ?? ''}`;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  for (const value of values) {
    if (value === null) continue;
    const count = counts.get(`${value.epoch}\u0000${value.committedBy ?? ''}`) ?? 0;
    if (
      best === null ||
      value.epoch > best.epoch ||
      (value.epoch === best.epoch && count > bestCount)
    ) {
      best = value;
      bestCount = count;
    }
  }
  return best;
}

/** Union of per-server lists, one entry per key, the newest (`atWall`) winning. */
export function newestBy<T extends { atWall: number }>(
  lists: T[][],
  keyOf: (item: T) => string,
): T[] {
  const byKey = new Map<string, T>();
  for (const list of lists) {
    for (const item of list) {
      const key = keyOf(item);
      const seen = byKey.get(key);
      if (seen === undefined || item.atWall > seen.atWall) byKey.set(key, item);
    }
  }
  return [...byKey.values()].sort((a, b) =>
    keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0,
  );
}

/** A stored pause record; an unreadable one means paused (the safe side: no automatic failover). */
export function parsePause(raw: string | null): PauseState | null {
  if (raw === null) return null;
  return decode(PauseStateSchema, raw) ?? { ...UNREADABLE_PAUSE };
}

/**
 * The newest pause or resume record wins (by `atWall`). setPause needs a majority to accept, and
 * any two majorities share a server, so a read always sees the latest command; a server that
 * missed a resume (it was down) is outvoted by the newer record instead of re-pausing the
 * cluster when it comes back. A tie goes to `paused` (the safe side).
 */
export function mergePause(values: (PauseState | null)[]): PauseState {
  let best: PauseState | undefined;
  for (const v of values) {
    if (v === null) continue;
    const newer = best === undefined || (v.atWall ?? 0) > (best.atWall ?? 0);
    const tieToPaused = best !== undefined && (v.atWall ?? 0) === (best.atWall ?? 0) && v.paused;
    if (newer || tieToPaused) best = v;
  }
  return best ?? { paused: false };
}

/** "2 of 3 Redis servers unreachable (redis://a, redis://b): no coordination majority" */
export function noMajorityMessage(total: number, failed: { url: string; error: string }[]): string {
  const detail = failed.map((f) => `${f.url}: ${f.error}`).join('; ');
  return (
    `${failed.length} of ${total} Redis servers unreachable (${detail}): ` +
    `no coordination majority (need ${majorityOf(total)})`
  );
}

/** A bounded set of recently seen ids (insertion order = age), for de-duplication. */
export class RecentIds {
  readonly #max: number;
  readonly #ids = new Set<string>();

  constructor(max = 1024) {
    this.#max = max;
  }

  /** true the first time an id is seen, false for a repeat */
  add(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    if (this.#ids.size > this.#max) {
      const oldest = this.#ids.values().next();
      if (!oldest.done) this.#ids.delete(oldest.value);
    }
    return true;
  }
}

/**
 * The record copy held by most answering servers (a server that missed a write or a delete is
 * outvoted); ties go to the newest `atWall`. Copies `schema` rejects count as absent.
 */
export function pickRecord<T extends StoredRecord>(
  raws: (string | null)[],
  schema: z.ZodType<T>,
): T | null {
  const counts = new Map<string, { value: T; n: number }>();
  let absent = 0;
  for (const raw of raws) {
    const value = decode(schema, raw);
    if (value === null) {
      absent++;
      continue;
    }
    const seen = counts.get(value.id);
    counts.set(value.id, { value, n: (seen?.n ?? 0) + 1 });
  }
  let best: { value: T; n: number } | null = null;
  for (const c of counts.values()) {
    if (!best || c.n > best.n || (c.n === best.n && c.value.atWall > best.value.atWall)) best = c;
  }
  // more servers without the record than with it: it was deleted (or expired) there
  return best === null || absent > best.n ? null : best.value;
}

/** Lua: delete KEYS[1] only when its JSON carries the id ARGV[1] (twin: `holdsId`). */
export const DELETE_IF_ID_SCRIPT = `local v = redis.call('GET', KEYS[1])
if v and string.find(v, '"id":"' .. ARGV[1] .. '"', 1, true) then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Whether a stored record carries `id`: the same plain substring test as DELETE_IF_ID_SCRIPT. */
export function holdsId(raw: string | null, id: string): boolean {
  return raw !== null && raw.includes(`"id":"${id}"`);
}

/**
 * One published or recorded event; null when it is not one. Only the envelope (and the topology
 * of `topology-changed`) is checked, see StampedEventSchema: the rest passes as it came.
 */
export function parseEvent(raw: string): StampedEvent | null {
  return decode(StampedEventSchema, raw) as StampedEvent | null;
}

/** How many event ids a subscription remembers to drop the copies from other servers. */
export const DEDUP_IDS = 4096;

/**
 * The message handler of one subscription on every server: parses, drops the copies the other
 * servers deliver (by event `id`), and hands each event on once. A throwing `onEvent` goes to
 * `onThrow` when given, else propagates.
 */
export function deliverOnce(
  onEvent: (event: StampedEvent) => void,
  onThrow?: (err: unknown, event: StampedEvent) => void,
): (message: string) => void {
  const seen = new RecentIds(DEDUP_IDS);
  return (message) => {
    const event = parseEvent(message);
    if (event === null || !seen.add(event.id)) return;
    if (onThrow === undefined) return onEvent(event);
    try {
      onEvent(event);
    } catch (err) {
      onThrow(err, event);
    }
  };
}
