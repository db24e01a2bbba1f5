/**
 * pgvigil/client and pgvigil/events on real processes (3 nodes with agents, 3 sentinels, 3
 * Redis servers with AUTH):
 * - the read pool never answers from a standby lagging past its limit (replay paused there);
 * - an application writing through createPool() keeps writing across a SIGKILL failover and
 *   a switchover; the time from the fault to its first write on the new primary is printed;
 * - a subscriber on redis-1 only, closed before the failover, resumes from its last id on
 *   redis-2 and redis-3 (redis-1 stopped): together they saw every event of the history once,
 *   in order;
 * - `pgvigil connstring` used by psql reaches the new primary.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPool, type PgvigilPool } from '../../src/client/index.js';
import type { StampedEvent } from '../../src/events/index.js';
import { subscribe } from '../../src/events/index.js';
import { readAppPassword } from '../../src/local/app-role.js';
import { localKill } from '../../src/local/cluster.js';
import { killQuietly, statePath } from '../../src/local/state.js';
import { eventually, type LocalHandle, sleep, sql, startLocal } from '../helpers/local.js';

const run = promisify(execFile);
let h: LocalHandle;
let pool: PgvigilPool;
/** row ids of every writer (table w) */
let nextId = 0;

interface Write {
  at: number;
  port: number | null;
  ms: number;
  error?: string;
}

/** Writes continuously through the pool, as examples/failover-writer.mjs does. */
function startWriter(p: PgvigilPool): { log: Write[]; stop: () => Promise<void> } {
  const log: Write[] = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const t0 = performance.now();
      try {
        const r = await p.query<{ port: number }>(
          'INSERT INTO w (id) VALUES ($1) RETURNING inet_server_port() AS port',
          [++nextId],
        );
        log.push({ at: performance.now(), port: r.rows[0]!.port, ms: performance.now() - t0 });
      } catch (err) {
        // outcome unknown (the connection broke after sending): the application decides
        log.push({
          at: performance.now(),
          port: null,
          ms: performance.now() - t0,
          error: String(err),
        });
        await sleep(20);
      }
      await sleep(5);
    }
  })();
  return {
    log,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

function firstWriteOn(log: Write[], port: number, after: number): number | undefined {
  return log.find((w) => w.port === port && w.at > after)?.at;
}

async function settledPrimary(not: string): Promise<string> {
  const t = await eventually(async () => {
    const t = await h.topology();
    return t && t.primary !== not && t.state === 'ok' ? t : undefined;
  }, 30_000);
  return t.primary;
}

beforeAll(async () => {
  h = await startLocal({ nodes: 3, sentinels: 3, redis: 3 });
  const app = h.state.client.app!; // the application role of local up (not a superuser)
  pool = await createPool({
    cluster: h.state.cluster,
    redis: h.state.redis,
    redisAuth: { password: h.secrets.redisPassword },
    user: app.user,
    database: app.database,
    password: readAppPassword(app),
    max: 4,
    failoverTimeoutMs: 20_000,
    read: { maxLagBytes: 64 * 1024 },
  });
  await pool.query('CREATE TABLE w (id bigint PRIMARY KEY, at timestamptz DEFAULT now())');
}, 120_000);

afterAll(async () => {
  await pool?.end();
  await h?.down();
});

describe('createPool and subscribe on a real cluster', () => {
  it('the read pool never answers from a standby lagging past its limit', async () => {
    const pg2 = h.node('pg2');
    const pg3 = h.node('pg3');
    await eventually(async () =>
      pool.topology?.nodes.every((n) => n.state === 'up') ? true : undefined,
    );
    await sql(pg2, 'SELECT pg_wal_replay_pause()');
    try {
      await sql(
        h.node('pg1'),
        "CREATE TABLE big AS SELECT g, repeat('x', 1000) AS pad FROM generate_series(1, 2000) g",
      );
      const ports: number[] = [];
      for (let i = 0; i < 12; i++)
        ports.push(
          (await pool.reader!.query<{ port: number }>('SELECT inet_server_port() AS port')).rows[0]!
            .port,
        );
      expect(ports).not.toContain(pg2.port);
      expect(ports).toContain(pg3.port);
    } finally {
      await sql(pg2, 'SELECT pg_wal_replay_resume()');
    }
  });

  it('keeps writing across a SIGKILL failover; a subscriber resumes on other Redis servers', async () => {
    const [r1, r2, r3] = h.state.redisServers;
    const auth = { password: h.secrets.redisPassword };
    const before: StampedEvent[] = [];
    const first = await subscribe({
      cluster: h.state.cluster,
      redis: [r1!.url],
      since: '0',
      ...auth,
      onEvent: (e) => before.push(e),
    });
    await eventually(async () => (before.length > 0 ? true : undefined));
    const writer = startWriter(pool);
    await eventually(async () =>
      writer.log.some((w) => w.port === h.node('pg1').port) ? true : undefined,
    );
    await first.close(); // away during the failover
    const lastSeen = first.lastId!;

    const killedAt = performance.now();
    await localKill({ dir: h.state.dir, name: 'pg1', signal: 'KILL' });
    const next = await settledPrimary('pg1');
    const nextPort = h.node(next).port;
    await eventually(
      async () => (firstWriteOn(writer.log, nextPort, killedAt) ? true : undefined),
      30_000,
    );
    await writer.stop();
    const ms = firstWriteOn(writer.log, nextPort, killedAt)! - killedAt;
    const errors = writer.log.filter((w) => w.error !== undefined);
    console.log(
      `pool: SIGKILL pg1 -> first write on ${next} after ${ms.toFixed(0)} ms; ${writer.log.length} writes, ${errors.length} with unknown outcome`,
    );
    // every error the writer saw was one the pool could not retry (sent, outcome unknown)
    for (const e of errors)
      expect(e.error).toMatch(/terminat|ended|reset|ECONNRESET|EPIPE|timeout/i);
    expect(errors.length).toBeLessThanOrEqual(4);

    // back, on two other servers (redis-1 stopped): from the last id it handled
    killQuietly(r1!.pid, 'SIGTERM');
    const after: StampedEvent[] = [];
    const second = await subscribe({
      cluster: h.state.cluster,
      redis: [r2!.url, r3!.url],
      since: lastSeen,
      ...auth,
      onEvent: (e) => after.push(e),
    });
    try {
      await eventually(async () =>
        after.some((e) => e.type === 'topology-changed' && e.topology.primary === next)
          ? true
          : undefined,
      );
      const history = (await h.store.readHistory(h.state.cluster, '0', 10_000)).map(
        (x) => x.event.id,
      );
      const seen = [...before, ...after].map((e) => e.id);
      expect(new Set(seen).size).toBe(seen.length); // nothing twice
      expect(history.slice(0, seen.length)).toEqual(seen); // nothing missed, in order
      expect(after.length).toBeGreaterThan(0);
    } finally {
      await second.close();
    }
  });

  it('psql with `pgvigil connstring` reaches the new primary', async () => {
    const t = (await h.topology())!;
    const cli = [
      'dist/cli.js',
      'connstring',
      '--config',
      h.state.config,
      '--user',
      'app',
      '--database',
      'app',
    ];
    const { stdout: url } = await run('node', cli);
    expect(url).toMatch(/^postgresql:\/\/[^:@]+@[^/]+,[^/]+\/\w+\?target_session_attrs=read-write/);
    expect(url).not.toContain(readAppPassword(h.state.client.app!));
    expect(readFileSync(statePath(h.state.dir), 'utf8')).not.toContain(
      readAppPassword(h.state.client.app!),
    );
    const { stdout } = await run(
      'psql',
      [url.trim(), '-Atc', 'SELECT inet_server_port(), pg_is_in_recovery()'],
      {
        env: { ...process.env, PGPASSFILE: h.state.pgpassFile },
      },
    );
    expect(stdout.trim()).toBe(`${h.node(t.primary).port}|f`);
  });

  it('keeps writing across a switchover', async () => {
    const t = (await h.topology())!;
    const to = t.nodes.find((n) => n.name !== t.primary && n.name !== 'pg1')!.name;
    const writer = startWriter(pool);
    await eventually(async () =>
      writer.log.some((w) => w.port === h.node(t.primary).port) ? true : undefined,
    );
    const startedAt = performance.now();
    await eventually(async () => {
      const res = await fetch(`${h.state.api}/switchover`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ to }),
        signal: AbortSignal.timeout(60_000),
      });
      return res.status === 409 ? undefined : res.status;
    }, 40_000);
    await settledPrimary(t.primary);
    const port = h.node(to).port;
    await eventually(
      async () => (firstWriteOn(writer.log, port, startedAt) ? true : undefined),
      30_000,
    );
    await writer.stop();
    const ms = firstWriteOn(writer.log, port, startedAt)! - startedAt;
    const errors = writer.log.filter((w) => w.error !== undefined);
    console.log(
      `pool: switchover ${t.primary} -> ${to}: first write on ${to} after ${ms.toFixed(0)} ms (from the request); ${errors.length} errors`,
    );
    expect(errors.length).toBeLessThanOrEqual(4);
  });
});
