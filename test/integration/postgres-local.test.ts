/**
 * src/local/postgres.ts and src/adapters/process/ (pg-ctl.ts, procfs.ts): one-line errors, and
 * the fault-injection signals that the integration and scenario tests depend on (STOP must
 * freeze every process of the node).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  findPgBinaries,
  LocalPostgres,
  nodeProcesses,
  procState,
  readPostmasterPid,
  startNode,
  stopNode,
} from '../../src/adapters/process/index.js';
import { UserError } from '../../src/core/errors.js';
import { initPrimary, signalNode } from '../../src/local/postgres.js';
import { type PgPair, secret, sqlOn, startPgPair } from '../helpers/pg.js';

let pair: PgPair;
beforeAll(async () => {
  pair = await startPgPair({ standbys: 0 });
});
afterAll(async () => pair?.stop());

describe('local postgres nodes', () => {
  it('finds the server binaries', () => {
    const b = findPgBinaries();
    expect(b.major).toBeGreaterThanOrEqual(13);
    expect(b.bindir).toMatch(/bin$/);
  });

  it('refuses a busy port with a one-line error', async () => {
    const p = pair.primary;
    const err = await initPrimary({
      dir: `${pair.dir}/busy`,
      name: 'busy',
      port: p.port,
      superPassword: secret(),
      replPassword: secret(),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(
      new RegExp(`^port ${p.port} on 127\\.0\\.0\\.1 is already in use: `),
    );
    expect((err as Error).message).not.toContain('\n');
  });

  it('STOP freezes the postmaster and every child, CONT resumes them', async () => {
    const p = pair.primary;
    const local = new LocalPostgres({
      name: p.name,
      dataDir: p.dataDir,
      port: p.port,
      runAsUser: 'postgres',
    });
    expect(readPostmasterPid(p.dataDir)).toBe(p.pid);
    const pids = nodeProcesses(p.dataDir, p.pid);
    expect(pids[0]).toBe(p.pid);
    expect(pids.length).toBeGreaterThan(3); // checkpointer, walwriter, ...
    await signalNode(p, 'STOP');
    try {
      // every process of the node, including any forked since the listing above
      const now = nodeProcesses(p.dataDir, p.pid);
      expect(now.length).toBeGreaterThanOrEqual(pids.length - 1);
      expect(now.map(procState)).toEqual(now.map(() => 'T'));
      // what the agent reads to let the lease of a frozen primary run out
      expect(local.state()).toMatchObject({ running: true, frozen: true });
    } finally {
      await signalNode(p, 'CONT');
    }
    expect(nodeProcesses(p.dataDir, p.pid).map(procState)).not.toContain('T');
    expect(local.state()).toMatchObject({ running: true, frozen: false });
    expect(await sqlOn(p, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('stopNode immediate (the fence) kills a frozen node without waking it: nothing waiting commits', async () => {
    const p = pair.primary;
    await sqlOn(p, 'CREATE TABLE IF NOT EXISTS fence_probe (id int)');
    const session = new pg.Client({ connectionString: p.url, connectionTimeoutMillis: 3000 });
    session.on('error', () => undefined);
    await session.connect();
    await signalNode(p, 'STOP');
    // an INSERT sent to the frozen backend waits in its socket, as a client's would
    const pending = session.query('INSERT INTO fence_probe VALUES (1)').then(
      () => 'committed',
      (e: Error) => `failed: ${e.message}`,
    );
    await new Promise((r) => setTimeout(r, 200));
    await stopNode(p, 'immediate');
    expect(nodeProcesses(p.dataDir, p.pid)).toEqual([]);
    expect(await pending).toMatch(/^failed: /);
    await session.end().catch(() => undefined);
    const pid = await startNode(p);
    expect(readPostmasterPid(p.dataDir)).toBe(pid);
    expect(await sqlOn(p, 'SELECT count(*)::int AS n FROM fence_probe')).toEqual([{ n: 0 }]);
    p.pid = pid;
  });

  it('stopNode cleans up after a crash whose orphans are frozen', async () => {
    const p = pair.primary;
    await signalNode(p, 'STOP');
    await signalNode(p, 'KILL'); // postmaster gone, stopped children re-parented
    const t0 = Date.now();
    await stopNode(p);
    console.log('stopNode after crash', Date.now() - t0, 'ms');
    expect(nodeProcesses(p.dataDir, p.pid)).toEqual([]);
    // and the node restarts at once (crash recovery), stale postmaster.pid or not
    const pid = await startNode(p);
    expect(readPostmasterPid(p.dataDir)).toBe(pid);
    expect(await sqlOn(p, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });
});
