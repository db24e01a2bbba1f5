/**
 * The majority engine on in-memory servers, for what the contract suite (3 servers, seen only
 * through the port) does not show: 5 servers, which servers a lost CAS is reverted on, the
 * error text, readHistory's fall-through, and that a closed engine touches no server.
 */
import { describe, expect, it, vi } from 'vitest';

import { keys } from '../../../../src/adapters/redis/keys.js';
import { MajorityStore } from '../../../../src/adapters/redis/majority-store.js';
import { CoordinationUnavailable, UserError } from '../../../../src/core/errors.js';
import type { Topology } from '../../../../src/core/model.js';
import { FakeServer } from '../../../fakes/coordination-server.js';

const K = keys('t');
const now = (): number => 1_000;
const servers = (n: number): FakeServer[] =>
  Array.from({ length: n }, (_, i) => new FakeServer(`fake://s${i}`, now, false));

const topology = (epoch: number, primary = 'pg1'): Topology => ({
  cluster: 'c',
  epoch,
  primary,
  nodes: [],
  syncStandbys: [],
  state: 'ok',
  updatedAt: new Date(0).toISOString(),
  reason: `epoch ${epoch}`,
});

describe('MajorityStore', () => {
  it('needs 3 of 5, and reverts a lost CAS only where it was accepted', async () => {
    const all = servers(5);
    const engine = new MajorityStore(all, K);
    expect(engine.majority).toBe(3);
    // servers 0-1 at epoch 1 (by A), 2-3 at epoch 2 (by X), 4 down
    await new MajorityStore(all.slice(0, 2), K).casTopology('c', 0, topology(1), 'A');
    const ahead = new MajorityStore(all.slice(2, 4), K);
    await ahead.casTopology('c', 0, topology(1), 'X');
    await ahead.casTopology('c', 1, topology(2), 'X');
    const before = await all[0]?.get(K.topology('c'));
    all[4]!.up = false;
    const reverts = all.map((s) => vi.spyOn(s, 'revertTopology'));

    const lost = await engine.casTopology('c', 1, topology(2, 'pg2'), 'B');

    expect(lost).toEqual({ committed: false, accepted: 2, total: 5, seenEpoch: 2 });
    expect(reverts.map((r) => r.mock.calls)).toEqual([
      [[K.topology('c'), 2, 'B', before]],
      [[K.topology('c'), 2, 'B', before]],
      [],
      [],
      [],
    ]);
    expect(await all[0]?.get(K.topology('c'))).toBe(before);
    expect(await all[1]?.get(K.topology('c'))).toBe(before);
    expect((await engine.readTopology('c')).value).toMatchObject({ epoch: 2, committedBy: 'X' });
  });

  it('keeps a failed revert and retries it before the next topology read', async () => {
    const all = servers(3);
    const engine = new MajorityStore(all, K);
    // server 2 is ahead (epoch 1 by X); 0 and 1 empty: B's CAS 0 -> 1 wins only on server 0
    await new MajorityStore(all.slice(2), K).casTopology('c', 0, topology(1), 'X');
    all[1]!.up = false;
    const revert = vi.spyOn(all[0]!, 'revertTopology');
    revert.mockRejectedValueOnce(new Error('Command timed out'));

    const lost = await engine.casTopology('c', 0, topology(1, 'pg2'), 'B');

    expect(lost).toMatchObject({ committed: false, accepted: 1, unreverted: 1 });
    expect(engine.pendingReverts).toBe(1);
    expect(await all[0]?.get(K.topology('c'))).toContain('"committedBy":"B"');
    all[1]!.up = true;
    const read = await engine.readTopology('c');
    expect(read.unreverted).toBeUndefined();
    expect(engine.pendingReverts).toBe(0);
    expect(revert).toHaveBeenCalledTimes(2);
    expect(await all[0]?.get(K.topology('c'))).toBeNull();
    expect(read.value).toMatchObject({ epoch: 1, committedBy: 'X' });
  });

  it('does not revert a lost update (it only ever rewrote its own epoch)', async () => {
    const all = servers(3);
    const engine = new MajorityStore(all, K);
    await engine.casTopology('c', 0, topology(1), 'A');
    all[1]!.up = false;
    all[2]!.up = false;
    const revert = vi.spyOn(all[0]!, 'revertTopology');
    expect(await engine.updateTopology('c', topology(1, 'pg2'), 'A')).toMatchObject({
      committed: false,
      accepted: 1,
    });
    expect(revert).not.toHaveBeenCalled();
  });

  it('names each server that did not answer, in configuration order', async () => {
    const all = servers(5);
    all[3]!.up = false;
    vi.spyOn(all[1]!, 'get').mockRejectedValue(new Error('Command timed out'));
    all[4]!.up = false;
    const read = new MajorityStore(all, K).readPause('c');
    await expect(read).rejects.toBeInstanceOf(CoordinationUnavailable);
    await expect(read).rejects.toThrow(
      '3 of 5 Redis servers unreachable (fake://s1: Command timed out; ' +
        'fake://s3: connect ECONNREFUSED (fake server down); ' +
        'fake://s4: connect ECONNREFUSED (fake server down)): ' +
        'no coordination majority (need 3)',
    );
  });

  it('removes only its own copies when a claim does not reach a majority', async () => {
    const all = servers(3);
    const engine = new MajorityStore(all, K);
    const key = K.record('c', 'intent');
    await all[0]?.set(key, JSON.stringify({ id: 'theirs', atWall: 1 }));
    await all[1]?.set(key, JSON.stringify({ id: 'other', atWall: 1 }));
    expect(await engine.claimRecord('c', 'intent', { id: 'mine', atWall: 2 }, 1000)).toBe(false);
    expect(await Promise.all(all.map((s) => s.get(key)))).toEqual([
      JSON.stringify({ id: 'theirs', atWall: 1 }),
      JSON.stringify({ id: 'other', atWall: 1 }),
      null, // ours, written by the SET NX, then removed
    ]);
  });

  it('matches a cluster name with glob characters literally when reading votes', async () => {
    const engine = new MajorityStore(servers(1), K);
    const vote = (sentinel: string) => ({
      sentinel,
      epoch: 1,
      primary: 'pg1',
      down: true,
      reason: 'x',
      atWall: 1,
    });
    await engine.publishVote('a*[b]', vote('s1'), 1000);
    await engine.publishVote('axxb', vote('s2'), 1000);
    await engine.publishVote('ab', vote('s3'), 1000);
    expect((await engine.readVotes('a*[b]')).value.map((v) => v.sentinel)).toEqual(['s1']);
  });

  it('rounds TTLs to whole milliseconds, at least 1', async () => {
    const [server] = servers(1);
    const set = vi.spyOn(server!, 'set');
    const engine = new MajorityStore([server!], K);
    await engine.putRecord('c', 'verdict', { id: 'v', atWall: 1 }, 0.2);
    await engine.claimRecord('c', 'intent', { id: 'i', atWall: 1 }, 1500.6);
    expect(set.mock.calls.map((call) => call[2])).toEqual([{ pxMs: 1 }, { pxMs: 1501, nx: true }]);
  });

  it('reads history from every server that answers (merged by id), and says why none did', async () => {
    const all = servers(3);
    const engine = new MajorityStore(all, K);
    all[0]!.up = false;
    await engine.publishEvent('c', {
      type: 'resumed',
      cluster: 'c',
      epoch: 1,
      by: 'op',
      at: 'x',
      id: 'e1',
    });
    all[0]!.up = true; // it missed the event: the others have it
    expect((await engine.readHistory('c', '0', 10)).map((e) => e.event.id)).toEqual(['e1']);
    all[0]!.up = false;
    expect((await engine.readHistory('c', '0', 10)).map((e) => e.event.id)).toEqual(['e1']);
    for (const s of all) s.up = false;
    await expect(engine.readHistory('c', '0', 10)).rejects.toThrow(
      /^no Redis server answered for the event history \(fake:\/\/s0: .*; fake:\/\/s1: .*; fake:\/\/s2: .*\)$/,
    );
  });

  it('refuses a malformed event id before asking any server', async () => {
    const [server] = servers(1);
    const read = vi.spyOn(server!, 'readStream');
    const engine = new MajorityStore([server!], K);
    await expect(engine.readHistory('c', 'yesterday', 10)).rejects.toBeInstanceOf(UserError);
    expect(read).not.toHaveBeenCalled();
  });

  it('asks no server once closed', async () => {
    const all = servers(3);
    const gets = all.map((s) => vi.spyOn(s, 'get'));
    const engine = new MajorityStore(all, K);
    engine.markClosed();
    await expect(engine.readTopology('c')).rejects.toThrow(/Connection is closed/);
    expect(gets.flatMap((g) => g.mock.calls)).toEqual([]);
  });
});
