/**
 * Conformance suite of the PostgresPort (src/ports/postgres.ts): what the sentinel runtime
 * relies on from a probe and from each control call, run against the in-memory fake
 * (postgres.fake.test.ts) and the real adapter on a real primary + streaming standby
 * (postgres.real.test.ts), so the fake used by runtime unit tests cannot lie.
 *
 * One pair for the whole suite (starting real servers is slow): the tests run in order and
 * each leaves the pair as it found it (fence is undone, the names are reset), except the last,
 * which promotes the standby.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PostgresCommandFailed, PostgresUnreachable } from '../../src/core/errors.js';
import type { ProbeResult } from '../../src/core/model.js';
import type { NodeSpec } from '../../src/core/spec.js';
import type { PostgresPort } from '../../src/ports/postgres.js';

export interface PostgresHarness {
  pg: PostgresPort;
  primary: NodeSpec;
  /** streams from `primary` through a slot named after it */
  standby: NodeSpec;
  /** nothing listens there */
  unreachable: NodeSpec;
  /** the sentinels with a heartbeat row on `node` */
  heartbeats(node: NodeSpec): Promise<string[]>;
  /** the physical replication slots of `node` */
  slots(node: NodeSpec): Promise<string[]>;
  /** what `node`'s primary_conninfo and primary_slot_name name (null: not set) */
  upstream(node: NodeSpec): Promise<{ host: string; port: number; slot: string | null } | null>;
  cleanup(): Promise<void>;
}

/** Poll `fn` until it returns something other than undefined (real servers need a moment). */
async function eventually<T>(fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function describePostgresContract(
  name: string,
  setup: () => Promise<PostgresHarness>,
): void {
  describe(`PostgresPort contract: ${name}`, () => {
    let h: PostgresHarness;
    const nowMono = (): number => performance.now();
    const probe = (node: NodeSpec, heartbeat = true, sentinel = 'contract'): Promise<ProbeResult> =>
      h.pg.probe(node, { nowMono, sentinel, heartbeat });
    /** the standby's probe once its WAL receiver streams */
    const streamingStandby = (): Promise<ProbeResult> =>
      eventually(async () => {
        const p = await probe(h.standby, false);
        return p.walReceiver?.status === 'streaming' ? p : undefined;
      });

    beforeAll(async () => {
      h = await setup();
    });
    afterAll(async () => {
      await h?.cleanup();
    });

    it('probes the primary: ok, role primary, its LSN, the standby among its replicas', async () => {
      const p = await eventually(async () => {
        const r = await probe(h.primary);
        return r.replicas?.some((x) => x.name === h.standby.name) ? r : undefined;
      });
      expect(p).toMatchObject({ node: h.primary.name, ok: true, role: 'primary' });
      expect(p.currentLsn).toBeGreaterThan(0);
      expect(p.durationMs).toBeGreaterThanOrEqual(0);
      expect(p.atMono).toBeLessThanOrEqual(nowMono());
      expect(p.syncStandbyNames).toBe('');
      expect(p.replicas?.find((x) => x.name === h.standby.name)).toMatchObject({
        state: 'streaming',
        syncState: 'async',
      });
    });

    it('commits a heartbeat row only when asked to', async () => {
      expect(await probe(h.primary, false, 'contract-quiet')).toMatchObject({ ok: true });
      expect(await probe(h.primary, true, 'contract-beat')).toMatchObject({ ok: true });
      const rows = await h.heartbeats(h.primary);
      expect(rows).toContain('contract-beat');
      expect(rows).not.toContain('contract-quiet');
    });

    it('probes the standby: role standby, its LSNs, the WAL receiver streaming from the primary', async () => {
      const p = await streamingStandby();
      expect(p).toMatchObject({ node: h.standby.name, ok: true, role: 'standby' });
      expect(p.receivedLsn).toBeGreaterThan(0);
      expect(p.replayedLsn).toBeGreaterThan(0);
      expect(p.walReceiver).toMatchObject({ status: 'streaming', senderPort: h.primary.port });
      expect(p.walReceiver!.lastMsgAgeMs).toBeLessThan(10_000);
      // a heartbeat asked of a standby is not a failure: a standby cannot commit one
      expect(await probe(h.standby, true)).toMatchObject({ ok: true, role: 'standby' });
    });

    it('probes an unreachable node without throwing: ok false, refused or timeout', async () => {
      const p = await probe(h.unreachable);
      expect(p).toMatchObject({ node: h.unreachable.name, ok: false });
      expect(['refused', 'timeout']).toContain(p.failure);
      expect(p.role).toBeUndefined();
    });

    it('throws PostgresUnreachable from every control call on an unreachable node', async () => {
      const u = h.unreachable;
      const calls: [string, () => Promise<void>][] = [
        ['promote', () => h.pg.promote(u, 1000)],
        ['stampEpoch', () => h.pg.stampEpoch(u, 1, u.name)],
        ['ensureSlot', () => h.pg.ensureSlot(u, 'x')],
        ['repoint', () => h.pg.repoint(u, h.primary, u.name)],
        ['fence', () => h.pg.fence(u)],
        ['unfence', () => h.pg.unfence(u)],
        ['setSyncStandbyNames', () => h.pg.setSyncStandbyNames(u, '')],
      ];
      for (const [op, call] of calls)
        await expect(call(), op).rejects.toBeInstanceOf(PostgresUnreachable);
    });

    it('stampEpoch: the next probes show it (the standby replays it), never lowered', async () => {
      await h.pg.stampEpoch(h.primary, 5, h.primary.name);
      expect((await probe(h.primary)).stampedEpoch).toBe(5);
      await h.pg.stampEpoch(h.primary, 5, h.primary.name); // the same epoch again: fine
      await expect(h.pg.stampEpoch(h.primary, 4, h.primary.name)).rejects.toBeInstanceOf(
        PostgresCommandFailed,
      );
      expect((await probe(h.primary)).stampedEpoch).toBe(5);
      await eventually(async () =>
        (await probe(h.standby, false)).stampedEpoch === 5 ? true : undefined,
      );
      // a standby is read-only: it answers with an error, it is not unreachable
      await expect(h.pg.stampEpoch(h.standby, 6, h.standby.name)).rejects.toBeInstanceOf(
        PostgresCommandFailed,
      );
    });

    it('ensureSlot creates a physical slot once (idempotent)', async () => {
      await h.pg.ensureSlot(h.primary, 'contract_slot');
      await h.pg.ensureSlot(h.primary, 'contract_slot');
      const slots = await h.slots(h.primary);
      expect(slots.filter((s) => s === 'contract_slot')).toHaveLength(1);
      expect(slots).toContain(h.standby.name);
    });

    it('fence: read-only, so the heartbeat fails as write-failed; unfence makes it writable', async () => {
      await h.pg.fence(h.primary);
      // the fence ends client sessions, the probe's own included: one probe may see that
      const fenced = await eventually(async () => {
        const p = await probe(h.primary);
        return p.failure === 'refused' ? undefined : p;
      }, 3000);
      expect(fenced).toMatchObject({ ok: false, failure: 'write-failed', role: 'primary' });
      await expect(h.pg.stampEpoch(h.primary, 6, h.primary.name)).rejects.toBeInstanceOf(
        PostgresCommandFailed,
      );
      expect(await probe(h.primary, false)).toMatchObject({ ok: true, role: 'primary' });

      await h.pg.unfence(h.primary);
      expect(await probe(h.primary)).toMatchObject({ ok: true, role: 'primary' });
      await h.pg.stampEpoch(h.primary, 6, h.primary.name);
      expect((await probe(h.primary)).stampedEpoch).toBe(6);
    });

    it('setSyncStandbyNames: the next probe sees the value and the standby turns sync', async () => {
      const value = `FIRST 1 ("${h.standby.name}")`;
      await h.pg.setSyncStandbyNames(h.primary, value);
      expect((await probe(h.primary)).syncStandbyNames).toBe(value);
      await eventually(async () => {
        const r = (await probe(h.primary)).replicas?.find((x) => x.name === h.standby.name);
        return r?.syncState === 'sync' ? true : undefined;
      });
      await expect(h.pg.setSyncStandbyNames(h.standby, '')).rejects.toBeInstanceOf(
        PostgresCommandFailed,
      );
      await h.pg.setSyncStandbyNames(h.primary, '');
      expect((await probe(h.primary)).syncStandbyNames).toBe('');
      await eventually(async () => {
        const r = (await probe(h.primary)).replicas?.find((x) => x.name === h.standby.name);
        return r?.syncState === 'async' ? true : undefined;
      });
    });

    it('repoint: primary_conninfo and the slot name the primary, the standby streams from it', async () => {
      await h.pg.repoint(h.standby, h.primary, h.standby.name);
      const want = { host: h.primary.host, port: h.primary.port, slot: h.standby.name };
      // pg_reload_conf() only signals: a new session may start before the postmaster reloaded
      await eventually(async () => {
        const up = await h.upstream(h.standby);
        return JSON.stringify(up) === JSON.stringify(want) ? true : undefined;
      }, 5000);
      const p = await streamingStandby();
      expect(p.walReceiver).toMatchObject({ status: 'streaming', senderPort: h.primary.port });
    });

    it('promote (last: it splits the pair): the standby answers as a primary; again is a no-op', async () => {
      await h.pg.promote(h.standby, 10_000);
      const p = await probe(h.standby, true, 'contract-promoted');
      expect(p).toMatchObject({ ok: true, role: 'primary' });
      expect(p.walReceiver).toBeUndefined();
      expect(await h.heartbeats(h.standby)).toContain('contract-promoted');
      await h.pg.promote(h.standby, 10_000); // a retried promote succeeds
      await h.pg.stampEpoch(h.standby, 7, h.standby.name);
      expect((await probe(h.standby)).stampedEpoch).toBe(7);
    });
  });
}
