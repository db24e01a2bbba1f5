/**
 * Stable sentinel identity (issue 7, item 6). Three sentinels, quorum 2, no agents. s2 and s3
 * are killed, then the primary pg1: only s1 is left to see it down, so the live sentinels alone
 * never make a quorum. s1 is restarted inside the vote TTL (same id: its new vote replaces the
 * old one instead of adding one), and a vote from an id outside `sentinel.peers` is kept fresh
 * in Redis the whole time (a stray or renamed sentinel): neither may complete the quorum, so
 * there is no failover. Once s2 is back (two real sentinels), the failover happens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { localKill } from '../../src/local/cluster.js';
import {
  eventually,
  type LocalHandle,
  sleep,
  startLocal,
  waitForPrimary,
} from '../helpers/local.js';
import { startSentinel, stopAllRestarted, stopSentinel } from '../helpers/sentinels.js';

const VOTE_TTL_MS = 6000; // 2 x downAfterMs (default profile)

describe('a restarted sentinel and a stranger never make a quorum', () => {
  let h: LocalHandle;
  let ghost: ReturnType<typeof setInterval> | undefined;
  beforeAll(async () => {
    h = await startLocal({ nodes: 2, sentinels: 3, agents: false });
  });
  afterAll(async () => {
    if (ghost) clearInterval(ghost);
    stopAllRestarted();
    await h?.down();
  });

  it('no failover on one live sentinel plus its own restart and a stranger; one with two', async () => {
    const t0 = (await h.topology())!;
    stopSentinel(h, 's2');
    stopSentinel(h, 's3');
    // a vote from an id outside the configured set, always fresh, always "down"
    const stranger = () =>
      h.store.publishVote(
        h.state.cluster,
        {
          sentinel: 'ghost-4242',
          epoch: t0.epoch,
          primary: 'pg1',
          down: true,
          reason: 'timeout-for-downAfter',
          atWall: Date.now(),
        },
        VOTE_TTL_MS,
      );
    await stranger();
    ghost = setInterval(() => void stranger().catch(() => undefined), 500);
    await localKill({ dir: h.state.dir, name: 'pg1', signal: 'KILL' });

    // s1 sees pg1 down and votes so
    const s1Down = async () => {
      const votes = (await h.store.readVotes(h.state.cluster)).value;
      return votes.some((v) => v.sentinel === 's1' && v.down) ? true : undefined;
    };
    await eventually(s1Down, 20_000);
    // restarted inside the vote TTL: its old vote is still fresh when the new one is written
    stopSentinel(h, 's1');
    await startSentinel(h, 's1');
    await eventually(async () => {
      const votes = (await h.store.readVotes(h.state.cluster)).value;
      const s1 = votes.filter((v) => v.sentinel === 's1' && v.down);
      return s1.length === 1 && s1[0]!.atWall > Date.now() - 2000 ? true : undefined;
    }, 20_000);
    await sleep(VOTE_TTL_MS + 2000);
    const t = (await h.topology())!;
    expect(t.epoch).toBe(t0.epoch);
    expect(t.primary).toBe('pg1');
    expect(h.events.some((e) => e.type === 'failover-started')).toBe(false);
    const decided = await fetch(
      `${h.state.sentinels[0]!.api}/status?cluster=${h.state.cluster}`,
    ).then((r) => r.json() as Promise<{ decision: { reason: string; evidence: string } | null }>);
    expect(decided.decision).toMatchObject({ reason: 'no-quorum' });
    expect(decided.decision!.evidence).toContain('ghost-4242: unknown-sentinel');

    // a second real sentinel: now the quorum is real, and the failover happens
    await startSentinel(h, 's2', { wait: false });
    await waitForPrimary(h, 'pg2', 30_000);
  });
});
