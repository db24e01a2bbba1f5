/**
 * Rule 5, the agent's half: SIGKILL of pg1's postmaster (its agent survives) -> the sentinels
 * fail over to pg2 -> pg1's agent rejoins it as a standby of pg2 by itself. pg1 must never
 * accept a write in between: an INSERT is tried on it every ~50 ms from the crash until the
 * rejoin, and every attempt must fail. Then the returning-primary path: SIGSTOP of the new
 * primary pg2 -> failover back to pg1 -> SIGCONT: pg2 wakes up as a primary of an old epoch;
 * its agent fences it at once and rewinds it into a standby of pg1.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { localKill } from '../../src/local/cluster.js';
import { isAlive } from '../../src/local/state.js';
import {
  eventually,
  inRecovery,
  type LocalHandle,
  seedRows,
  sql,
  startLocal,
  type TestNode,
  waitForPrimary,
} from '../helpers/local.js';

interface Attempt {
  at: number;
  ok: boolean;
  error?: string;
}

/** INSERT on `node` every `everyMs` on a fresh connection until stopped; every outcome recorded. */
function pollWrites(node: TestNode, everyMs: number) {
  const attempts: Attempt[] = [];
  let stop = false;
  let id = 1_000_000;
  const done = (async () => {
    while (!stop) {
      const c = new pg.Client({
        ...node.conn,
        connectionTimeoutMillis: 1000,
        query_timeout: 1000,
      });
      c.on('error', () => undefined);
      const at = Date.now();
      try {
        await c.connect();
        await c.query('INSERT INTO t VALUES ($1)', [id++]);
        attempts.push({ at, ok: true });
      } catch (err) {
        attempts.push({ at, ok: false, error: (err as Error).message });
      } finally {
        await c.end().catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    attempts,
    stop: async () => {
      stop = true;
      await done;
      return attempts;
    },
  };
}

describe('agent: a crashed primary rejoins as a standby', () => {
  let h: LocalHandle;
  beforeAll(async () => {
    // a short cooldown (rule 6) lets the second test fail back over within the file
    h = await startLocal({ nodes: 2, sentinels: 3, timing: { cooldownMs: 2000 } });
  });
  afterAll(async () => {
    await h?.down();
  });

  it('SIGKILL pg1 -> failover to pg2 -> pg1 rejoins pg2, never writable in between', async () => {
    const pg1 = h.node('pg1');
    const pg2 = h.node('pg2');
    await seedRows(pg1, [pg2]);

    const killedAt = Date.now();
    await localKill({ dir: h.state.dir, name: 'pg1', signal: 'KILL' });
    const poller = pollWrites(pg1, 50);
    const after = await waitForPrimary(h, 'pg2', 20_000);
    const rejoined = await eventually(
      async () => h.events.find((e) => e.type === 'node-rejoined' && e.node === 'pg1'),
      30_000,
    );
    const attempts = await poller.stop();
    const rejoinMs = Date.now() - killedAt;

    // never a second writable primary: every write attempt on pg1 failed
    expect(attempts.length).toBeGreaterThan(10);
    expect(attempts.filter((a) => a.ok)).toEqual([]);
    console.log(
      `pg1: ${attempts.length} INSERTs refused over ${rejoinMs} ms until rejoin ` +
        `(${[...new Set(attempts.map((a) => a.error?.replace(/\d+/g, 'N')))].join(' | ')})`,
    );
    expect(rejoined).toMatchObject({ epoch: after.epoch, node: 'pg1' });
    if (rejoined.type === 'node-rejoined') expect(['rewind', 'restart']).toContain(rejoined.method);
    // the agent survived the crash of its postgres
    const agent = h.state.agents!.find((a) => a.node === 'pg1')!;
    expect(isAlive(agent.pid)).toBe(true);

    // pg1 is a standby of pg2 and receives its writes
    expect(await inRecovery(pg1)).toBe(true);
    const [rx] = await sql<{ status: string; port: number }>(
      pg1,
      'SELECT status, sender_port AS port FROM pg_stat_wal_receiver',
    );
    expect(rx).toMatchObject({ status: 'streaming', port: pg2.port });
    await sql(pg2, 'INSERT INTO t VALUES (101)');
    await eventually(async () =>
      (await sql(pg1, 'SELECT 1 FROM t WHERE id = 101')).length === 1 ? true : undefined,
    );
    // no row of the refused attempts exists anywhere
    const [{ n }] = (await sql<{ n: string }>(
      pg2,
      'SELECT count(*) AS n FROM t WHERE id >= 1000000',
    )) as [{ n: string }];
    expect(Number(n)).toBe(0);
  });

  it('a primary that wakes up demoted is fenced at once and rewound into a standby', async () => {
    const pg1 = h.node('pg1');
    const pg2 = h.node('pg2');
    const before = (await h.topology())!;
    expect(before.primary).toBe('pg2');
    const seen = h.events.length;
    await localKill({ dir: h.state.dir, name: 'pg2', signal: 'STOP' });
    const after = await waitForPrimary(h, 'pg1', 30_000);
    expect(after.epoch).toBeGreaterThan(before.epoch);
    await sql(pg1, 'INSERT INTO t VALUES (102)');

    await localKill({ dir: h.state.dir, name: 'pg2', signal: 'CONT' });
    const fenced = await eventually(
      async () => h.events.slice(seen).find((e) => e.type === 'node-fenced' && e.node === 'pg2'),
      15_000,
    );
    // Two guards race to fence pg2, and either is right: its agent's lease watchdog, which
    // saw no Redis majority confirm pg2 as primary of its own (old) epoch while postgres was
    // stopped, or the agent's returning-primary path, which sees the new epoch's topology.
    if (fenced.type === 'node-fenced' && fenced.epoch === before.epoch)
      expect(fenced.reason).toMatch(/no Redis majority confirmed pg2/);
    else expect(fenced).toMatchObject({ epoch: after.epoch });
    const rejoined = await eventually(
      async () =>
        h.events.find(
          (e) => e.type === 'node-rejoined' && e.node === 'pg2' && e.epoch === after.epoch,
        ),
      30_000,
    );
    expect(rejoined).toBeDefined();
    expect(await inRecovery(pg2)).toBe(true);
    await eventually(async () =>
      (await sql(pg2, 'SELECT 1 FROM t WHERE id = 102')).length === 1 ? true : undefined,
    );
    await expect(sql(pg2, 'INSERT INTO t VALUES (103)')).rejects.toThrow(/read-only/);
  });
});
