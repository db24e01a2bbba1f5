/**
 * One in-memory Redis server of the fake coordination store (coordination.ts): the
 * CoordinationServer interface of src/adapters/redis/server.ts over a Map, with the TypeScript
 * twins of the adapter's Lua rules (acceptsTopologyWrite, the revert, holdsId), Redis glob
 * matching for SCAN, a stream with Redis-style ids, and the per-key steps redlock runs for the
 * fake's lock. TTLs follow the injected clock.
 *
 * No timers: each answer comes a random number of microtask turns later (when `shuffle`), so
 * concurrent writers interleave as against real servers, and it runs under vitest fake timers.
 */
import {
  acceptsTopologyWrite,
  holdsId,
  storedStamp,
  type TopologyWrite,
} from '../../src/adapters/redis/majority.js';
import type {
  CoordinationServer,
  SetOptions,
  StreamEntry,
  TopologyWriteAnswer,
} from '../../src/adapters/redis/server.js';

interface Entry {
  value: string;
  expiresAt: number | null;
}

/** One fake Redis server, shared by every store of a backend (each sentinel's "connection"). */
export class FakeServer implements CoordinationServer {
  up = true;
  readonly label: string;
  readonly #kv = new Map<string, Entry>();
  readonly #streams = new Map<string, { id: string; json: string }[]>();
  readonly #channels = new Map<string, Set<(message: string) => void>>();
  #lastMs = 0;
  #seq = 0;

  constructor(
    readonly url: string,
    readonly now: () => number,
    readonly shuffle: boolean,
  ) {
    this.label = url;
  }

  // ---- CoordinationServer ---------------------------------------------------------------

  async get(key: string): Promise<string | null> {
    await this.#answer();
    return this.#peek(key);
  }

  async set(key: string, value: string, options: SetOptions = {}): Promise<boolean> {
    await this.#answer();
    if (options.nx === true && this.#peek(key) !== null) return false;
    this.#put(key, value, options.pxMs);
    return true;
  }

  /** acceptsTopologyWrite is the TypeScript twin of TOPOLOGY_SCRIPT. */
  async writeTopology(
    key: string,
    write: TopologyWrite,
    json: string,
  ): Promise<TopologyWriteAnswer> {
    await this.#answer();
    const raw = this.#peek(key);
    const stamp = storedStamp(raw);
    const accepted = acceptsTopologyWrite(stamp, write);
    if (accepted) this.#put(key, json);
    return { accepted, storedEpoch: stamp?.epoch ?? 0, previous: accepted ? raw : null };
  }

  /** As REVERT_SCRIPT. */
  async revertTopology(
    key: string,
    epoch: number,
    writer: string,
    previous: string | null,
  ): Promise<boolean> {
    await this.#answer();
    const stored = storedStamp(this.#peek(key));
    if (stored?.epoch !== epoch || stored.committedBy !== writer) return false;
    if (previous === null) this.#kv.delete(key);
    else this.#put(key, previous);
    return true;
  }

  /** As DELETE_IF_ID_SCRIPT. */
  async deleteIfId(key: string, id: string): Promise<boolean> {
    await this.#answer();
    return holdsId(this.#peek(key), id) && this.#kv.delete(key);
  }

  async scanValues(pattern: string): Promise<string[]> {
    await this.#answer();
    const match = globToRegExp(pattern);
    return [...this.#kv.keys()].flatMap((key) => {
      const value = match.test(key) ? this.#peek(key) : null;
      return value === null ? [] : [value];
    });
  }

  async appendEvent(
    channel: string,
    stream: string,
    json: string,
    maxLen: number,
    id?: string,
  ): Promise<string | null> {
    await this.#answer();
    for (const handler of this.#channels.get(channel) ?? []) queueMicrotask(() => handler(json));
    const entries = this.#streams.get(stream) ?? [];
    const last = entries.at(-1)?.id;
    if (id !== undefined) {
      if (last !== undefined && compareIds(parseStreamId(id), parseStreamId(last)) <= 0)
        return last;
      entries.push({ id, json });
    } else {
      const ms = Math.max(Math.floor(this.now()), this.#lastMs);
      this.#seq = ms === this.#lastMs ? this.#seq + 1 : 0;
      this.#lastMs = ms;
      entries.push({ id: `${ms}-${this.#seq}`, json });
    }
    if (entries.length > maxLen) entries.splice(0, entries.length - maxLen);
    this.#streams.set(stream, entries);
    return null;
  }

  async readStream(stream: string, afterId: string | null, count: number): Promise<StreamEntry[]> {
    await this.#answer();
    const after = afterId === null ? null : parseStreamId(afterId);
    return (this.#streams.get(stream) ?? [])
      .filter((e) => after === null || compareIds(parseStreamId(e.id), after) > 0)
      .slice(0, count);
  }

  // ---- what redlock does with its own scripts, for the fake's lock ----------------------

  /** SET NX PX (acquire) or PEXPIRE-if-ours (extend). */
  async lock(key: string, value: string, ttlMs: number, extending: boolean): Promise<boolean> {
    await this.#answer();
    const current = this.#peek(key);
    const mine = extending ? current === value : current === null;
    if (mine) this.#put(key, value, ttlMs);
    return mine;
  }

  /** DEL-if-ours. */
  async unlock(key: string, value: string): Promise<void> {
    await this.#answer();
    if (this.#peek(key) === value) this.#kv.delete(key);
  }

  // ---- pub/sub and faults ---------------------------------------------------------------

  /** Register a handler of `channel` (it stays across down/up, as an ioredis resubscribe). */
  listen(channel: string, handler: (message: string) => void): () => void {
    const set = this.#channels.get(channel) ?? new Set();
    set.add(handler);
    this.#channels.set(channel, set);
    return () => this.#channels.get(channel)?.delete(handler);
  }

  /** A restart without persistence: everything is gone (subscribers reconnect, as ioredis does). */
  wipe(): void {
    this.#kv.clear();
    this.#streams.clear();
    this.#lastMs = 0;
    this.#seq = 0;
  }

  /** A few microtask turns later (random order across servers), or rejected when down. */
  async #answer(): Promise<void> {
    await yieldTurns(this.shuffle ? Math.floor(Math.random() * 4) : 0);
    if (!this.up) throw new Error('connect ECONNREFUSED (fake server down)');
  }

  #peek(key: string): string | null {
    const entry = this.#kv.get(key);
    if (entry === undefined) return null;
    if (entry.expiresAt !== null && entry.expiresAt <= this.now()) {
      this.#kv.delete(key);
      return null;
    }
    return entry.value;
  }

  #put(key: string, value: string, ttlMs?: number): void {
    this.#kv.set(key, { value, expiresAt: ttlMs === undefined ? null : this.now() + ttlMs });
  }
}

/** Redis glob (`*`, `?`, `[...]` with `^` and ranges, `\` escapes) as an anchored RegExp. */
function globToRegExp(glob: string): RegExp {
  const literal = (ch: string): string => ch.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob.charAt(i);
    if (ch === '\\' && i + 1 < glob.length) out += literal(glob.charAt(++i));
    else if (ch === '*') out += '[\\s\\S]*';
    else if (ch === '?') out += '[\\s\\S]';
    else if (ch === '[') {
      const negated = glob.charAt(i + 1) === '^';
      let body = negated ? '^' : '';
      let j = negated ? i + 2 : i + 1;
      for (; j < glob.length && glob.charAt(j) !== ']'; j++) {
        const c = glob.charAt(j);
        if (c === '\\' && j + 1 < glob.length) body += literal(glob.charAt(++j));
        else body += c === '-' ? '-' : literal(c);
      }
      out += `[${body}]`;
      i = j;
    } else out += literal(ch);
  }
  return new RegExp(`^${out}$`);
}

function parseStreamId(id: string): [number, number] {
  const match = /^(\d+)(?:-(\d+))?$/.exec(id);
  return [Number(match?.[1] ?? 0), Number(match?.[2] ?? 0)];
}

function compareIds(a: [number, number], b: [number, number]): number {
  return a[0] - b[0] || a[1] - b[1];
}

export async function yieldTurns(turns: number): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}
