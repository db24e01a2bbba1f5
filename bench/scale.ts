/**
 * `npm run bench:scale`: one sentinel watching 300 nodes at 1 Hz (DESIGN.md target: <= 25 % of
 * one core, RSS <= 120 MB).
 *
 * Method: real PostgreSQL servers (per 50 clusters a primary and two streaming standbys), each
 * listening on 50 loopback addresses 127.0.1.k (Linux routes all of 127/8 to lo; PostgreSQL
 * listens on at most 64 sockets), so the config can describe `--clusters` (default 100)
 * clusters of 3 distinct nodes each (node i of cluster k = 127.0.1.k on that server's port): 300 persistent probe connections, 100 heartbeat
 * writes a second, 100 cluster loops reading Redis, exactly as 100 separate clusters would be
 * watched. One sentinel process (`pgvigil sentinel`, quorum 1 of 1) with probeIntervalMs 1000
 * and one Redis server. After all topologies are committed and a warm-up, utime+stime of the
 * sentinel is read from /proc over `--seconds` (default 60); RSS at the end.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { stringify } from 'yaml';

import { stopNode } from '../src/adapters/process/index.js';
import { RedisCoordinationStore } from '../src/adapters/redis/store.js';
import { freePort } from '../src/local/free-port.js';
import { initPrimary, initStandby, type LocalNode } from '../src/local/postgres.js';
import { startRedisServer } from '../src/local/redis-server.js';
import { spawnSentinel } from '../src/local/sentinels.js';
import { CLOCK_TICKS, cpuTicks, rssMb } from './lib.js';

const PER_GROUP = 50;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      clusters: { type: 'string', default: '100' },
      seconds: { type: 'string', default: '60' },
      warmup: { type: 'string', default: '15' },
    },
  });
  const clusters = Number(values.clusters);
  const seconds = Number(values.seconds);
  const dir = mkdtempSync(join(tmpdir(), 'pgvigil-bench-scale-'));
  chmodSync(dir, 0o755);
  const addresses = Array.from({ length: clusters }, (_, k) => `127.0.1.${k + 1}`);
  const superPassword = randomBytes(12).toString('base64url');
  const replPassword = randomBytes(12).toString('base64url');
  const nodes: LocalNode[] = [];
  let sentinelPid = 0;
  const redis = await startRedisServer({ dir: join(dir, 'redis'), name: 'redis-1' });
  try {
    // PostgreSQL listens on at most 64 sockets (MAXLISTEN): one replication group of 3 servers
    // per 50 clusters, each server listening on that group's 50 addresses.
    const groups = Math.ceil(clusters / PER_GROUP);
    const groupNodes: LocalNode[][] = [];
    for (let g = 0; g < groups; g++) {
      const listen = ['127.0.0.1', ...addresses.slice(g * PER_GROUP, (g + 1) * PER_GROUP)].join(
        ',',
      );
      const ports = [await freePort(), await freePort(), await freePort()];
      const group: LocalNode[] = [];
      group.push(
        await initPrimary({
          dir: join(dir, `g${g}-pg1`),
          name: 'pg1',
          port: ports[0]!,
          superPassword,
          replPassword,
          standbys: ['pg2', 'pg3'],
          settings: { listen_addresses: listen, max_connections: String(2 * PER_GROUP + 50) },
        }),
      );
      for (const [i, name] of ['pg2', 'pg3'].entries()) {
        group.push(
          await initStandby({
            dir: join(dir, `g${g}-${name}`),
            name,
            port: ports[i + 1]!,
            primary: { host: '127.0.0.1', port: ports[0]! },
            replPassword,
            superPassword,
            slot: name,
          }),
        );
      }
      nodes.push(...group);
      groupNodes.push(group);
    }
    writeFileSync(join(dir, 'pw'), superPassword, { mode: 0o600 });
    const config = {
      sentinels: 1,
      coordination: { redis: [redis.url] },
      timing: { probeIntervalMs: 1000, downAfterMs: 5000, refusedAfterMs: 2000, lockTtlMs: 5000 },
      log: { level: 'warn' },
      clusters: addresses.map((host, k) => ({
        name: `c${k + 1}`,
        quorum: 1,
        passwordFile: 'pw',
        nodes: groupNodes[Math.floor(k / PER_GROUP)]!.map((n) => ({
          name: n.name,
          host,
          port: n.port,
        })),
      })),
    };
    const configFile = join(dir, 'pgvigil.yaml');
    writeFileSync(configFile, stringify(config));
    sentinelPid = spawnSentinel({
      config: configFile,
      id: 's1',
      apiPort: await freePort(),
      logFile: join(dir, 's1.log'),
    });

    const store = new RedisCoordinationStore({
      urls: [redis.url],
      prefix: 'pgvigil',
      commandTimeoutMs: 2000,
    });
    const deadline = Date.now() + 120_000;
    for (;;) {
      const committed = await Promise.all(
        config.clusters.map(async (c) => (await store.readTopology(c.name)).value !== null),
      );
      if (committed.every(Boolean)) break;
      if (Date.now() > deadline)
        throw new Error(`not every topology committed in 120 s: see ${join(dir, 's1.log')}`);
      await sleep(1000);
    }
    await store.close();
    await sleep(Number(values.warmup) * 1000);
    const before = cpuTicks(sentinelPid);
    await sleep(seconds * 1000);
    const cpu = ((cpuTicks(sentinelPid) - before) / CLOCK_TICKS / seconds) * 100;
    const rss = rssMb(sentinelPid);
    console.log(
      `pgvigil scale bench: 1 sentinel, ${clusters} clusters x 3 nodes = ${3 * clusters} nodes, probe every 1000 ms, ${seconds} s measured`,
    );
    console.log(
      `  cpu ${cpu.toFixed(1)} % of one core (target <= 25 %: ${cpu <= 25 ? 'PASS' : 'MISS'})`,
    );
    console.log(`  rss ${rss.toFixed(0)} MB (target <= 120 MB: ${rss <= 120 ? 'PASS' : 'MISS'})`);
  } finally {
    if (sentinelPid) {
      try {
        process.kill(sentinelPid, 'SIGTERM');
      } catch {
        // gone
      }
      await sleep(1500);
      try {
        process.kill(sentinelPid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const n of nodes.reverse()) await stopNode(n).catch(() => undefined);
    await redis.stop();
    if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench:scale failed: ${(err as Error).message}`);
  process.exitCode = 1;
});
