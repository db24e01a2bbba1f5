/**
 * The agent API's health checks on both nodes, then rule 5's second half: a primary cut off
 * from the Redis majority (the only Redis server SIGSTOPped) fences itself once it could not
 * confirm its epoch for `leaseMs` (read-only, /primary 503), and unfences when Redis comes
 * back and it is still the primary (no failover: the sentinels had no majority either).
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

  it('fences itself without a Redis majority for leaseMs, unfences when it returns', async () => {
    expect(await writable(h)).toBe(true);
    const stoppedAt = Date.now();
    await localKill({ dir: h.state.dir, name: 'redis-1', signal: 'STOP' });
    const fencedAt = await eventually(
      async () => ((await writable(h)) ? undefined : Date.now()),
      LEASE_MS + 5000,
      50,
    );
    const isolatedFor = fencedAt - stoppedAt;
    console.log(`pg1 fenced ${isolatedFor} ms after Redis stopped (leaseMs ${LEASE_MS})`);
    // never before the lease ran out (it was confirmed at most one agent interval before)
    expect(isolatedFor).toBeGreaterThanOrEqual(LEASE_MS - 1000);
    expect(isolatedFor).toBeLessThanOrEqual(LEASE_MS + 3000);
    expect((await get(h, 'pg1', '/primary')).code).toBe(503);
    await eventually(async () => {
      const r = await get(h, 'pg1', '/primary');
      return r.code === 503 && r.body.reason === 'fenced (read-only)' ? true : undefined;
    }, 3000);
    await sleep(1000);
    expect(await writable(h)).toBe(false);

    await localKill({ dir: h.state.dir, name: 'redis-1', signal: 'CONT' });
    await eventually(async () => ((await writable(h)) ? true : undefined), 10_000, 50);
    await eventually(async () =>
      (await get(h, 'pg1', '/primary')).code === 200 ? true : undefined,
    );
    const t = await h.topology();
    expect(t).toMatchObject({ primary: 'pg1', epoch: 1 });
    // and it stays that way: no failover after Redis came back
    await sleep(3000);
    expect(await h.topology()).toMatchObject({ primary: 'pg1', epoch: 1 });
    expect(await writable(h)).toBe(true);
  });
});
