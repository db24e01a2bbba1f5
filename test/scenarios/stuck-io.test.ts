/**
 * Stuck I/O (issue 7 item 4): the primary's pg_wal sits on a loop-mounted ext4 that the test
 * freezes (fsfreeze -f). The primary still accepts connections and answers reads, its commits
 * hang, and its walsender keeps the standby's receiver `streaming` with fresh keepalives.
 * The sentinels' heartbeat hangs; a read-only query on a fresh connection answers, so the
 * probe is `write-failed` (src/adapters/postgres/stuck.ts), which rule 2 does not override:
 * the primary is failed over within downAfterMs plus a bound (printed).
 */
import { Socket } from 'node:net';
import { join } from 'node:path';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { defaultRunAs } from '../../src/adapters/process/index.js';
import { type FrozenFs, frozenFsUnavailable, makeFrozenFs } from '../helpers/frozen-fs.js';
import {
  inRecovery,
  type LocalHandle,
  sleep,
  sql,
  startLocal,
  type TestNode,
  waitForPrimary,
} from '../helpers/local.js';

const DOWN_AFTER_MS = 3000;
/** detection + quorum + promotion on a loaded 2-core machine: generous, not a benchmark */
const BOUND_MS = 10_000;

const why = frozenFsUnavailable();
if (why !== null) console.warn(`stuck-io scenario skipped: ${why}`);

/** Does a commit on `node` finish within `ms`? (the backend stays stuck; only we give up) */
async function commits(node: TestNode, ms: number): Promise<boolean> {
  const socket = new Socket();
  const c = new pg.Client({
    ...node.conn,
    connectionTimeoutMillis: 2000,
    query_timeout: ms,
    stream: () => socket,
  });
  c.on('error', () => undefined);
  await c.connect();
  try {
    await c.query('INSERT INTO t VALUES (1)');
    return true;
  } catch {
    return false;
  } finally {
    socket.destroy(); // end() would wait for a backend stuck in its commit
  }
}

describe.skipIf(why !== null)('a primary whose storage is stuck', () => {
  let fs: FrozenFs;
  let h: LocalHandle;
  beforeAll(async () => {
    fs = makeFrozenFs({ sizeMb: 200, ...(defaultRunAs() ? { owner: defaultRunAs()! } : {}) });
    h = await startLocal({
      nodes: 2,
      sentinels: 3,
      agents: false,
      primaryWalDir: join(fs.dir, 'wal'),
    });
    await sql(h.node('pg1'), 'CREATE TABLE t (id int)');
  }, 60_000);
  afterAll(async () => {
    fs?.thaw(); // first: a frozen postgres cannot shut down
    await h?.down();
    fs?.release();
  });

  it('is failed over although its standby still streams from it', async () => {
    await waitForPrimary(h, 'pg1', 20_000);
    const pg1 = h.node('pg1');
    const pg2 = h.node('pg2');
    expect(await commits(pg1, 2000)).toBe(true);

    fs.freeze();
    const t0 = Date.now();
    expect(await commits(pg1, 1000)).toBe(false); // commits hang
    const [row] = await sql<{ r: boolean }>(pg1, 'SELECT pg_is_in_recovery() AS r');
    expect(row!.r).toBe(false); // ... while a fresh connection answers
    await sleep(500);
    // rule 2's evidence is there: pg2 still hears pg1 (walsender keepalives)
    const [rx] = await sql<{ status: string; age: number }>(
      pg2,
      `SELECT status, extract(epoch FROM now() - last_msg_receipt_time) * 1000 AS age
         FROM pg_stat_wal_receiver`,
    );
    expect(rx?.status).toBe('streaming');
    expect(Number(rx?.age)).toBeLessThan(DOWN_AFTER_MS);

    const t = await waitForPrimary(h, 'pg2', DOWN_AFTER_MS + BOUND_MS);
    const elapsed = Date.now() - t0;
    console.log(
      `stuck-io: failover to pg2 ${elapsed} ms after the freeze (downAfterMs ${DOWN_AFTER_MS})`,
    );
    expect(t.epoch).toBe(2);
    expect(await inRecovery(pg2)).toBe(false);
    const down = h.events.find((e) => e.type === 'node-down' && e.node === 'pg1');
    expect(down && 'reason' in down ? down.reason : '').toMatch(/write-failed/);
    // rule 2 never held it back (without the fix it does, for as long as keepalives arrive)
    const held = h.events.filter(
      (e) => e.type === 'failover-held' && e.reason === 'standby-still-streaming',
    );
    expect(held).toEqual([]);
  }, 60_000);
});
