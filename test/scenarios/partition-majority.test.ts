/**
 * Rule 2 on real processes: a majority of the sentinels (the leader among them) is cut off from
 * a primary that is alive, whose standby still streams from it. Each sentinel reaches pg1
 * through its own TCP proxy; the test blackholes the leader's and one other's (packets
 * swallowed, sockets left open). A quorum sees pg1 down, the leader too, yet nothing fails over
 * for the whole partition: pg2 still hears pg1, so the leader holds (`failover-held`,
 * standby-still-streaming). Once pg1 really dies (SIGKILL, no agents), pg2 stops hearing it
 * and the failover happens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { localKill } from '../../src/local/cluster.js';
import {
  eventually,
  inRecovery,
  type LocalHandle,
  sleep,
  startLocal,
  waitForPrimary,
} from '../helpers/local.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const IDS = ['s1', 's2', 's3'] as const;
const PARTITION_MS = 12_000; // 4 x downAfterMs, 2 x the vote TTL

describe('a majority of sentinels cut off from a live primary', () => {
  let h: LocalHandle;
  const proxies = new Map<string, TcpProxy>();
  beforeAll(async () => {
    for (const id of IDS)
      proxies.set(id, await startTcpProxy({ targetHost: '127.0.0.1', targetPort: 1 }));
    const env = Object.fromEntries(
      IDS.map((id) => [
        id,
        { PGVIGIL_CLUSTERS__LOCAL__NODES__PG1__PORT: String(proxies.get(id)!.port) },
      ]),
    );
    h = await startLocal({
      nodes: 2,
      sentinels: 3,
      agents: false,
      sentinelEnv: env,
      beforeSentinels: async (nodes) => {
        for (const id of IDS) {
          const old = proxies.get(id)!;
          await old.close();
          proxies.set(
            id,
            await startTcpProxy({
              targetHost: '127.0.0.1',
              targetPort: nodes[0]!.port,
              listenPort: old.port,
            }),
          );
        }
      },
    });
  });
  afterAll(async () => {
    for (const p of proxies.values()) await p.close();
    await h?.down();
  });

  it('no failover while pg2 still streams from pg1; a failover once pg1 dies', async () => {
    const epoch = (await h.topology())!.epoch;
    const leader = await eventually(async () => {
      const p = (await h.store.readPresence(h.state.cluster)).value.find((x) => x.leader);
      return p?.id;
    });
    const cut = [leader, IDS.find((id) => id !== leader)!];
    for (const id of cut) proxies.get(id)!.blackhole();
    // the fault is real: a quorum (the leader included) sees pg1 down and votes so
    await eventually(async () => {
      const votes = (await h.store.readVotes(h.state.cluster)).value;
      return cut.every((id) => votes.some((v) => v.sentinel === id && v.down)) ? true : undefined;
    }, 20_000);
    const held = await eventually(
      async () =>
        h.events.find((e) => e.type === 'failover-held' && e.reason === 'standby-still-streaming'),
      20_000,
    );
    expect(held).toMatchObject({ primary: 'pg1', sentinel: leader });
    await sleep(PARTITION_MS);
    const t = (await h.topology())!;
    expect(t).toMatchObject({ epoch, primary: 'pg1' });
    expect(await inRecovery(h.node('pg2'))).toBe(true);
    expect(h.events.some((e) => e.type === 'failover-started')).toBe(false);

    // the primary really dies: pg2 stops hearing it, and the (still partitioned) quorum acts
    await localKill({ dir: h.state.dir, name: 'pg1', signal: 'KILL' });
    const after = await waitForPrimary(h, 'pg2', 30_000);
    expect(after.epoch).toBe(epoch + 1);
  });
});
