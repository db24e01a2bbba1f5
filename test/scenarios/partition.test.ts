/**
 * One sentinel cut off from the primary (it reaches pg1 only through a TCP proxy that the test
 * blackholes: packets swallowed, sockets left open). It sees the primary down and votes so, but
 * the other two do not: no ODOWN, no failover (safety rule 1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { eventually, inRecovery, type LocalHandle, sleep, startLocal } from '../helpers/local.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

describe('one sentinel blackholed from the primary', () => {
  let h: LocalHandle;
  let proxy: TcpProxy;
  beforeAll(async () => {
    // The proxy must exist before s3 starts: start it on a port, then point it at pg1 once known.
    let target = 0;
    proxy = await startTcpProxy({ targetHost: '127.0.0.1', targetPort: 1 });
    h = await startLocal({
      nodes: 2,
      sentinels: 3,
      sentinelEnv: { s3: { PGVIGIL_CLUSTERS__LOCAL__NODES__PG1__PORT: String(proxy.port) } },
      beforeSentinels: async (nodes) => {
        target = nodes[0]!.port;
        await proxy.close();
        proxy = await startTcpProxy({
          targetHost: '127.0.0.1',
          targetPort: target,
          listenPort: proxy.port,
        });
      },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await h?.down();
  });

  it('does not fail over when only the cut-off sentinel sees the primary down', async () => {
    const epoch = (await h.topology())!.epoch;
    proxy.blackhole();
    // s3 must really see pg1 down (the fault is real), and vote so
    await eventually(
      async () =>
        h.events.some((e) => e.type === 'node-down' && e.node === 'pg1' && e.sentinel === 's3')
          ? true
          : undefined,
      15_000,
    );
    await eventually(async () => {
      const votes = (await h.store.readVotes(h.state.cluster)).value;
      return votes.some((v) => v.sentinel === 's3' && v.down) ? true : undefined;
    });
    // well past downAfterMs (3 s) + vote TTL: still no failover
    await sleep(6000);
    const t = await h.topology();
    expect(t!.epoch).toBe(epoch);
    expect(t!.primary).toBe('pg1');
    expect(await inRecovery(h.node('pg2'))).toBe(true);
    expect(h.events.some((e) => e.type === 'failover-started' || e.type === 'primary-odown')).toBe(
      false,
    );
    expect(
      h.events.some((e) => e.type === 'node-down' && e.node === 'pg1' && e.sentinel !== 's3'),
    ).toBe(false);

    // healed: s3 sees it up again
    proxy.restore();
    await eventually(
      async () =>
        h.events.some((e) => e.type === 'node-up' && e.node === 'pg1' && e.sentinel === 's3')
          ? true
          : undefined,
      15_000,
    );
  });
});
