/**
 * Part of `npm run bench:events`: client time to first write after a failover, through
 * createPool() and through a libpq multi-host URL (`pgvigil connstring`), over `--failovers`
 * (default 10) SIGKILL failovers of one local cluster (3 nodes with agents, 3 sentinels, 3
 * Redis servers, default timing profile, cooldown 2 s).
 *
 * Method, per failover: two writers run at once against the current primary, as the local
 * application role: (a) a loop of `pool.query(INSERT ... RETURNING inet_server_port())`
 * through createPool() (5 ms between writes); (b) a loop of `psql "<multi-host URL>" -c
 * INSERT ...` (one process per write: a libpq application that reconnects on error; 5 ms
 * between). After 500 ms, t0 = performance.now() right before SIGKILL of the primary's
 * postmaster; each writer's figure is the time from t0 to its first acknowledged write on
 * another port. Then the old primary is left to rejoin as a standby (its agent) before the next
 * round.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';

import { RedisCoordinationStore } from '../src/adapters/redis/store.js';
import { createPool } from '../src/client/index.js';
import { multiHostUrl } from '../src/core/connstring.js';
import { readAppPassword } from '../src/local/app-role.js';
import { localDown, localKill, localUp } from '../src/local/cluster.js';
import { localSecrets } from '../src/local/state.js';
import { nearestRank, onNode } from './lib.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(fn: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function writer(write: () => Promise<number>): {
  first: (oldPort: number, after: number) => number | undefined;
  stop: () => Promise<void>;
} {
  const acks: { at: number; port: number }[] = [];
  let on = true;
  const done = (async () => {
    while (on) {
      try {
        const port = await write();
        acks.push({ at: performance.now(), port });
      } catch {
        /* not acknowledged */
      }
      await sleep(5);
    }
  })();
  return {
    first: (oldPort, after) => acks.find((a) => a.port !== oldPort && a.at > after)?.at,
    stop: async () => {
      on = false;
      await done;
    },
  };
}

export async function clientFailovers(count: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pgvigil-bench-client-'));
  const state = await localUp({
    dir,
    nodes: 3,
    sentinels: 3,
    redis: 3,
    apiPort: 0,
    timing: { cooldownMs: 2000 },
    progress: () => undefined,
  });
  const secrets = localSecrets(state);
  const app = state.client.app!;
  const password = readAppPassword(app);
  const store = new RedisCoordinationStore({
    urls: state.redis,
    prefix: 'pgvigil',
    commandTimeoutMs: 1000,
    auth: { password: secrets.redisPassword },
  });
  const pool = await createPool({
    cluster: state.cluster,
    redis: state.redis,
    redisAuth: { password: secrets.redisPassword },
    user: app.user,
    database: app.database,
    password,
    max: 2,
  });
  const poolMs: number[] = [];
  const libpqMs: number[] = [];
  try {
    await pool.query('CREATE TABLE IF NOT EXISTS bench_client (id bigserial PRIMARY KEY)');
    const insert = 'INSERT INTO bench_client DEFAULT VALUES RETURNING inet_server_port()';
    for (let i = 1; i <= count; i++) {
      const t = await until(
        async () => {
          const t = (await store.readTopology(state.cluster)).value;
          return t && t.state === 'ok' ? t : undefined;
        },
        120_000,
        'a settled topology',
      );
      const old = t.nodes.find((n) => n.name === t.primary)!;
      const url = multiHostUrl(t, { user: app.user, database: app.database });
      const viaPool = writer(async () =>
        Number((await pool.query<{ inet_server_port: number }>(insert)).rows[0]!.inet_server_port),
      );
      const viaLibpq = writer(async () => {
        const { stdout } = await run('psql', [url, '-Atc', insert], {
          env: { ...process.env, PGPASSWORD: password },
          timeout: 10_000,
        });
        return Number(stdout.trim().split('\n')[0]);
      });
      await sleep(500);
      const t0 = performance.now();
      await localKill({ dir, name: t.primary, signal: 'KILL' });
      await until(
        async () =>
          viaPool.first(old.port, t0) && viaLibpq.first(old.port, t0) ? true : undefined,
        30_000,
        'writes on the new primary',
      );
      await Promise.all([viaPool.stop(), viaLibpq.stop()]);
      poolMs.push(viaPool.first(old.port, t0)! - t0);
      libpqMs.push(viaLibpq.first(old.port, t0)! - t0);
      // the killed primary rejoins as a standby (its agent) before the next round
      const killed = state.nodes.find((n) => n.name === t.primary)!;
      await until(
        async () => {
          const r = await onNode(state, killed, (c) =>
            c.query<{ s: string | null }>('SELECT (SELECT status FROM pg_stat_wal_receiver) AS s'),
          );
          return r.rows[0]?.s === 'streaming' ? true : undefined;
        },
        120_000,
        `${t.primary} streaming again`,
      );
      console.log(
        `  failover ${i}/${count} (${t.primary} killed): pool ${poolMs.at(-1)!.toFixed(0)} ms, libpq multi-host URL ${libpqMs.at(-1)!.toFixed(0)} ms`,
      );
    }
  } finally {
    await pool.end();
    await store.close();
    await localDown({ dir, quiet: true }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
  const line = (name: string, xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return `  ${name}: p50 ${nearestRank(s, 50).toFixed(0)} ms   p99 ${nearestRank(s, 99).toFixed(0)} ms   max ${(s.at(-1) ?? NaN).toFixed(0)} ms`;
  };
  console.log(
    `client time to first write after SIGKILL of the primary, ${poolMs.length} failovers (3 nodes, 3 sentinels, 3 Redis):`,
  );
  console.log(line('createPool (pgvigil/client)', poolMs));
  console.log(line('libpq multi-host URL (psql per write)', libpqMs));
}
