/** The PostgresPort contract against the in-memory FakePostgres used by runtime unit tests. */
import { describe, expect, it } from 'vitest';

import type { NodeSpec } from '../../src/core/spec.js';
import { FakePostgres } from '../fakes/postgres.js';
import { describePostgresContract } from './postgres.contract.js';

const spec = (name: string, port: number): NodeSpec => ({
  name,
  host: '127.0.0.1',
  port,
  priority: 0,
  noFailover: false,
});

describePostgresContract('in-memory fake', async () => {
  const primary = spec('pg1', 5432);
  const standby = spec('pg2', 5433);
  const pg = FakePostgres.cluster([primary, standby]);
  return {
    pg,
    primary,
    standby,
    unreachable: spec('gone', 5499), // not a node of the fake
    heartbeats: async (n) => [...pg.node(n.name).heartbeats.keys()],
    slots: async (n) => [...pg.node(n.name).slots],
    upstream: async (n) => {
      const { upstream, slot } = pg.node(n.name);
      if (upstream === null) return null;
      const { host, port } = pg.node(upstream).spec;
      return { host, port, slot };
    },
    cleanup: () => pg.close(),
  };
});

describe('FakePostgres specifics', () => {
  const nodes = [spec('pg1', 5432), spec('pg2', 5433), spec('pg3', 5434)];
  const opts = { nowMono: () => 0, sentinel: 's1', heartbeat: true };

  it('derives replication: a primary taken down leaves its standbys without a receiver', async () => {
    const pg = FakePostgres.cluster(nodes);
    expect((await pg.probe(nodes[1]!, opts)).walReceiver?.status).toBe('streaming');
    pg.write('pg1', 1000);
    expect((await pg.probe(nodes[2]!, opts)).receivedLsn).toBe(5_001_000);
    pg.down('pg1');
    expect(await pg.probe(nodes[0]!, opts)).toMatchObject({ ok: false, failure: 'refused' });
    expect((await pg.probe(nodes[1]!, opts)).walReceiver).toBeUndefined();
  });

  it('records effective calls and attempts; scripted faults before, after, for some calls', async () => {
    const pg = FakePostgres.cluster(nodes);
    const heard: string[] = [];
    pg.onCall((l) => heard.push(l));
    pg.fail('promote', { node: 'pg2', times: 1 });
    await expect(pg.promote(nodes[1]!, 1000)).rejects.toBeInstanceOf(Error);
    expect(pg.node('pg2').role).toBe('standby');
    pg.fail('promote', { when: 'after', times: 1 });
    await expect(pg.promote(nodes[1]!, 1000)).rejects.toThrow(/terminated/);
    expect(pg.node('pg2').role).toBe('primary');
    await pg.promote(nodes[1]!, 1000);
    expect(pg.calls).toEqual(['promote pg2', 'promote pg2']);
    expect(heard).toEqual(pg.calls);
    expect(pg.attempts.map((a) => a.outcome)).toEqual(['failed', 'lost', 'ok']);
  });

  it('a hung node: the probe times out after probeTimeoutMs, a control call never settles', async () => {
    const pg = FakePostgres.cluster(nodes, { probeTimeoutMs: 5 }).hang('pg1');
    expect(await pg.probe(nodes[0]!, opts)).toMatchObject({ ok: false, failure: 'timeout' });
    const fence = pg.fence(nodes[0]!);
    const first = await Promise.race([
      fence.then(() => 'settled'),
      new Promise((r) => setTimeout(() => r('pending'), 20)),
    ]);
    expect(first).toBe('pending');
    expect(pg.attempts.at(-1)?.outcome).toBe('hung');
  });
});
