/**
 * The coordination contract against the Redis adapter on 3 real redis-server processes,
 * plus what only real servers show: hung (SIGSTOPped) servers, key layout, close().
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { RedisCoordinationStore } from '../../src/adapters/redis/store.js';
import { CoordinationUnavailable } from '../../src/core/errors.js';
import { startRedisServer } from '../../src/local/redis-server.js';
import { type RedisTestCluster, startRedisCluster } from '../helpers/redis.js';
import { describeCoordinationContract, topology } from './coordination.contract.js';

const PREFIX = 'pgvigil-test';
const TIMEOUT_MS = 300;

let dir: string;
let cluster: RedisTestCluster;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pgvigil-coord-'));
  cluster = await startRedisCluster(3, dir);
});

afterAll(async () => {
  try {
    await cluster?.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function openStore(warnings?: unknown[]): RedisCoordinationStore {
  return new RedisCoordinationStore({
    urls: cluster.urls,
    prefix: PREFIX,
    commandTimeoutMs: TIMEOUT_MS,
    logger: { warn: (obj, msg) => warnings?.push({ ...obj, msg }) },
  });
}

describeCoordinationContract('Redis (3 redis-server processes)', async () => {
  const stores: RedisCoordinationStore[] = [];
  const open = async (): Promise<RedisCoordinationStore> => {
    const store = openStore();
    stores.push(store);
    await store.ready(3000);
    return store;
  };
  const restartAll = async (): Promise<void> => {
    for (let i = 0; i < cluster.urls.length; i++) await cluster.start(i);
  };
  await restartAll(); // a previous test that failed half-way may have left one down
  const store = await open();
  return {
    store,
    another: open,
    // really stopped (connection refused); it comes back with the data it had
    downServer: (i) => cluster.kill(i, { keepData: true }),
    upServer: async (i) => {
      await cluster.start(i);
      const ready = await Promise.all(stores.map((s) => s.ready(5000, [i])));
      if (!ready.every(Boolean)) throw new Error(`stores did not reconnect to redis-${i}`);
    },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    cleanup: async () => {
      await Promise.all(stores.map((s) => s.close()));
      await restartAll();
    },
  };
});

describe('RedisCoordinationStore on real servers', () => {
  it('writes the documented keys', async () => {
    const store = openStore();
    const raw = new Redis(cluster.urls[0] ?? '');
    try {
      await store.ready(3000);
      await store.casTopology('keys', 0, topology('keys', 1), 'w1');
      await store.publishVote(
        'keys',
        { sentinel: 's1', epoch: 1, primary: 'pg1', down: true, reason: 'x', atWall: 1 },
        10_000,
      );
      await store.setPause('keys', { paused: true, by: 'op', atWall: 1 });
      expect(JSON.parse((await raw.get(`${PREFIX}:keys:topology`)) ?? 'null')).toMatchObject({
        epoch: 1,
        committedBy: 'w1',
      });
      const ttl = await raw.pttl(`${PREFIX}:keys:vote:s1`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(10_000);
      expect(JSON.parse((await raw.get(`${PREFIX}:keys:paused`)) ?? 'null')).toMatchObject({
        paused: true,
      });
      await store.publishEvent('keys', {
        type: 'resumed',
        cluster: 'keys',
        epoch: 1,
        by: 'op',
        at: 'x',
        id: 'e1',
      });
      expect(await raw.xlen(`${PREFIX}:keys:history`)).toBe(1);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('answers within the command timeout with a hung server, and fails fast without a majority', async () => {
    const warnings: unknown[] = [];
    const store = openStore(warnings);
    try {
      await store.ready(3000);
      cluster.freeze(2);
      // a topology read answers with the majority, without waiting out the hung server: the
      // agent's lease confirmations must not pay a timeout per read (chaos: split-redis)
      let started = Date.now();
      const quick = await store.readTopology('hung');
      expect(quick.answered).toBe(2);
      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS / 2);
      started = Date.now();
      const read = await store.readTopology('hung', { every: true });
      expect(read.answered).toBe(2);
      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 500);
      expect(warnings).toEqual([expect.objectContaining({ msg: 'Redis server unreachable' })]);

      cluster.freeze(1);
      started = Date.now();
      await expect(store.readVotes('hung')).rejects.toBeInstanceOf(CoordinationUnavailable);
      expect(await store.tryLead('hung', 2000)).toBe(false);
      const cas = await store.casTopology('hung', 0, topology('hung', 1), 'w1');
      expect(cas.committed).toBe(false);
      expect(Date.now() - started).toBeLessThan(3 * (TIMEOUT_MS + 500));
      expect(warnings).toHaveLength(2); // once per server, not once per command
    } finally {
      cluster.thaw(1);
      cluster.thaw(2);
      await store.close();
    }
  });

  it('closes promptly even with a server down, subscriptions included', async () => {
    const store = openStore();
    await store.ready(3000);
    await store.subscribe('closing', () => undefined);
    await cluster.kill(0);
    const started = Date.now();
    await store.close();
    expect(Date.now() - started).toBeLessThan(1500);
    await cluster.start(0);
  });

  it('starts a redis-server that answers PING and reports a failed start with its log', async () => {
    const server = await startRedisServer({ dir: path.join(dir, 'single') });
    const raw = new Redis(server.url);
    try {
      expect(await raw.ping()).toBe('PONG');
    } finally {
      raw.disconnect();
      await server.stop();
    }
    expect(() => process.kill(server.pid, 0)).toThrow();
    await expect(
      startRedisServer({ dir: path.join(dir, 'broken'), extraArgs: ['--no-such-option', 'x'] }),
    ).rejects.toThrow(/exited.*log tail:[\s\S]*no-such-option/i);
  });
});

describe('RedisCoordinationStore with Redis AUTH (requirepass)', () => {
  const password = 'auth-secret-4f1c';
  let server: Awaited<ReturnType<typeof startRedisServer>>;
  beforeAll(async () => {
    server = await startRedisServer({ dir: path.join(dir, 'auth'), password, name: 'redis-auth' });
  });
  afterAll(async () => {
    await server?.stop();
  });
  const storeWith = (o: { url?: string; auth?: { username?: string; password?: string } }) =>
    new RedisCoordinationStore({
      urls: [o.url ?? server.url],
      prefix: PREFIX,
      commandTimeoutMs: TIMEOUT_MS,
      ...(o.auth ? { auth: o.auth } : {}),
    });

  it('keeps the password in a 0600 redis.conf, not in argv', () => {
    // redis-server retitles itself once up, so this mostly guards the config file's mode; the
    // secrets scenario samples every argv while the cluster works
    const argv = readFileSync(`/proc/${server.pid}/cmdline`, 'utf8');
    expect(readFileSync(path.join(server.dir, 'redis.conf'), 'utf8')).toContain('requirepass');
    expect(argv).not.toContain(password);
    expect(statSync(path.join(server.dir, 'redis.conf')).mode & 0o777).toBe(0o600);
    expect(statSync(server.dir).mode & 0o777).toBe(0o700);
  });

  it.each<[string, { auth?: { username?: string; password?: string }; inUrl?: boolean }]>([
    ['username and password options', { auth: { username: 'default', password } }],
    ['a password option', { auth: { password } }],
    ['a password in the URL', { inUrl: true }],
  ])('works with %s (subscriptions too)', async (what, o) => {
    const url = o.inUrl ? `redis://:${password}@127.0.0.1:${server.port}` : undefined;
    const store = storeWith({ ...o, ...(url ? { url } : {}) });
    try {
      expect(await store.ready(3000)).toBe(true);
      const got: string[] = [];
      await store.subscribe('auth', (e) => got.push(e.type));
      const cas = await store.casTopology('auth', 0, topology('auth', 1), 'w1');
      if (!cas.committed) expect(cas.seenEpoch).toBeGreaterThan(0); // an earlier case wrote it
      await store.publishEvent('auth', {
        type: 'resumed',
        cluster: 'auth',
        epoch: 1,
        by: 'op',
        at: 'x',
        id: `e-${what}`,
      });
      await vi.waitFor(() => expect(got).toEqual(['resumed']));
      expect((await store.readTopology('auth')).value?.epoch).toBe(1);
      expect(await store.tryLead('auth', 2000)).toBe(true);
      await store.releaseLead('auth');
    } finally {
      await store.close();
    }
  });

  it.each([
    ['a wrong password', { auth: { password: 'wrong-pw-91b7' } }, /WRONGPASS/],
    ['no password', {}, /NOAUTH/],
  ])('fails with one clear line naming the server with %s', async (what, o, reason) => {
    const store = storeWith(o);
    try {
      await store.ready(1000);
      const err = await store.readTopology('auth').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CoordinationUnavailable);
      const message = (err as Error).message;
      expect(message).toContain(server.url);
      expect(message).toMatch(reason);
      expect(message).not.toMatch(/wrong-pw-91b7|auth-secret-4f1c/);
      expect(message.split('\n')).toHaveLength(1);
      console.log(`[redis auth] ${what}: ${message}`);
    } finally {
      await store.close();
    }
  });

  it('redacts a password given in the URL from the error', async () => {
    const store = storeWith({ url: `redis://:wrong-pw-91b7@127.0.0.1:${server.port}` });
    try {
      const err = await store.readTopology('auth').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CoordinationUnavailable);
      expect((err as Error).message).toContain(`redis://:***@127.0.0.1:${server.port}`);
      expect((err as Error).message).not.toContain('wrong-pw-91b7');
    } finally {
      await store.close();
    }
  });
});
