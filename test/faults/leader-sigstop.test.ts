/**
 * The leader SIGSTOPped in the middle of a failover, then resumed (issue 7). Three nodes, no
 * agents; every sentinel runs with PGVIGIL_TEST_SIGSTOP_AFTER=cas, so the one that leads the
 * failover stops itself right after committing epoch e+1 and before promoting. Another sentinel
 * takes the lock and rolls the interrupted failover forward (e+2). When the stopped leader
 * resumes, it reads the epoch again before promoting, finds it superseded and does nothing:
 * exactly one promotion, one primary, and no epoch after e+2.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { localKill } from '../../src/local/cluster.js';
import { killQuietly } from '../../src/local/state.js';
import { eventually, inRecovery, type LocalHandle, sleep, startLocal } from '../helpers/local.js';

const HOOK = { PGVIGIL_TEST_SIGSTOP_AFTER: 'cas' };

describe('the leader SIGSTOPped mid-failover', () => {
  let h: LocalHandle;
  const stopped: number[] = [];
  beforeAll(async () => {
    h = await startLocal({
      nodes: 3,
      sentinels: 3,
      agents: false,
      // interrupted after promoteTimeoutMs + 2 x lockTtlMs = 11 s
      timing: { promoteTimeoutMs: 3000 },
      sentinelEnv: { s1: HOOK, s2: HOOK, s3: HOOK },
    });
  });
  afterAll(async () => {
    for (const pid of stopped) killQuietly(pid, 'SIGCONT');
    await h?.down();
  });

  it('exactly one promotion', async () => {
    const e = (await h.topology())!.epoch;
    await localKill({ dir: h.state.dir, name: 'pg1', signal: 'KILL' });
    // the leader commits e+1 and stops itself
    const committed = await eventually(async () => {
      const t = await h.topology();
      return t && t.epoch === e + 1 ? t : undefined;
    }, 30_000);
    expect(committed.state).toBe('failing-over');
    const leader = h.state.sentinels.find((s) => s.id === committed.committedBy)!;
    const statusOf = () => readFileSync(`/proc/${leader.pid}/stat`, 'utf8').split(' ')[2];
    await eventually(async () => (statusOf() === 'T' ? true : undefined), 5000);
    stopped.push(leader.pid);
    expect(await inRecovery(h.node(committed.primary))).toBe(true); // not promoted yet

    // another sentinel rolls it forward at e+2
    const settled = await eventually(async () => {
      const t = await h.topology();
      return t && t.epoch === e + 2 ? t : undefined;
    }, 40_000);
    expect(settled.primary).toBe(committed.primary);
    expect(settled.committedBy).not.toBe(leader.id);

    killQuietly(leader.pid, 'SIGCONT');
    await sleep(6000);
    const log = readFileSync(join(h.state.dir, 'logs', `${leader.id}.log`), 'utf8');
    expect(log).toContain('not promoting: the epoch was superseded');
    const final = (await h.topology())!;
    expect(final).toMatchObject({ epoch: e + 2, primary: committed.primary });
    const others = h.state.nodes.filter((n) => n.name !== 'pg1' && n.name !== committed.primary);
    for (const n of others) expect(await inRecovery(h.node(n.name))).toBe(true);
    expect(await inRecovery(h.node(committed.primary))).toBe(false);
  });
});
