/**
 * One configured Redis server as a CoordinationServer (server.ts): a thin wrapper over one
 * ioredis client that fails fast (no offline queue, a command timeout, one retry per request,
 * reconnecting every 200-500 ms forever), so a down server costs a rejected promise and a hung
 * one (SIGSTOP, blackhole) at most the command timeout. A connection silent for two timeouts is
 * dropped (`#reconnectIfSilent`): after a silent partition heals, a fresh one answers at once.
 *
 * - Right after construction the first connection is still being made: a command waits for
 *   it once (`firstConnect`) instead of failing every server on the first tick.
 * - The server's health is logged once per change (down -> up, up -> down), not per command.
 * - The atomic rules are Lua: TOPOLOGY_SCRIPT, REVERT_SCRIPT (topology-script.ts) and
 *   DELETE_IF_ID_SCRIPT (majority.ts).
 * - AUTH: `username`/`password` options (from the config's secrets, never argv) go to every
 *   connection; a URL's own credentials win for that server. The URL is only ever shown
 *   redacted (`label`), and a command on a server that refused the connection (WRONGPASS,
 *   NOAUTH) fails with the server's reason, not with ioredis's "Stream isn't writeable".
 */
import { Redis, type RedisOptions } from 'ioredis';

import { redactSecrets } from '../../core/redact.js';
import type { RedisTls } from '../../core/tls.js';
import { DELETE_IF_ID_SCRIPT, type TopologyWrite } from './majority.js';
import type { CoordinationServer, SetOptions, StreamEntry, TopologyWriteAnswer } from './server.js';
import { redisTlsOptions } from './tls.js';
import { REVERT_SCRIPT, runTopologyScript } from './topology-script.js';

export interface CoordinationLogger {
  warn(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
}

const SCAN_COUNT = 1000;
/** ioredis's rejection when `commandTimeout` runs out (ioredis/built/Command.js) */
const COMMAND_TIMED_OUT = 'Command timed out';

/**
 * PUBLISH the event, and XADD it with the publisher's id unless the stream already holds that
 * id or a later one (then the entry is skipped on this server and the script returns the
 * stream's last id, so that the publisher makes its next ids after it; src/core/event-id.ts).
 * KEYS[1] stream; ARGV channel, json, maxlen, id. Returns '' when stored.
 */
const APPEND_EVENT_SCRIPT = `
redis.call('PUBLISH', ARGV[1], ARGV[2])
local r = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], ARGV[4], 'event', ARGV[2])
if type(r) == 'table' and r.err then
  local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  if top[1] then return top[1][1] end
  return redis.error_reply(r.err)
end
return ''
`;

/**
 * Redis AUTH (ACL user and password; `requirepass` is the `default` user's password) and the
 * TLS files of rediss:// servers (coordination.tls).
 */
export interface RedisAuth {
  username?: string | undefined;
  password?: string | undefined;
  tls?: RedisTls | undefined;
}

/** Options of every client, command and subscriber alike (the subscriber overrides some). */
export function clientOptions(url: string, timeoutMs: number, auth: RedisAuth = {}): RedisOptions {
  const tls = redisTlsOptions(url, auth.tls);
  return {
    ...(tls ? { tls } : {}),
    // ioredis takes a URL's own credentials first (its options fill only what the URL lacks)
    ...(auth.username === undefined ? {} : { username: auth.username }),
    ...(auth.password === undefined ? {} : { password: auth.password }),
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

export class RedisLink implements CoordinationServer {
  readonly url: string;
  readonly label: string;
  readonly client: Redis;
  /** settles once the first connection attempt succeeded or failed (never rejects) */
  readonly firstConnect: Promise<void>;
  readonly #logger: CoordinationLogger | undefined;
  #reachable: boolean | null = null;
  /** why the connection last failed (shown when a command finds it down) */
  #lastError: string | null = null;
  #closed = false;
  readonly #timeoutMs: number;
  /** performance.now() of the last command this link saw answered (or of its creation) */
  #lastAnswerMs = performance.now();

  constructor(url: string, timeoutMs: number, logger?: CoordinationLogger, auth?: RedisAuth) {
    this.url = url;
    this.#timeoutMs = timeoutMs;
    this.label = redactSecrets(url);
    this.#logger = logger;
    this.client = new Redis(url, clientOptions(url, timeoutMs, auth));
    this.firstConnect = settled(this.client, timeoutMs + 100);
    this.client.on('error', (err: Error) => {
      this.#lastError = redactSecrets(err.message);
      this.#note(false, this.#lastError);
    });
    this.client.on('ready', () => {
      this.#lastError = null;
      this.#note(true);
    });
  }

  async get(key: string): Promise<string | null> {
    return this.#run((c) => c.get(key));
  }

  async set(key: string, value: string, options: SetOptions = {}): Promise<boolean> {
    const { pxMs, nx = false } = options;
    const reply = await this.#run((c) => {
      if (pxMs === undefined) return nx ? c.set(key, value, 'NX') : c.set(key, value);
      return nx ? c.set(key, value, 'PX', pxMs, 'NX') : c.set(key, value, 'PX', pxMs);
    });
    return reply === 'OK';
  }

  async writeTopology(
    key: string,
    write: TopologyWrite,
    json: string,
  ): Promise<TopologyWriteAnswer> {
    const answer = await this.#run((c) =>
      runTopologyScript(c, key, {
        mode: write.kind,
        // the update rule ignores it
        expectedEpoch: write.kind === 'cas' ? write.expectedEpoch : write.nextEpoch,
        nextEpoch: write.nextEpoch,
        writer: write.writer,
        json,
      }),
    );
    return {
      accepted: answer.accepted,
      storedEpoch: answer.storedEpoch,
      previous: answer.accepted && answer.previous !== '' ? answer.previous : null,
    };
  }

  async revertTopology(
    key: string,
    epoch: number,
    writer: string,
    previous: string | null,
  ): Promise<boolean> {
    const reply = await this.#run((c) =>
      c.eval(REVERT_SCRIPT, 1, key, String(epoch), writer, previous ?? ''),
    );
    return reply === 1;
  }

  async deleteIfId(key: string, id: string): Promise<boolean> {
    return (await this.#run((c) => c.eval(DELETE_IF_ID_SCRIPT, 1, key, id))) === 1;
  }

  async scanValues(pattern: string): Promise<string[]> {
    return this.#run(async (c) => {
      const found = await scanAll(c, pattern);
      if (found.length === 0) return [];
      return (await c.mget(...found)).filter((raw): raw is string => raw !== null);
    });
  }

  async appendEvent(
    channel: string,
    stream: string,
    json: string,
    maxLen: number,
    id?: string,
  ): Promise<string | null> {
    if (id === undefined) {
      await this.#run(async (c) => {
        const replies = await c
          .multi()
          .publish(channel, json)
          .xadd(stream, 'MAXLEN', '~', String(maxLen), '*', 'event', json)
          .exec();
        const failed = replies?.find(([err]) => err !== null)?.[0];
        if (replies === null || failed) throw failed ?? new Error('transaction aborted');
      });
      return null;
    }
    const top = await this.#run((c) =>
      c.eval(APPEND_EVENT_SCRIPT, 1, stream, channel, json, String(maxLen), id),
    );
    return typeof top === 'string' && top !== '' ? top : null;
  }

  async readStream(stream: string, afterId: string | null, count: number): Promise<StreamEntry[]> {
    const entries = await this.#run((c) =>
      c.xrange(stream, afterId === null ? '-' : `(${afterId}`, '+', 'COUNT', count),
    );
    return entries.flatMap(([id, fields]) => {
      const at = fields.indexOf('event');
      const json = at >= 0 && at % 2 === 0 ? fields[at + 1] : undefined;
      return json === undefined ? [] : [{ id, json }];
    });
  }

  /** Stops health logging and closes the command client (never hangs). */
  async close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    await closeClient(this.client, timeoutMs);
  }

  async #run<T>(op: (client: Redis) => Promise<T>): Promise<T> {
    try {
      if (this.client.status !== 'ready') await this.firstConnect;
      // Not connected: every command would fail with "Stream isn't writeable" (no offline
      // queue); the reason the connection failed says more.
      if (this.client.status !== 'ready' && this.#lastError !== null)
        throw new Error(`not connected: ${this.#lastError}`);
      const value = await op(this.client);
      this.#lastAnswerMs = performance.now();
      this.#note(true);
      return value;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (message === COMMAND_TIMED_OUT) this.#reconnectIfSilent();
      this.#note(false, redactSecrets(message));
      throw err;
    }
  }

  /**
   * A command timed out and nothing has answered on this connection for two timeouts: the server
   * hangs, or packets are dropped in silence (a partition). While they are dropped, TCP backs
   * off its retransmissions (0.2, 0.4, 0.8 ... 3.2 s apart), and everything written later waits
   * behind them, so after the network heals the old connection can stay silent for seconds
   * more: the fault runner saw every client miss a healed server for 5 s, and a second Redis
   * fault in that window took the majority away and fenced a healthy primary (`false-failover`,
   * seed 20261204). The socket is dropped instead (as a reset would), and ioredis connects anew
   * after its retry delay (200-500 ms) with a fresh handshake, which gets through as soon as the
   * network does. One slow answer (a loaded machine) does not drop it: only a connection silent
   * for two timeouts, so a single-server setup does not trade one late read for a reconnect.
   */
  #reconnectIfSilent(): void {
    if (this.#closed || this.client.status !== 'ready') return;
    if (performance.now() - this.#lastAnswerMs < 2 * this.#timeoutMs) return;
    this.#lastError = 'no answer for two command timeouts: reconnecting';
    this.client.stream?.destroy();
  }

  /** Log the server's health only when it changes. */
  #note(reachable: boolean, error?: string): void {
    if (this.#reachable === reachable || this.#closed) {
      this.#reachable = reachable;
      return;
    }
    const wasKnown = this.#reachable !== null;
    this.#reachable = reachable;
    const logger = this.#logger;
    if (!reachable) logger?.warn({ redis: this.label, error }, 'Redis server unreachable');
    else if (wasKnown && logger) {
      if (logger.info) logger.info({ redis: this.label }, 'Redis server reachable again');
      else logger.warn({ redis: this.label }, 'Redis server reachable again');
    }
  }
}

/** Quit politely within `timeoutMs`, then drop the connection whatever happened. */
export async function closeClient(client: Redis, timeoutMs: number): Promise<void> {
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

/** Resolves once the first connection attempt succeeded, failed, or after `afterMs`. */
function settled(client: Redis, afterMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      client.off('ready', done).off('error', done).off('end', done);
      resolve();
    };
    const timer = setTimeout(done, afterMs);
    timer.unref();
    client.once('ready', done).once('error', done).once('end', done);
  });
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
