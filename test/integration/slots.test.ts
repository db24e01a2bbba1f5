/**
 * The slot port of PgAdapter (adapters/postgres/slots.ts) against real PostgreSQL: a primary
 * with one streaming standby (and its slot) plus a slot nothing uses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PgAdapter } from '../../src/adapters/postgres/index.js';
import type { LocalNode } from '../../src/local/postgres.js';
import { type PgPair, specOf, sqlOn, startPgPair } from '../helpers/pg.js';

let pair: PgPair;
let adapter: PgAdapter;
let primary: LocalNode;

beforeAll(async () => {
  pair = await startPgPair({ standbys: 1 });
  primary = pair.nodes[0]!;
  adapter = new PgAdapter({
    user: 'postgres',
    password: pair.superPassword,
    database: 'postgres',
    connectTimeoutMs: 1000,
    queryTimeoutMs: 1000,
    replication: { user: pair.replUser, password: pair.replPassword },
    applicationName: 'pgvigil-it',
  });
});
afterAll(async () => {
  await adapter?.close();
  await pair?.stop();
});

describe('slots on a real primary', () => {
  it('lists, keeps max_slot_wal_keep_size, drops only an inactive slot', async () => {
    const p = specOf(primary);
    await adapter.ensureSlot(p, 'gone');
    const slots = await adapter.listSlots(p);
    expect(slots.map((s) => s.name)).toContain('gone');
    expect(slots.find((s) => s.name === 'gone')).toMatchObject({ active: false });
    const active = slots.find((s) => s.active);
    if (active) expect(active.retainedBytes).toBeGreaterThanOrEqual(0);

    expect(await adapter.setSlotWalKeepSize(p, '512MB')).toBe(true);
    const [row] = await sqlOn(primary, 'SHOW max_slot_wal_keep_size');
    expect(Object.values(row!)[0]).toBe('512MB');
    expect(await adapter.setSlotWalKeepSize(p, '512MB')).toBe(false);

    expect(await adapter.dropSlot(p, 'gone')).toBe(true);
    expect(await adapter.dropSlot(p, 'gone')).toBe(false);
    if (active) expect(await adapter.dropSlot(p, active.name)).toBe(false);
    expect((await adapter.listSlots(p)).map((s) => s.name)).not.toContain('gone');
  });

  it('listSlots keeps one session per node between checks instead of a new one each time', async () => {
    const p = specOf(primary);
    const sessions = async () =>
      (
        await sqlOn(
          primary,
          "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgvigil-it' ORDER BY pid",
        )
      ).map((r) => Number(r.pid));
    await adapter.listSlots(p);
    const first = await sessions();
    expect(first).toHaveLength(1);
    await adapter.listSlots(p);
    await adapter.listSlots(p);
    expect(await sessions()).toEqual(first);
  });
});
