/**
 * No Redis majority -> no failover, ever (safety rule: coordination unavailable), and a status
 * that says so clearly. Two of three Redis servers are frozen (SIGSTOP), then the primary is
 * killed. Once Redis is back, the failover happens.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cliEntry, localKill } from '../../src/local/cluster.js';
import {
  inRecovery,
  type LocalHandle,
  sleep,
  startLocal,
  waitForPrimary,
} from '../helpers/local.js';

const run = promisify(execFile);

describe('Redis majority down', () => {
  let h: LocalHandle;
  beforeAll(async () => {
    h = await startLocal({ nodes: 2, sentinels: 3, redis: 3 });
  });
  afterAll(async () => {
    for (const r of ['redis-1', 'redis-2'])
      await localKill({ dir: h.state.dir, name: r, signal: 'CONT' }).catch(() => undefined);
    await h?.down();
  });

  it('does not fail over without a coordination majority and says so', async () => {
    await localKill({ dir: h.state.dir, name: 'redis-1', signal: 'STOP' });
    await localKill({ dir: h.state.dir, name: 'redis-2', signal: 'STOP' });
    await localKill({ dir: h.state.dir, name: 'pg1', signal: 'KILL' });
    await sleep(6000); // far past refusedAfterMs and downAfterMs
    expect(await inRecovery(h.node('pg2'))).toBe(true);

    // status: one clear line, exit code 2
    const status = await run(process.execPath, [
      cliEntry(),
      'status',
      '--config',
      h.state.config,
    ]).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(status.code).toBe(2);
    expect(status.stderr).toMatch(/no coordination majority.*automatic failover is disabled/);
    // the sentinel API reports it too
    const health = (await (await fetch(`${h.state.api}/health`)).json()) as {
      clusters: Record<string, { coordination: string }>;
    };
    expect(health.clusters.local!.coordination).toBe('no-majority');

    // Redis back: the dead primary is now failed over
    await localKill({ dir: h.state.dir, name: 'redis-1', signal: 'CONT' });
    await localKill({ dir: h.state.dir, name: 'redis-2', signal: 'CONT' });
    const t = await waitForPrimary(h, 'pg2', 20_000);
    expect(t.epoch).toBe(2);
    expect(await inRecovery(h.node('pg2'))).toBe(false);
  });
});
