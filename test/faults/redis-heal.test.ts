/**
 * A silent partition between the host and one Redis server (root: a network namespace, packets
 * dropped, not refused), healed after 8 s: a RedisLink answers again within 2 s of the heal.
 * While packets are dropped, TCP backs off its retransmissions, so the connection the link had
 * stays silent for about 5 s after the heal (the next retransmission): without the reconnect
 * of a connection silent for two command timeouts (link.ts `#reconnectIfSilent`) this test
 * measures that and fails. In the fault runner that window, plus a second Redis fault, took the
 * majority away and fenced a healthy primary (seed 20261204, #29 split-redis, #30 kill-redis).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { RedisLink } from '../../src/adapters/redis/link.js';
import {
  createNetns,
  heal,
  partition,
  planNetns,
  readNetns,
  removeNetns,
} from '../../src/local/netns.js';
import { type RedisServerHandle, startRedisServer } from '../../src/local/redis-server.js';

const isRoot = process.getuid?.() === 0;
const TIMEOUT_MS = 500;
const PASSWORD = 'redis-heal-test';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dirs: string[] = [];
const servers: RedisServerHandle[] = [];
const links: RedisLink[] = [];
const removeNamespaces = (): void => {
  for (const d of dirs) {
    const net = readNetns(d);
    if (net) removeNetns(d, net);
  }
};
process.once('exit', removeNamespaces);

describe.skipIf(!isRoot)('a Redis link after a silent partition heals', () => {
  afterAll(async () => {
    for (const l of links) await l.close(200).catch(() => undefined);
    for (const s of servers) await s.stop().catch(() => undefined);
    removeNamespaces();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('answers within 2 s of the heal (a fresh connection, not the backed-off one)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgvigil-redis-heal-'));
    dirs.push(dir);
    const plan = planNetns(dir, ['redis']);
    createNetns(dir, plan);
    const member = plan.members[0]!;
    const server = await startRedisServer({
      dir: join(dir, 'redis'),
      name: 'redis',
      host: member.addr,
      netns: member.ns,
      password: PASSWORD, // off loopback, a Redis without one refuses (protected mode)
    });
    servers.push(server);
    const link = new RedisLink(server.url, TIMEOUT_MS, undefined, { password: PASSWORD });
    links.push(link);
    await link.set('k', 'v');
    expect(await link.get('k')).toBe('v');

    // a reader every 100 ms, as a sentinel's ticks: what it got and when
    const answers: number[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const at = performance.now();
        if ((await link.get('k').catch(() => null)) === 'v') answers.push(at);
        await sleep(100);
      }
    })();

    let cutAt = 0;
    let healedAt = 0;
    try {
      partition(dir, 'host', 'redis', false);
      await sleep(500);
      cutAt = performance.now();
      await sleep(7500);
      heal(dir);
      healedAt = performance.now();
      await sleep(6000);
    } finally {
      reading = false;
      await reader;
    }
    // the partition really cut it: nothing answered between the cut and the heal
    expect(answers.filter((t) => t > cutAt && t < healedAt)).toEqual([]);

    const first = answers.find((t) => t > healedAt);
    expect(first, 'no answer within 6 s of the heal').toBeDefined();
    expect(first! - healedAt).toBeLessThan(2000);
  }, 60_000);
});
