/**
 * Issue 7, item 3: `pgvigil fence pg1` (sentinel-side, no agents) leaves no way to write: a
 * session open before the fence is ended with its transaction, a fresh connection is refused,
 * and neither `SET default_transaction_read_only = off` nor `BEGIN READ WRITE` gets a write in.
 * Fencing the primary starts no failover (it pauses automatic failover, with events);
 * `pgvigil unfence pg1` makes it writable again and resumes.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cliEntry } from '../../src/local/cli-entry.js';
import { eventually, type LocalHandle, sleep, sql, startLocal } from '../helpers/local.js';

const run = promisify(execFile);

async function attempt(h: LocalHandle, statements: string[]): Promise<string> {
  const c = new pg.Client({ ...h.node('pg1').conn, connectionTimeoutMillis: 2000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    for (const s of statements) await c.query(s);
    return 'written';
  } catch (err) {
    return (err as Error).message;
  } finally {
    await c.end().catch(() => undefined);
  }
}

describe('operator fence (sentinel side, SQL)', () => {
  let h: LocalHandle;
  beforeAll(async () => {
    h = await startLocal({ nodes: 2, sentinels: 3, redis: 1, agents: false });
  });
  afterAll(async () => {
    await h?.down();
  });

  it('a fenced primary refuses every way to write; no failover; unfence restores it', async () => {
    await sql(h.node('pg1'), 'CREATE TABLE f (id int PRIMARY KEY)');
    // a session with a transaction open across the fence, and an idle one
    const open = new pg.Client(h.node('pg1').conn);
    open.on('error', () => undefined);
    await open.connect();
    await open.query('BEGIN');
    await open.query('INSERT INTO f VALUES (1)');
    const idle = new pg.Client(h.node('pg1').conn);
    idle.on('error', () => undefined);
    await idle.connect();

    const out = await run(process.execPath, [
      cliEntry(),
      'fence',
      'pg1',
      '--config',
      h.state.config,
    ]);
    expect(out.stdout).toMatch(/^pg1: fenced .*automatic failover of local paused/);

    await expect(open.query('COMMIT')).rejects.toThrow();
    await expect(
      idle
        .query('SET default_transaction_read_only = off')
        .then(() => idle.query('INSERT INTO f VALUES (2)')),
    ).rejects.toThrow();
    expect(await attempt(h, ['SELECT 1'])).toMatch(/not currently accepting connections/);
    expect(
      await attempt(h, ['SET default_transaction_read_only = off', 'INSERT INTO f VALUES (3)']),
    ).not.toBe('written');
    expect(await attempt(h, ['BEGIN READ WRITE', 'INSERT INTO f VALUES (4)', 'COMMIT'])).not.toBe(
      'written',
    );
    await open.end().catch(() => undefined);
    await idle.end().catch(() => undefined);

    // the fenced primary fails every probe: still no failover (paused), events say why
    await sleep(3 * 3000);
    expect(await h.topology()).toMatchObject({ primary: 'pg1', epoch: 1 });
    await eventually(async () =>
      h.events.some((e) => e.type === 'node-fenced' && e.node === 'pg1') &&
      h.events.some((e) => e.type === 'paused')
        ? true
        : undefined,
    );

    const un = await run(process.execPath, [
      cliEntry(),
      'unfence',
      'pg1',
      '--config',
      h.state.config,
    ]);
    expect(un.stdout).toMatch(/^pg1: unfenced/);
    expect(await attempt(h, ['INSERT INTO f VALUES (5)'])).toBe('written');
    const rows = await sql<{ id: number }>(h.node('pg1'), 'SELECT id FROM f ORDER BY id');
    expect(rows.map((r) => r.id)).toEqual([5]); // nothing of the fenced period got in
    await eventually(async () =>
      h.events.some((e) => e.type === 'node-unfenced') && h.events.some((e) => e.type === 'resumed')
        ? true
        : undefined,
    );
    await sleep(3000);
    expect(await h.topology()).toMatchObject({ primary: 'pg1', epoch: 1 });
  });
});
