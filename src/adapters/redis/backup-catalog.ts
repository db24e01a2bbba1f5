/**
 * Backup records in the coordination Redis servers (DESIGN.md, Keys): `backup:<tipo>:<date>`
 * hashes with the Fase2 manual's names and no prefix, written to EVERY server so that plain
 * `redis-cli` on any of them shows them (`KEYS backup:*`, `HGETALL backup:completo:<date>`).
 * Beside them, under the cluster's prefix: the slot claim (`<prefix>:<c>:backup-claim:<tipo>:
 * <date>`, SET NX PX on a majority: one runner per slot) and the recovery window hash
 * (`<prefix>:<c>:backup-window`).
 *
 * Reads take the first server that answers; a write succeeds when at least one server took it
 * (the records are informational: pgBackRest's repository is the truth, and every run
 * rewrites them from `pgbackrest info`).
 */
import { Redis } from 'ioredis';

import type { SlotId } from '../../core/backup/types.js';
import { tipoOf } from '../../core/backup/types.js';
import type { RecoveryWindow } from '../../core/backup/window.js';
import { UserError } from '../../core/errors.js';
import { redactSecrets } from '../../core/redact.js';
import type { BackupCatalog } from '../../ports/backup.js';
import { backup as backupKey, BACKUP_PATTERN, escapeGlob } from './keys.js';
import { clientOptions, type RedisAuth } from './link.js';

export function slotKey(slot: SlotId): string {
  return backupKey(tipoOf(slot.type), slot.day);
}

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;

export class RedisBackupCatalog implements BackupCatalog {
  readonly #clients: Redis[];
  readonly #prefix: string;
  readonly #timeoutMs: number;
  #ready: Promise<unknown> | undefined;

  constructor(o: { urls: string[]; prefix: string; auth?: RedisAuth; timeoutMs?: number }) {
    this.#prefix = o.prefix;
    this.#timeoutMs = o.timeoutMs ?? 1000;
    this.#clients = o.urls.map((u) => new Redis(u, clientOptions(u, o.timeoutMs ?? 1000, o.auth)));
    for (const c of this.#clients) c.on('error', () => undefined);
  }

  /** The first connection of each client (commands fail fast without an offline queue). */
  #connected(): Promise<unknown> {
    this.#ready ??= Promise.all(
      this.#clients.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.status === 'ready') return resolve();
            const t = setTimeout(resolve, this.#timeoutMs + 500);
            const done = (): void => {
              clearTimeout(t);
              resolve();
            };
            c.once('ready', done);
            c.once('end', done);
          }),
      ),
    );
    return this.#ready;
  }

  async #first<T>(fn: (c: Redis) => Promise<T>): Promise<T> {
    await this.#connected();
    const errors: string[] = [];
    for (const c of this.#clients) {
      try {
        return await fn(c);
      } catch (err) {
        errors.push(redactSecrets((err as Error).message));
      }
    }
    throw new UserError(`no coordination Redis server answered: ${errors.join('; ')}`);
  }

  /** Run on every server; resolves with how many took it, rejects when none did. */
  async #all(fn: (c: Redis) => Promise<unknown>): Promise<boolean[]> {
    await this.#connected();
    const r = await Promise.allSettled(this.#clients.map(fn));
    if (r.every((x) => x.status === 'rejected'))
      throw new UserError(
        `no coordination Redis server took the backup record: ${redactSecrets(String((r[0] as PromiseRejectedResult).reason))}`,
      );
    return r.map((x) => x.status === 'fulfilled');
  }

  async list(): Promise<Record<string, Record<string, string>>> {
    return this.#first(async (c) => {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, found] = await c.scan(cursor, 'MATCH', BACKUP_PATTERN, 'COUNT', 1000);
        cursor = next;
        keys.push(...found);
      } while (cursor !== '0');
      const out: Record<string, Record<string, string>> = {};
      for (const k of keys.sort()) {
        if ((await c.type(k)) === 'hash') out[k] = await c.hgetall(k);
      }
      return out;
    });
  }

  async get(slot: SlotId): Promise<Record<string, string> | null> {
    const h = await this.#first((c) => c.hgetall(slotKey(slot)));
    return Object.keys(h).length > 0 ? h : null;
  }

  async put(slot: SlotId, hash: Record<string, string>): Promise<void> {
    const key = slotKey(slot);
    await this.#all((c) => c.multi().del(key).hset(key, hash).exec());
  }

  async annotate(slot: SlotId, fields: Record<string, string>): Promise<void> {
    await this.#all((c) => c.hset(slotKey(slot), fields));
  }

  async remove(keys: string[]): Promise<void> {
    if (keys.length > 0) await this.#all((c) => c.del(...keys));
  }

  #claimKey(cluster: string, slot: SlotId): string {
    return `${this.#prefix}:${cluster}:backup-claim:${tipoOf(slot.type)}:${slot.day}`;
  }

  async claim(cluster: string, slot: SlotId, owner: string, ttlMs: number): Promise<boolean> {
    await this.#connected();
    const key = this.#claimKey(cluster, slot);
    const got = await Promise.allSettled(
      this.#clients.map((c) => c.set(key, owner, 'PX', Math.max(1, ttlMs), 'NX')),
    );
    const yes = got.filter((g) => g.status === 'fulfilled' && g.value === 'OK').length;
    if (yes > this.#clients.length / 2) return true;
    if (yes > 0) await this.release(cluster, slot, owner); // lost the race on a majority
    return false;
  }

  async release(cluster: string, slot: SlotId, owner: string): Promise<void> {
    const key = this.#claimKey(cluster, slot);
    await Promise.allSettled(this.#clients.map((c) => c.eval(RELEASE, 1, key, owner)));
  }

  #windowKey(cluster: string): string {
    return `${this.#prefix}:${cluster}:backup-window`;
  }

  async putWindow(
    cluster: string,
    fields: Partial<RecoveryWindow> & { lastFailed?: string },
  ): Promise<void> {
    const key = this.#windowKey(cluster);
    const h: Record<string, string> = {};
    for (const [k, v] of Object.entries(fields)) h[k] = v === null ? '' : String(v);
    await this.#all((c) => c.hset(key, h));
  }

  async getWindow(cluster: string): Promise<Record<string, string> | null> {
    const h = await this.#first((c) => c.hgetall(this.#windowKey(cluster)));
    return Object.keys(h).length > 0 ? h : null;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.#clients.map((c) => c.quit()));
    for (const c of this.#clients) c.disconnect();
  }
}

/** SCAN pattern of one cluster's claims (tests). */
export function claimPattern(prefix: string, cluster: string): string {
  return `${escapeGlob(`${prefix}:${cluster}`)}:backup-claim:*`;
}
