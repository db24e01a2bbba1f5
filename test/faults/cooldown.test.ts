/**
 * Rule 6 on real processes: after an automatic failover, a second crash inside `cooldownMs`
 * is not failed over (the cluster must not ping-pong between primaries); the leader says why
 * with a `failover-held` event (reason cooldown); once the cooldown has passed, it fails over.
 * Three nodes, no agents (a killed node stays down), cooldown 20 s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { localKill } from '../../src/local/cluster.js';
import { eventually, type LocalHandle, sleep, sql, startLocal } from '../helpers/local.js';

const COOLDOWN_MS = 20_000;

describe('a second crash inside cooldownMs', () => {
  let h: LocalHandle;
  beforeAll(async () => {
    h = await startLocal({
      nodes: 3,
      sentinels: 3,
      agents: false,
      timing: { cooldownMs: COOLDOWN_MS },
    });
  });
  afterAll(async () => {
    await h?.down();
  });

  it('is held back with an event saying why, and failed over once the cooldown is over', async () => {
    await localKill({ dir: h.state.dir, name: 'pg1', signal: 'KILL' });
    const first = await eventually(async () => {
      const t = await h.topology();
      return t && t.epoch === 2 && t.state === 'ok' ? t : undefined;
    }, 30_000);
    const firstAt = Date.parse(first.updatedAt);
    const second = first.primary;
    // the third node streams from the new primary and has received its WAL up to now before
    // the second crash: a standby whose stream on the new timeline was cut 30 ms after it began
    // can PANIC on promotion (PostgreSQL 15: "invalid magic number 0000 in log segment
    // 00000002..." at the page of its replay point), which is not what this test is about
    const third = first.nodes.find((n) => n.name !== second && n.name !== 'pg1')!.name;
    await eventually(async () => {
      const [target] = await sql(h.node(second), 'SELECT pg_current_wal_lsn()::text AS lsn');
      const [r] = await sql(
        h.node(third),
        `SELECT s.status, s.sender_port, pg_last_wal_receive_lsn() >= '${target!.lsn}'::pg_lsn AS caught
           FROM pg_stat_wal_receiver s`,
      );
      return r?.status === 'streaming' && r.sender_port === h.node(second).port && r.caught === true
        ? true
        : undefined;
    }, 20_000);
    await localKill({ dir: h.state.dir, name: second, signal: 'KILL' });

    const held = await eventually(
      async () => h.events.find((e) => e.type === 'failover-held' && e.reason === 'cooldown'),
      20_000,
    );
    expect(held).toMatchObject({ primary: second, epoch: 2 });
    expect((held as { evidence: string }).evidence).toMatch(/cooldown .* left/);
    // still inside the cooldown: no failover
    await sleep(Math.max(0, firstAt + COOLDOWN_MS - 2000 - Date.now()));
    const during = (await h.topology())!;
    expect(during).toMatchObject({ epoch: 2, primary: second });
    expect(h.events.filter((e) => e.type === 'failover-started')).toHaveLength(1);

    // after it: the third node takes over
    const after = await eventually(async () => {
      const t = await h.topology();
      return t && t.epoch === 3 && t.state === 'ok' ? t : undefined;
    }, 30_000);
    expect(after.primary).not.toBe(second);
    expect(after.primary).not.toBe('pg1');
    expect(Date.now()).toBeGreaterThanOrEqual(firstAt + COOLDOWN_MS);
  });
});
