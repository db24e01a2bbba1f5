/**
 * `npm run bench:scale -- [--nodes 100,300,1000] [--seconds 60] [--warmup 15] [--json]
 * [--cpu-prof DIR]`: one sentinel watching many node entries at 1 Hz (issue 12 target: 1000
 * nodes within 25 % of one core and 150 MB RSS).
 *
 * Method: real PostgreSQL servers shared by the entries: per 50 clusters a primary and two
 * streaming standbys, each listening on 50 loopback addresses 127.0.k.j (Linux routes all of
 * 127/8 to lo; PostgreSQL listens on at most 64 sockets), so that cluster c of a group has 3
 * distinct endpoints (node i = its address on server i's port), each with its own persistent
 * probe connection, its heartbeat write on the primary, its own cluster loop and Redis keys,
 * and its own database (`clusters[].database`, created on the group's primary): its own
 * pgvigil schema, heartbeat rows and epoch stamp, as separate clusters would have. What they
 * share is the servers' CPU and each server's max_connections (per server: the probe
 * sessions of 50 clusters, the primary's kept slot-check sessions, replication; 1000 nodes =
 * 334 clusters = 7 groups, 21 servers, 1000 sentinel sockets). For each size, in order, a
 * fresh `pgvigil sentinel` (quorum 1 of 1, probeIntervalMs 1000, one Redis, log level warn)
 * watches ceil(N/3) clusters; once every topology is committed and after a warm-up, over
 * `--seconds`:
 * - CPU % of one core (utime+stime from /proc/<pid>/stat), RSS at the end and its peak;
 * - probe latency p50/p99: `pgvigil_probe_duration_seconds` bucket deltas between two scrapes
 *   of /metrics, interpolated within the bucket (as PromQL's histogram_quantile);
 * - event-loop delay p50/p99/max measured inside the sentinel by bench/loop-lag.ts (preloaded
 *   with NODE_OPTIONS=--import; a 20 ms monitorEventLoopDelay, each sample minus 20 ms), not
 *   the sentinel's `pgvigil_nodejs_eventloop_lag_*`: prom-client samples those every 1000 ms
 *   (EVENT_LOOP_SAMPLE_MS, idle cost), and its histogram holds the interval between samples,
 *   ~1000 ms plus the delay, once a second;
 * - Redis commands per second: INFO commandstats deltas, minus the bench's own INFO calls;
 * - connections on each PostgreSQL server (pg_stat_activity) against its max_connections;
 * - the machine's 1-minute load average (highest of the samples every 5 s): the cores are
 *   shared, and a sentinel starved of CPU falls behind (timeouts, TILT).
 * `--cpu-prof DIR`: the sentinel runs with `--cpu-prof` (written when it stops).
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { Redis } from 'ioredis';
import pg from 'pg';
import { stringify } from 'yaml';

import { stopNode } from '../src/adapters/process/index.js';
import { RedisCoordinationStore } from '../src/adapters/redis/store.js';
import { freePort } from '../src/local/free-port.js';
import { initPrimary, initStandby, type LocalNode } from '../src/local/postgres.js';
import { startRedisServer } from '../src/local/redis-server.js';
import { spawnSentinel } from '../src/local/sentinels.js';
import { CLOCK_TICKS, cpuTicks, rssMb } from './lib.js';

const PER_GROUP = 50;
/** per server: the sentinel's probe sessions of one group, its control sessions, replication */
const MAX_CONNECTIONS = 2 * PER_GROUP + 50;

/** bench/loop-lag.ts, built beside this file */
const LOOP_LAG_MODULE = pathToFileURL(
  join(dirname(fileURLToPath(import.meta.url)), 'loop-lag.js'),
).href;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Histogram {
  /** upper bound -> cumulative count, summed over every node */
  buckets: Map<number, number>;
}

/** The pgvigil_probe_duration_seconds buckets from one /metrics scrape. */
async function scrape(api: string): Promise<{ probe: Histogram }> {
  const text = await (await fetch(`${api}/metrics`)).text();
  const buckets = new Map<number, number>();
  for (const line of text.split('\n')) {
    const b = /^pgvigil_probe_duration_seconds_bucket\{.*le="([^"]+)".*\} (\S+)$/.exec(line);
    if (b) {
      const le = b[1] === '+Inf' ? Infinity : Number(b[1]);
      buckets.set(le, (buckets.get(le) ?? 0) + Number(b[2]));
      continue;
    }
  }
  return { probe: { buckets } };
}

interface LoopLag {
  resolutionMs: number;
  samples: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/** The sentinel's event-loop delay since the last call (bench/loop-lag.ts, SIGUSR2). */
async function loopLag(pid: number, file: string): Promise<LoopLag> {
  rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 100; i++) {
    await sleep(50);
    if (existsSync(file)) {
      try {
        return JSON.parse(readFileSync(file, 'utf8')) as LoopLag;
      } catch {
        // half written: read again
      }
    }
  }
  throw new Error(`the sentinel (pid ${pid}) wrote no event-loop figures to ${file} within 5 s`);
}

/** Quantile q of the observations between two cumulative histograms (histogram_quantile). */
function quantile(
  before: Histogram,
  after: Histogram,
  q: number,
): { value: number; count: number } {
  const bounds = [...after.buckets.keys()].sort((a, b) => a - b);
  const cum = bounds.map((le) => (after.buckets.get(le) ?? 0) - (before.buckets.get(le) ?? 0));
  const total = cum.at(-1) ?? 0;
  if (total === 0) return { value: Number.NaN, count: 0 };
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    if (cum[i]! < rank) continue;
    const hi = bounds[i]!;
    const lo = i === 0 ? 0 : bounds[i - 1]!;
    if (hi === Infinity) return { value: lo, count: total };
    const below = i === 0 ? 0 : cum[i - 1]!;
    return { value: lo + ((hi - lo) * (rank - below)) / (cum[i]! - below), count: total };
  }
  return { value: Number.NaN, count: total };
}

async function redisCalls(r: Redis): Promise<number> {
  const info = await r.info('commandstats');
  let calls = 0;
  for (const m of info.matchAll(/calls=(\d+)/g)) calls += Number(m[1]);
  return calls;
}

function peakRssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmHWM:'));
  return Number(line?.split(/\s+/)[1] ?? 0) / 1024;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '100,300,1000' },
      seconds: { type: 'string', default: '60' },
      warmup: { type: 'string', default: '15' },
      json: { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      /** timing.connectTimeoutMs and queryTimeoutMs (default: the default profile's 1000) */
      'pg-timeout-ms': { type: 'string' },
      /** timing.redisTimeoutMs (default: the default profile's 500) */
      'redis-timeout-ms': { type: 'string' },
    },
  });
  const sizes = values.nodes.split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 3))
    throw new Error(`--nodes ${values.nodes}: a comma-separated list of node counts >= 3`);
  const seconds = Number(values.seconds);
  const profileDir = values['cpu-prof'] ? resolve(values['cpu-prof']) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const maxClusters = Math.ceil(Math.max(...sizes) / 3);
  const dir = mkdtempSync(join(tmpdir(), 'pgvigil-bench-scale-'));
  chmodSync(dir, 0o755);
  // cluster k (0-based) of group g = k div 50: address 127.0.(g+1).(k mod 50 + 1)
  const dbOf = (k: number) => `c${k + 1}`;
  const address = (k: number) => `127.0.${Math.floor(k / PER_GROUP) + 1}.${(k % PER_GROUP) + 1}`;
  const superPassword = randomBytes(12).toString('base64url');
  const replPassword = randomBytes(12).toString('base64url');
  const nodes: LocalNode[] = [];
  const groupNodes: LocalNode[][] = [];
  let sentinelPid = 0;
  const redis = await startRedisServer({ dir: join(dir, 'redis'), name: 'redis-1' });
  const redisClient = new Redis(redis.url, { lazyConnect: true });
  redisClient.on('error', () => undefined);
  const stopSentinel = async (): Promise<void> => {
    if (!sentinelPid) return;
    const pid = sentinelPid;
    sentinelPid = 0;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    // a profile is written on exit: give it time
    for (let i = 0; i < (profileDir ? 300 : 30); i++) {
      await sleep(100);
      try {
        process.kill(pid, 0);
      } catch {
        return;
      }
    }
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  };
  const results: Record<string, unknown>[] = [];
  try {
    await redisClient.connect();
    const groups = Math.ceil(maxClusters / PER_GROUP);
    for (let g = 0; g < groups; g++) {
      const addrs = Array.from({ length: PER_GROUP }, (_, j) => address(g * PER_GROUP + j));
      const listen = ['127.0.0.1', ...addrs].join(',');
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
          settings: { listen_addresses: listen, max_connections: String(MAX_CONNECTIONS) },
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
    // one database per cluster on its group's primary (streamed to the standbys): each cluster
    // has a pgvigil schema of its own, its heartbeat rows and its epoch stamp, as separate
    // servers would give it (one shared schema made every cluster after the first of a group
    // re-seed above the group's stamp, its sessions queue on one heartbeat row, and a deferred
    // stamp retry fail for ever against a sibling's higher epoch)
    const createdAt = Date.now();
    await Promise.all(
      groupNodes.map(async (group, g) => {
        const c = new pg.Client({
          host: '127.0.0.1',
          port: group[0]!.port,
          user: 'postgres',
          password: superPassword,
          database: 'postgres',
        });
        await c.connect();
        try {
          const count = Math.min(PER_GROUP, maxClusters - g * PER_GROUP);
          for (let j = 0; j < count; j++)
            await c.query(`CREATE DATABASE ${dbOf(g * PER_GROUP + j)}`);
        } finally {
          await c.end();
        }
      }),
    );
    const createS = (Date.now() - createdAt) / 1000;
    const servers = groups * 3;
    console.log(
      `pgvigil scale bench: ${servers} PostgreSQL 15 servers (${groups} groups of a primary and 2 standbys, each listening on ${PER_GROUP} loopback addresses, max_connections ${MAX_CONNECTIONS}); node entries share them: up to ${PER_GROUP} entries per server, each cluster in a database of its own (${maxClusters} created in ${createS.toFixed(0)} s); 1 Redis; probe every 1000 ms, PostgreSQL timeouts ${values['pg-timeout-ms'] ?? 1000} ms, Redis timeout ${values['redis-timeout-ms'] ?? 500} ms; ${seconds} s measured per size`,
    );
    writeFileSync(join(dir, 'pw'), superPassword, { mode: 0o600 });

    for (const n of sizes) {
      const clusters = Math.ceil(n / 3);
      const config = {
        sentinels: 1,
        coordination: { redis: [redis.url] },
        timing: {
          probeIntervalMs: 1000,
          downAfterMs: 5000,
          refusedAfterMs: 2000,
          lockTtlMs: 5000,
          ...(values['pg-timeout-ms']
            ? {
                connectTimeoutMs: Number(values['pg-timeout-ms']),
                queryTimeoutMs: Number(values['pg-timeout-ms']),
              }
            : {}),
          ...(values['redis-timeout-ms']
            ? { redisTimeoutMs: Number(values['redis-timeout-ms']) }
            : {}),
        },
        log: { level: 'warn' },
        clusters: Array.from({ length: clusters }, (_, k) => ({
          name: `c${k + 1}`,
          quorum: 1,
          passwordFile: 'pw',
          database: dbOf(k),
          nodes: groupNodes[Math.floor(k / PER_GROUP)]!.map((node) => ({
            name: node.name,
            host: address(k),
            port: node.port,
          })),
        })),
      };
      const configFile = join(dir, `pgvigil-${n}.yaml`);
      writeFileSync(configFile, stringify(config));
      const apiPort = await freePort();
      const api = `http://127.0.0.1:${apiPort}`;
      const logFile = join(dir, `s1-${n}.log`);
      const lagFile = join(dir, `loop-lag-${n}.json`);
      const nodeOptions = [process.env.NODE_OPTIONS ?? '', `--import=${LOOP_LAG_MODULE}`];
      sentinelPid = spawnSentinel({
        config: configFile,
        id: 's1',
        apiPort,
        logFile,
        env: { NODE_OPTIONS: nodeOptions.join(' ').trim(), BENCH_LOOP_LAG_FILE: lagFile },
        nodeFlags: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
      });

      const store = new RedisCoordinationStore({
        urls: [redis.url],
        prefix: 'pgvigil',
        commandTimeoutMs: 2000,
      });
      const startedAt = Date.now();
      try {
        for (;;) {
          const committed = await Promise.all(
            config.clusters.map(async (c) => (await store.readTopology(c.name)).value !== null),
          );
          if (committed.every(Boolean)) break;
          try {
            process.kill(sentinelPid, 0);
          } catch {
            throw new Error(
              `the sentinel exited before every topology was committed: see ${logFile}`,
            );
          }
          if (Date.now() - startedAt > 180_000)
            throw new Error(
              `${committed.filter(Boolean).length} of ${clusters} topologies committed in 180 s (load average ${loadavg()[0]!.toFixed(1)}): see ${logFile}`,
            );
          await sleep(1000);
        }
      } finally {
        await store.close(); // an open store would keep a failed run from exiting
      }
      const readyS = (Date.now() - startedAt) / 1000;
      await sleep(Number(values.warmup) * 1000);

      const m0 = await scrape(api);
      await loopLag(sentinelPid, lagFile); // starts the window
      const calls0 = await redisCalls(redisClient);
      const cpu0 = cpuTicks(sentinelPid);
      const t0 = Date.now();
      // the machine's load over the window (other work shares the cores): sampled every 5 s
      const loads: number[] = [];
      for (let i = 0; i < seconds / 5; i++) {
        await sleep(5000);
        loads.push(loadavg()[0]!);
      }
      await sleep(Math.max(0, t0 + seconds * 1000 - Date.now()));
      const elapsed = (Date.now() - t0) / 1000;
      const cpu = ((cpuTicks(sentinelPid) - cpu0) / CLOCK_TICKS / elapsed) * 100;
      const calls1 = await redisCalls(redisClient);
      const lag = await loopLag(sentinelPid, lagFile);
      const m1 = await scrape(api);
      const rss = rssMb(sentinelPid);
      const peak = peakRssMb(sentinelPid);
      const p50 = quantile(m0.probe, m1.probe, 0.5);
      const p99 = quantile(m0.probe, m1.probe, 0.99);
      // connections per server: the busiest one and its max_connections
      const conns = await Promise.all(
        nodes.map(async (node) => {
          const c = new pg.Client({
            host: '127.0.0.1',
            port: node.port,
            user: 'postgres',
            password: superPassword,
            database: 'postgres',
          });
          await c.connect();
          try {
            const r = await c.query<{ n: string }>(
              `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name LIKE 'pgvigil-sentinel-%'`,
            );
            return Number(r.rows[0]!.n);
          } finally {
            await c.end();
          }
        }),
      );
      const result = {
        nodes: 3 * clusters,
        clusters,
        seconds: elapsed,
        readySeconds: readyS,
        cpuPct: cpu,
        rssMb: rss,
        peakRssMb: peak,
        probes: p99.count,
        probesPerSec: p99.count / elapsed,
        probeP50Ms: p50.value * 1000,
        probeP99Ms: p99.value * 1000,
        loopLagP50Ms: lag.p50Ms,
        loopLagP99Ms: lag.p99Ms,
        loopLagMaxMs: lag.maxMs,
        loopLagSamples: lag.samples,
        // the bench's own INFO (the first one) is one call
        redisCommandsPerSec: (calls1 - calls0 - 1) / elapsed,
        sentinelConnsPerServerMax: Math.max(...conns),
        maxConnections: MAX_CONNECTIONS,
        loadAverage: loads.length ? Math.max(...loads) : loadavg()[0]!,
      };
      results.push(result);
      const ok = cpu <= 25 && rss <= 150;
      console.log(
        `  ${String(result.nodes).padStart(4)} nodes (${clusters} clusters, all committed ${readyS.toFixed(0)} s after start): cpu ${cpu.toFixed(1)} % of one core, rss ${rss.toFixed(0)} MB (peak ${peak.toFixed(0)}), ${result.probesPerSec.toFixed(0)} probes/s, probe p50 ${result.probeP50Ms.toFixed(1)} ms p99 ${result.probeP99Ms.toFixed(1)} ms, event-loop delay p50 ${result.loopLagP50Ms.toFixed(1)} ms p99 ${result.loopLagP99Ms.toFixed(1)} ms max ${result.loopLagMaxMs.toFixed(0)} ms, Redis ${result.redisCommandsPerSec.toFixed(0)} commands/s, sentinel sessions per server <= ${result.sentinelConnsPerServerMax} of max_connections ${MAX_CONNECTIONS}, machine load average <= ${result.loadAverage.toFixed(1)}${n >= 1000 ? `   (target <= 25 %, <= 150 MB: ${ok ? 'PASS' : 'MISS'})` : ''}`,
      );
      await stopSentinel();
    }
    if (values.json) console.log(JSON.stringify({ servers, results }));
  } finally {
    await stopSentinel();
    redisClient.disconnect();
    for (const n of nodes.reverse()) await stopNode(n).catch(() => undefined);
    await redis.stop();
    if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench:scale failed: ${(err as Error).message}`);
  process.exitCode = 1;
});
