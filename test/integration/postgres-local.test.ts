/**
 * src/local/postgres.ts: one-line errors, and the fault-injection signals that the
 * integration and scenario tests depend on (STOP must freeze every process of the node).
 */
import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { UserError } from '../../src/core/errors.js';
import { findPgBinaries, nodeProcesses } from '../../src/local/pg-binaries.js';
import { initPrimary, readPostmasterPid, signalNode, stopNode } from '../../src/local/postgres.js';
import { type PgPair, secret, sqlOn, startPgPair } from '../helpers/pg.js';

/** /proc/<pid>/stat state letter: T = stopped. */
const stateOf = (pid: number): string => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
};

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
    expect(readPostmasterPid(p.dataDir)).toBe(p.pid);
    const pids = nodeProcesses(p.dataDir, p.pid);
    expect(pids[0]).toBe(p.pid);
    expect(pids.length).toBeGreaterThan(3); // checkpointer, walwriter, ...
    await signalNode(p, 'STOP');
    try {
      expect(pids.map(stateOf)).toEqual(pids.map(() => 'T'));
    } finally {
      await signalNode(p, 'CONT');
    }
    expect(pids.map(stateOf).some((s) => s === 'T')).toBe(false);
    expect(await sqlOn(p, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('stopNode cleans up after a crash whose orphans are frozen', async () => {
    const p = pair.primary;
    await signalNode(p, 'STOP');
    await signalNode(p, 'KILL'); // postmaster gone, stopped children re-parented
    const t0 = Date.now();
    await stopNode(p);
    console.log('stopNode after crash', Date.now() - t0, 'ms');
    expect(nodeProcesses(p.dataDir, p.pid)).toEqual([]);
  });
});
