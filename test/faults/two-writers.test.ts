/**
 * Issue 7, item 2 on a real partition (`local up --netns`, root): the primary's namespace is cut
 * off from every sentinel and Redis server while a client INSIDE it keeps writing to it and
 * another (on the host) writes wherever the committed topology points. Every acknowledged
 * write is recorded with its server and the time the client got the acknowledgement; the
 * periods in which pg1 and pg2 acknowledged writes must not overlap (0 ms), at both timing
 * profiles: the lease watchdog stops the isolated pg1 before the sentinels can promote pg2.
 * Prints the overlap, the gap, and the fence time after isolation (README figures).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { heal, partition, readNetns } from '../../src/local/netns.js';
import { eventually, type LocalHandle, sleep, sql, startLocal } from '../helpers/local.js';
import { nsWriter, overlaps, topologyWriter } from '../helpers/writers.js';

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot).each(['default', 'fast'] as const)(
  'two writers across a partition, %s profile',
  (profile) => {
    let h: LocalHandle;
    beforeAll(async () => {
      h = await startLocal({ netns: true, nodes: 2, sentinels: 3, redis: 1, profile });
    });
    afterAll(async () => {
      await h?.down();
    });

    it('the periods in which two servers acknowledged writes never overlap', async () => {
      await sql(
        h.node('pg1'),
        'CREATE TABLE w (id bigserial PRIMARY KEY, server text, writer text, at timestamptz DEFAULT clock_timestamp())',
      );
      const net = readNetns(h.state.dir)!;
      const pg1Ns = net.members.find((m) => m.name === 'pg1')!.ns;
      const inside = nsWriter(h, pg1Ns, 'pg1');
      const follower = topologyWriter(h);
      try {
        await eventually(async () => (inside.acks.length > 50 ? true : undefined), 10_000);
        await sleep(1000);
        const cutAt = Date.now();
        partition(h.state.dir, 'pg1', 'pg2,s1,s2,s3,redis-1', false);
        await eventually(async () => {
          const t = await h.topology();
          return t?.primary === 'pg2' && t.state === 'ok' ? t : undefined;
        }, 30_000);
        // pg2 takes writes for a while; pg1 (still cut off) must take none of them
        await eventually(
          async () =>
            follower.acks.filter((a) => a.server === 'pg2').length > 50 ? true : undefined,
          10_000,
        );
        await sleep(2000);
        heal(h.state.dir);
        await sleep(3000);
        const all = [...inside.acks, ...follower.acks];
        const { periods, overlapMs } = overlaps(all);
        const pg1 = periods.pg1!;
        const pg2 = periods.pg2!;
        const fencedAfter = pg1.last - cutAt;
        const promotedAfter = pg2.first - cutAt;
        console.log(
          `[${profile}] overlap ${overlapMs} ms; pg1 last ack ${fencedAfter} ms after the cut (fence), pg2 first ack ${promotedAfter} ms after it; gap ${pg2.first - pg1.last} ms; acks pg1 ${pg1.count}, pg2 ${pg2.count}`,
        );
        expect(pg1.count).toBeGreaterThan(0);
        expect(pg2.count).toBeGreaterThan(0);
        expect(overlapMs).toBe(0);
        expect(pg1.last).toBeLessThan(pg2.first);
      } finally {
        await inside.stop();
        await follower.stop();
      }
    });
  },
);
