/**
 * The agent API's health checks on both nodes, then rule 5's second half: a primary cut off
 * from the Redis majority (the only Redis server SIGSTOPped) is stopped by its agent once it
 * could not confirm its epoch for `leaseMs` (an immediate stop: no session can undo it), and
 * when Redis comes back exactly one node is the writable primary of the topology.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { LEASE_FACTOR, TIMING_DEFAULTS } from '../../src/config/defaults.js';
import { localKill } from '../../src/local/cluster.js';
import { eventually, type LocalHandle, sleep, sql, startLocal } from '../helpers/local.js';

/** the default profile's timing.leaseMs (downAfterMs / 2: 1500) */
const LEASE_MS = LEASE_FACTOR * TIMING_DEFAULTS.default.downAfterMs;

async function get(h: LocalHandle, node: string, path: string) {
  const api = h.state.agents!.find((a) => a.node === node)!.api;
  const res = await fetch(`${api}${path}`, { signal: AbortSignal.timeout(2000) });
  return { code: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function writable(h: LocalHandle): Promise<boolean> {
  try {
    await sql(h.node('pg1'), 'INSERT INTO t VALUES (DEFAULT)');
    return true;
  } catch (err) {
    if (/read-only/.test((err as Error).message)) return false;
    throw err;
  }
}

describe('agent: health checks and self-fencing', () => {
  let h: LocalHandle;
  beforeAll(async () => {
    h = await startLocal({ nodes: 2, sentinels: 3, redis: 1 });
  });
  afterAll(async () => {
    await localKill({ dir: h.state.dir, name: 'redis-1', signal: 'CONT' }).catch(() => undefined);
    await h?.down();
  });

  it('answers /primary, /replica, /health and /status on both nodes', async () => {
    await sql(h.node('pg1'), 'CREATE TABLE t (id serial PRIMARY KEY)');
    expect(await get(h, 'pg1', '/primary')).toMatchObject({ code: 200, body: { ok: true } });
    expect(await get(h, 'pg1', '/replica')).toMatchObject({ code: 503, body: { ok: false } });
    expect(await get(h, 'pg2', '/primary')).toMatchObject({ code: 503, body: { ok: false } });
    await eventually(async () =>
      (await get(h, 'pg2', '/replica')).code === 200 ? true : undefined,
    );
    expect(await get(h, 'pg2', '/replica?lag=16777216')).toMatchObject({ code: 200 });
    expect((await get(h, 'pg2', '/replica?lag=-1')).code).toBe(400);
    for (const n of ['pg1', 'pg2']) {
      expect(await get(h, n, '/health')).toMatchObject({ code: 200, body: { ok: true } });
      const s = await get(h, n, '/status');
      expect(s.body).toMatchObject({ node: n, primary: 'pg1', epoch: 1, coordination: 'majority' });
    }
    expect((await get(h, 'pg2', '/status')).body).toMatchObject({
      decision: { reason: 'standby-ok' },
      postgres: { role: 'standby', slot: 'pg2', walReceiver: { status: 'streaming' } },
    });
    // a switchover stop is refused outside a switchover
    const api = h.state.agents!.find((a) => a.node === 'pg1')!.api;
    const stop = await fetch(`${api}/stop`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ epoch: 1 }),
    });
    expect(stop.status).toBe(409);
    expect(((await stop.json()) as { message: string }).message).toMatch(/state ok/);
  });

  it('stops itself without a Redis majority for leaseMs; one writable primary once it returns', async () => {
    expect(await writable(h)).toBe(true);
    const stoppedAt = Date.now();
    await localKill({ dir: h.state.dir, name: 'redis-1', signal: 'STOP' });
    const fencedAt = await eventually(
      async () => ((await writable(h).catch(() => false)) ? undefined : Date.now()),
      LEASE_MS + 5000,
      20,
    );
    const isolatedFor = fencedAt - stoppedAt;
    console.log(`pg1 fenced ${isolatedFor} ms after Redis stopped (leaseMs ${LEASE_MS})`);
    // never before the lease ran out (it was confirmed at most one agent interval before)
    expect(isolatedFor).toBeGreaterThanOrEqual(LEASE_MS - 1000);
    expect(isolatedFor).toBeLessThanOrEqual(LEASE_MS + 1000);
    expect((await get(h, 'pg1', '/primary')).code).toBe(503);
    await sleep(1000);
    expect(await writable(h).catch(() => false)).toBe(false);

    await localKill({ dir: h.state.dir, name: 'redis-1', signal: 'CONT' });
    // the sentinels fail over to pg2, or the agent restarts pg1 on the leader's verdict
    const t = await eventually(async () => {
      const topo = await h.topology();
      if (topo?.state !== 'ok') return undefined;
      const p = h.node(topo.primary);
      const ok = await sql(p, 'INSERT INTO t VALUES (DEFAULT)').then(
        () => true,
        () => false,
      );
      return ok ? topo : undefined;
    }, 30_000);
    console.log(`after Redis returned: primary ${t.primary}, epoch ${t.epoch}`);
    const other = t.primary === 'pg1' ? 'pg2' : 'pg1';
    expect(
      await sql(h.node(other), 'INSERT INTO t VALUES (DEFAULT)').then(
        () => true,
        () => false,
      ),
    ).toBe(false);
  });
});
