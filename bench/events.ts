/**
 * `npm run bench:events`: topology event to subscriber latency (DESIGN.md target p99 <= 50 ms).
 *
 * Method: 3 real redis-server processes on loopback; one RedisCoordinationStore publishes
 * `--count` (default 1000) topology-changed events, one every `--interval-ms` (default 10), the
 * way a sentinel does (PUBLISH + XADD on every server); another store, subscribed to all three
 * servers with de-duplication (as a client), records receive time minus publish time for each
 * event id (both in this process: one clock). Also checks every event arrived exactly once.
 * Then `--failovers` (default 10; 0 skips it) client failovers: bench/client-failover.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { RedisCoordinationStore } from '../src/adapters/redis/store.js';
import type { StampedEvent } from '../src/core/events.js';
import type { Topology } from '../src/core/model.js';
import { startRedisServer } from '../src/local/redis-server.js';
import { clientFailovers } from './client-failover.js';
import { nearestRank } from './lib.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '1000' },
      'interval-ms': { type: 'string', default: '10' },
      failovers: { type: 'string', default: '10' },
    },
  });
  const count = Number(values.count);
  const interval = Number(values['interval-ms']);
  const dir = mkdtempSync(join(tmpdir(), 'pgvigil-bench-events-'));
  const servers = await Promise.all(
    [1, 2, 3].map((i) => startRedisServer({ dir: join(dir, `redis-${i}`), name: `redis-${i}` })),
  );
  const urls = servers.map((s) => s.url);
  const publisher = new RedisCoordinationStore({ urls, prefix: 'pgvigil', commandTimeoutMs: 1000 });
  const client = new RedisCoordinationStore({ urls, prefix: 'pgvigil', commandTimeoutMs: 1000 });
  try {
    await Promise.all([publisher.ready(3000), client.ready(3000)]);
    const sentAt = new Map<string, number>();
    const delays: number[] = [];
    let duplicates = 0;
    const seen = new Set<string>();
    const unsubscribe = await client.subscribe('bench', (e) => {
      const t0 = sentAt.get(e.id);
      if (seen.has(e.id)) duplicates++;
      seen.add(e.id);
      if (t0 !== undefined) delays.push(performance.now() - t0);
    });
    const topology: Topology = {
      cluster: 'bench',
      epoch: 1,
      primary: 'pg1',
      syncStandbys: [],
      state: 'ok',
      updatedAt: new Date().toISOString(),
      reason: 'bench',
      nodes: [
        { name: 'pg1', host: '127.0.0.1', port: 5432, role: 'primary', state: 'up' },
        { name: 'pg2', host: '127.0.0.1', port: 5433, role: 'standby', state: 'up' },
      ],
    };
    for (let i = 0; i < count; i++) {
      const event: StampedEvent = {
        type: 'topology-changed',
        cluster: 'bench',
        epoch: i + 1,
        topology: { ...topology, epoch: i + 1 },
        at: new Date().toISOString(),
        id: `bench-${i}`,
      };
      sentAt.set(event.id, performance.now());
      await publisher.publishEvent('bench', event);
      await new Promise((r) => setTimeout(r, interval));
    }
    await new Promise((r) => setTimeout(r, 500));
    await unsubscribe();
    const sorted = [...delays].sort((a, b) => a - b);
    console.log(
      `pgvigil event bench: ${count} topology-changed events, one every ${interval} ms, 3 Redis servers, subscriber on all three (de-duplicated)`,
    );
    console.log(`  received ${seen.size}/${count}, duplicates delivered ${duplicates}`);
    console.log(
      `  publish -> subscriber: p50 ${nearestRank(sorted, 50).toFixed(2)} ms   p99 ${nearestRank(sorted, 99).toFixed(2)} ms   max ${(sorted.at(-1) ?? NaN).toFixed(2)} ms`,
    );
    console.log(
      `  target p99 <= 50 ms: ${nearestRank(sorted, 99) <= 50 && seen.size === count ? 'PASS' : 'MISS'}`,
    );
  } finally {
    await publisher.close();
    await client.close();
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
  const failovers = Number(values.failovers);
  if (failovers > 0) await clientFailovers(failovers);
}

main().catch((err: unknown) => {
  console.error(`bench:events failed: ${(err as Error).message}`);
  process.exitCode = 1;
});
