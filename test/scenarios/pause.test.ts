/**
 * Maintenance mode through the CLI: `pgvigil pause` records it in Redis, `status` shows it, no
 * automatic failover happens while paused even with the primary dead, and `resume` lets the
 * sentinels act again.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cliEntry, localKill } from '../../src/local/cluster.js';
import {
  eventually,
  inRecovery,
  type LocalHandle,
  sleep,
  startLocal,
  waitForPrimary,
} from '../helpers/local.js';

const run = promisify(execFile);

describe('pause / resume', () => {
  let h: LocalHandle;
  const cli = (...args: string[]) =>
    run(process.execPath, [cliEntry(), ...args, '--config', h.state.config]);
  beforeAll(async () => {
    h = await startLocal({ nodes: 2, sentinels: 3, agents: false }); // sentinels only: an agent would restart a paused crashed primary
  });
  afterAll(async () => {
    await h?.down();
  });

  it('holds automatic failover while paused and resumes it', async () => {
    await cli('pause', '--reason', 'kernel upgrade');
    const status = JSON.parse(
      (await cli('status', '--json').catch((e: { stdout: string }) => e)).stdout,
    ) as { paused: boolean; primary: string };
    expect(status.paused).toBe(true);
    expect(status.primary).toBe('pg1');
    await eventually(async () => (h.events.some((e) => e.type === 'paused') ? true : undefined));

    await localKill({ dir: h.state.dir, name: 'pg1', signal: 'KILL' });
    await sleep(5000);
    expect(await inRecovery(h.node('pg2'))).toBe(true);
    expect((await h.topology())!.primary).toBe('pg1');
    const human = await cli('status').catch((e: { stdout: string }) => e);
    expect(human.stdout).toMatch(/PAUSED/);

    await cli('resume');
    const t = await waitForPrimary(h, 'pg2', 20_000);
    expect(t.epoch).toBe(2);
    expect(h.events.some((e) => e.type === 'resumed')).toBe(true);
  });
});
