/**
 * Conformance suite of the CoordinationStore port (src/ports/coordination.ts), run against the
 * in-memory fake (coordination.fake.test.ts) and the Redis adapter on 3 real redis-server
 * processes (coordination.redis.test.ts), so the fake used by runtime unit tests cannot lie.
 *
 * The harness gives 3 servers. `downServer(i)` makes server i unreachable while keeping its
 * data; `upServer(i)` brings it back with that data (it missed what happened meanwhile) and
 * resolves once the harness's stores can reach it again.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { CoordinationUnavailable } from '../../src/core/errors.js';
import { EventIds } from '../../src/core/event-id.js';
import type { StampedEvent } from '../../src/core/events.js';
import type { SentinelPresence, Topology, TopologyState, Vote } from '../../src/core/model.js';
import type { CoordinationStore } from '../../src/ports/coordination.js';

export interface CoordinationHarness {
  store: CoordinationStore;
  /** another store (another sentinel) on the same servers; closed by cleanup() */
  another(): Promise<CoordinationStore>;
  downServer(i: number): Promise<void> | void;
  upServer(i: number): Promise<void> | void;
  /** let `ms` of wall-clock time pass: a fake clock advances ... */
  advance?(ms: number): Promise<void> | void;
  /** ... or real time sleeps */
  sleep?(ms: number): Promise<void>;
  cleanup(): Promise<void>;
}

let clusterSeq = 0;
const uniqueCluster = (): string =>
  `c${++clusterSeq}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

export function topology(
  cluster: string,
  epoch: number,
  primary = 'pg1',
  state: TopologyState = 'ok',
): Topology {
  const standby = primary === 'pg1' ? 'pg2' : 'pg1';
  return {
    cluster,
    epoch,
    primary,
    nodes: [
      { name: primary, host: '127.0.0.1', port: 5432, role: 'primary', state: 'up' },
      { name: standby, host: '127.0.0.1', port: 5433, role: 'standby', state: 'up' },
    ],
    syncStandbys: [],
    state,
    updatedAt: new Date(0).toISOString(),
    reason: `test epoch ${epoch}`,
  };
}

const vote = (sentinel: string, atWall: number, down = true): Vote => ({
  sentinel,
  epoch: 1,
  primary: 'pg1',
  down,
  reason: down ? 'no successful probe for 3000 ms' : 'ok',
  atWall,
});

const presence = (id: string, atWall: number): SentinelPresence => ({
  id,
  api: null,
  leader: false,
  atWall,
  tilt: false,
  version: 'test',
});

/** ids as the runtime stamps them: the same stream id on every server (src/core/event-id.ts) */
const eventIds = new EventIds(7);
const event = (cluster: string): StampedEvent => ({
  type: 'node-down',
  cluster,
  epoch: 1,
  node: 'pg1',
  sentinel: 's1',
  reason: 'test',
  at: new Date(0).toISOString(),
  id: eventIds.next(Date.now()),
});

async function waitUntil(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function describeCoordinationContract(
  name: string,
  factory: () => Promise<CoordinationHarness>,
): void {
  describe(`CoordinationStore contract: ${name}`, () => {
    let h: CoordinationHarness;
    let store: CoordinationStore;
    let c: string;
    const pass = async (ms: number): Promise<void> => {
      if (h.advance) await h.advance(ms);
      else if (h.sleep) await h.sleep(ms);
      else await new Promise((resolve) => setTimeout(resolve, ms));
    };

    beforeEach(async () => {
      h = await factory();
      store = h.store;
      c = uniqueCluster();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('has 3 servers and a majority of 2', () => {
      expect(store.total).toBe(3);
      expect(store.majority).toBe(2);
    });

    describe('topology epoch CAS', () => {
      it('reads null before anything is stored, then commits epoch 1 from 0', async () => {
        expect(await store.readTopology(c, { every: true })).toEqual({
          value: null,
          answered: 3,
          total: 3,
        });
        const result = await store.casTopology(c, 0, topology(c, 1), 'w1');
        expect(result).toEqual({ committed: true, accepted: 3, total: 3, seenEpoch: 0 });
        const read = await store.readTopology(c);
        // it answers once a majority has; the third may still be on its way
        expect(read.answered).toBeGreaterThanOrEqual(2);
        expect((await store.readTopology(c, { every: true })).answered).toBe(3);
        expect(read.value).toEqual({ ...topology(c, 1), committedBy: 'w1' });
      });

      it('refuses a CAS from a stale epoch and reports the epoch it saw', async () => {
        expect((await store.casTopology(c, 0, topology(c, 1), 'w1')).committed).toBe(true);
        expect((await store.casTopology(c, 1, topology(c, 2), 'w1')).committed).toBe(true);
        const stale = await store.casTopology(c, 1, topology(c, 2, 'pg2'), 'w2');
        expect(stale).toEqual({ committed: false, accepted: 0, total: 3, seenEpoch: 2 });
        const older = await store.casTopology(c, 0, topology(c, 1, 'pg2'), 'w2');
        expect(older.committed).toBe(false);
        expect(older.seenEpoch).toBe(2);
        expect((await store.readTopology(c)).value?.primary).toBe('pg1');
      });

      it('rejects a next topology whose epoch is not expected + 1 (a caller bug)', async () => {
        await expect(store.casTopology(c, 0, topology(c, 2), 'w1')).rejects.toThrow(/epoch/);
      });

      it('lets exactly one of two concurrent writers commit each epoch (20 rounds)', async () => {
        const other = await h.another();
        for (let e = 0; e < 20; e++) {
          const [a, b] = await Promise.all([
            store.casTopology(c, e, topology(c, e + 1, 'pg1'), 'A'),
            other.casTopology(c, e, topology(c, e + 1, 'pg2'), 'B'),
          ]);
          expect([a.committed, b.committed].filter(Boolean)).toHaveLength(1);
          expect(a.accepted + b.accepted).toBe(3);
          const winner = a.committed ? 'A' : 'B';
          const read = await store.readTopology(c);
          expect(read.value?.epoch).toBe(e + 1);
          expect(read.value?.committedBy).toBe(winner);
        }
      });

      it('accepts an idempotent retry by the same writer, and only by it', async () => {
        const next = topology(c, 1);
        expect((await store.casTopology(c, 0, next, 'w1')).committed).toBe(true);
        expect(await store.casTopology(c, 0, next, 'w1')).toEqual({
          committed: true,
          accepted: 3,
          total: 3,
          seenEpoch: 0,
        });
        const other = await store.casTopology(c, 0, topology(c, 1, 'pg2'), 'w2');
        expect(other).toMatchObject({ committed: false, accepted: 0, seenEpoch: 1 });
      });

      it('lets only the writer of an epoch update it, and not once a higher epoch exists', async () => {
        await store.casTopology(c, 0, topology(c, 1, 'pg1', 'failing-over'), 'w1');
        const byOwner = await store.updateTopology(c, topology(c, 1, 'pg1', 'ok'), 'w1');
        expect(byOwner).toMatchObject({ committed: true, accepted: 3 });
        expect((await store.readTopology(c)).value?.state).toBe('ok');

        const byOther = await store.updateTopology(c, topology(c, 1, 'pg2', 'degraded'), 'w2');
        expect(byOther).toEqual({ committed: false, accepted: 0, total: 3, seenEpoch: 1 });
        expect((await store.readTopology(c)).value).toMatchObject({ primary: 'pg1', state: 'ok' });

        await store.casTopology(c, 1, topology(c, 2, 'pg2'), 'w2');
        const late = await store.updateTopology(c, topology(c, 1, 'pg1', 'degraded'), 'w1');
        expect(late).toMatchObject({ committed: false, seenEpoch: 2 });
        expect((await store.readTopology(c)).value).toMatchObject({ epoch: 2, primary: 'pg2' });
      });

      it('repairs a server that missed a commit, and reads the highest epoch', async () => {
        await h.downServer(2);
        expect(await store.casTopology(c, 0, topology(c, 1), 'w1')).toMatchObject({
          committed: true,
          accepted: 2,
        });
        await h.upServer(2); // server 2 has nothing: it missed epoch 1
        await h.downServer(0);
        const read = await store.readTopology(c); // servers 1 (epoch 1) and 2 (none)
        expect(read).toMatchObject({ answered: 2, total: 3 });
        expect(read.value?.epoch).toBe(1);

        // expected 1: server 1 holds 1, server 2 holds nothing (< 1) and is brought up to date
        expect(await store.casTopology(c, 1, topology(c, 2, 'pg2'), 'w1')).toMatchObject({
          committed: true,
          accepted: 2,
        });
        await h.upServer(0); // server 0 still holds epoch 1
        await h.downServer(1);
        const after = await store.readTopology(c); // servers 0 (epoch 1) and 2 (epoch 2)
        expect(after.value).toMatchObject({ epoch: 2, primary: 'pg2' });

        // and the next write repairs server 0 as well
        expect(await store.casTopology(c, 2, topology(c, 3), 'w1')).toMatchObject({
          committed: true,
          accepted: 2,
        });
        await h.upServer(1);
        await h.downServer(2);
        expect((await store.readTopology(c)).value?.epoch).toBe(3);
      });

      it('repairs a behind server through updateTopology as well', async () => {
        await h.downServer(1);
        await store.casTopology(c, 0, topology(c, 1, 'pg1', 'failing-over'), 'w1');
        await h.upServer(1);
        const update = await store.updateTopology(c, topology(c, 1, 'pg1', 'ok'), 'w1');
        expect(update).toMatchObject({ committed: true, accepted: 3 });
        await h.downServer(0);
        await h.downServer(2);
        await expect(store.readTopology(c)).rejects.toBeInstanceOf(CoordinationUnavailable);
        await h.upServer(2);
        expect((await store.readTopology(c)).value).toMatchObject({ epoch: 1, state: 'ok' });
      });
    });

    describe('a lost CAS', () => {
      it('leaves no trace on the minority that accepted it', async () => {
        await store.casTopology(c, 0, topology(c, 1, 'pg1'), 's1');
        await h.downServer(1);
        await h.downServer(2);
        const lost = await store.casTopology(c, 1, topology(c, 2, 'pg2'), 's9');
        expect(lost.committed).toBe(false);
        await h.upServer(1);
        await h.upServer(2);
        // readers take the highest epoch they see: an uncommitted epoch 2 must not be there
        expect((await store.readTopology(c)).value).toMatchObject({ epoch: 1, primary: 'pg1' });
        await h.downServer(0);
        expect((await store.readTopology(c)).value?.epoch).toBe(1);
        await h.upServer(0);
      });
    });

    describe('without a majority', () => {
      it('throws CoordinationUnavailable from reads and commits nothing', async () => {
        await store.casTopology(c, 0, topology(c, 1), 'w1');
        await h.downServer(1);
        await h.downServer(2);

        const unavailable = /2 of 3 Redis servers unreachable.*no coordination majority/;
        await expect(store.readTopology(c)).rejects.toBeInstanceOf(CoordinationUnavailable);
        await expect(store.readTopology(c)).rejects.toThrow(unavailable);
        await expect(store.readVotes(c)).rejects.toBeInstanceOf(CoordinationUnavailable);
        await expect(store.readPresence(c)).rejects.toBeInstanceOf(CoordinationUnavailable);
        await expect(store.readPause(c)).rejects.toBeInstanceOf(CoordinationUnavailable);
        await expect(
          store.setPause(c, { paused: true, by: 'op', atWall: 1 }),
        ).rejects.toBeInstanceOf(CoordinationUnavailable);

        const cas = await store.casTopology(c, 1, topology(c, 2, 'pg2'), 'w1');
        expect(cas.committed).toBe(false);
        expect(cas.accepted).toBeLessThan(2);
        expect(await store.tryLead(c, 2000)).toBe(false);
        expect(store.isLeader(c)).toBe(false);

        // best-effort writes do not throw
        await store.publishVote(c, vote('s1', 1), 5000);
        await store.publishPresence(c, presence('s1', 1), 5000);
      });

      it('works again once a majority is back', async () => {
        await h.downServer(0);
        await h.downServer(1);
        await expect(store.readVotes(c)).rejects.toBeInstanceOf(CoordinationUnavailable);
        await h.upServer(1);
        expect(await store.readVotes(c)).toEqual({ value: [], answered: 2, total: 3 });
      });
    });

    describe('votes and presence', () => {
      it('reads back one vote per sentinel, newest first by atWall', async () => {
        await store.publishVote(c, vote('s1', 100), 10_000);
        await store.publishVote(c, vote('s2', 100, false), 10_000);
        await store.publishVote(c, vote('s1', 200, false), 10_000);
        const read = await store.readVotes(c);
        expect(read).toMatchObject({ answered: 3, total: 3 });
        expect(read.value).toEqual([vote('s1', 200, false), vote('s2', 100, false)]);
      });

      it('keeps votes of other clusters apart', async () => {
        await store.publishVote(c, vote('s1', 1), 10_000);
        await store.publishVote(`${c}x`, vote('s2', 1), 10_000);
        expect((await store.readVotes(c)).value.map((v) => v.sentinel)).toEqual(['s1']);
      });

      it('expires votes after their TTL', async () => {
        await store.publishVote(c, vote('s1', 1), 300);
        await store.publishVote(c, vote('s2', 1), 5000);
        expect((await store.readVotes(c)).value).toHaveLength(2);
        await pass(600);
        expect((await store.readVotes(c)).value.map((v) => v.sentinel)).toEqual(['s2']);
      });

      it('unions votes across servers that each missed some', async () => {
        await h.downServer(2);
        await store.publishVote(c, vote('s1', 1), 30_000); // on 0 and 1
        await h.upServer(2);
        await h.downServer(0);
        await store.publishVote(c, vote('s2', 2), 30_000); // on 1 and 2
        await store.publishVote(c, vote('s3', 1), 30_000);
        await h.upServer(0);
        await store.publishVote(c, vote('s3', 5), 30_000); // newer, on all
        await h.downServer(1);
        // server 0 has s1 and s3@5, server 2 has s2 and s3@5: neither has all of them
        const read = await store.readVotes(c);
        expect(read.answered).toBe(2);
        expect(read.value).toEqual([vote('s1', 1), vote('s2', 2), vote('s3', 5)]);
      });

      it('keeps the newest vote of a sentinel when servers disagree', async () => {
        await store.publishVote(c, vote('s1', 100, false), 30_000);
        await h.downServer(0);
        await store.publishVote(c, vote('s1', 200, true), 30_000);
        await h.upServer(0);
        await h.downServer(1);
        expect((await store.readVotes(c)).value).toEqual([vote('s1', 200, true)]);
      });

      it('reads presence of live sentinels, which expires', async () => {
        await store.publishPresence(c, presence('s1', 10), 300);
        await store.publishPresence(c, presence('s2', 10), 5000);
        await store.publishPresence(c, presence('s2', 20), 5000);
        expect((await store.readPresence(c)).value).toEqual([
          presence('s1', 10),
          presence('s2', 20),
        ]);
        await pass(600);
        expect((await store.readPresence(c)).value).toEqual([presence('s2', 20)]);
      });
    });

    describe('pause', () => {
      it('is not paused by default, and reads back what was set', async () => {
        expect(await store.readPause(c)).toEqual({
          value: { paused: false },
          answered: 3,
          total: 3,
        });
        const paused = { paused: true, by: 'alice', atWall: 1000, reason: 'maintenance' };
        await store.setPause(c, paused);
        expect((await store.readPause(c)).value).toEqual(paused);
        await store.setPause(c, { paused: false, by: 'alice', atWall: 2000 });
        expect((await store.readPause(c)).value).toEqual({
          paused: false,
          by: 'alice',
          atWall: 2000,
        });
      });

      it('takes the newest command: a server that missed a resume does not re-pause', async () => {
        await store.setPause(c, { paused: true, by: 'alice', atWall: 1000 });
        await h.downServer(2);
        await store.setPause(c, { paused: false, by: 'bob', atWall: 2000 });
        await h.upServer(2);
        expect((await store.readPause(c)).value).toMatchObject({ paused: false, by: 'bob' });
        // and the other way round: a missed pause is not lost either
        await h.downServer(0);
        await store.setPause(c, { paused: true, by: 'carol', atWall: 3000 });
        await h.upServer(0);
        expect((await store.readPause(c)).value).toMatchObject({ paused: true, by: 'carol' });
      });
    });

    describe('records (intents, results, verdict)', () => {
      const rec = (id: string, atWall = 1000) => ({ id, atWall, op: 'switchover' });
      it('lets at most one of several concurrent claims win, and leaves only its record (10 rounds)', async () => {
        const other = await h.another();
        for (let round = 0; round < 10; round++) {
          const name = `intent-${round}`;
          const wins = await Promise.all([
            store.claimRecord(c, name, rec(`a${round}`), 5000),
            other.claimRecord(c, name, rec(`b${round}`), 5000),
            store.claimRecord(c, name, rec(`c${round}`), 5000),
          ]);
          // at most one: a three-way split on three servers leaves none (all callers get 409)
          expect(wins.filter(Boolean).length).toBeLessThanOrEqual(1);
          const held = (await store.getRecord<{ id: string; atWall: number }>(c, name)).value;
          if (wins.includes(true))
            expect(held?.id).toBe([`a${round}`, `b${round}`, `c${round}`][wins.indexOf(true)]);
          else expect(held).toBeNull();
        }
      });
      it('refuses a claim while a record exists, and allows it after delete by id', async () => {
        expect(await store.claimRecord(c, 'intent', rec('x'), 5000)).toBe(true);
        expect(await store.claimRecord(c, 'intent', rec('y'), 5000)).toBe(false);
        await store.deleteRecord(c, 'intent', 'y'); // not the holder: no effect
        expect((await store.getRecord(c, 'intent')).value?.id).toBe('x');
        await store.deleteRecord(c, 'intent', 'x');
        expect((await store.getRecord(c, 'intent')).value).toBeNull();
        expect(await store.claimRecord(c, 'intent', rec('y'), 5000)).toBe(true);
      });
      it('puts, reads back and expires a record', async () => {
        await store.putRecord(c, 'verdict', rec('v1'), 300);
        expect((await store.getRecord(c, 'verdict')).value).toMatchObject({
          id: 'v1',
          op: 'switchover',
        });
        await pass(600);
        expect((await store.getRecord(c, 'verdict')).value).toBeNull();
      });
      it('cannot claim without a majority, and leaves nothing behind', async () => {
        await h.downServer(1);
        await h.downServer(2);
        expect(await store.claimRecord(c, 'intent', rec('z'), 5000)).toBe(false);
        await h.upServer(1);
        await h.upServer(2);
        expect((await store.getRecord(c, 'intent')).value).toBeNull();
      });
    });

    describe('leader lock', () => {
      it('lets only one of two stores lead; the other leads after release', async () => {
        const other = await h.another();
        expect(await store.tryLead(c, 5000)).toBe(true);
        expect(store.isLeader(c)).toBe(true);
        expect(await other.tryLead(c, 5000)).toBe(false);
        expect(other.isLeader(c)).toBe(false);
        expect(await store.tryLead(c, 5000)).toBe(true); // extends
        expect(await other.tryLead(c, 5000)).toBe(false);

        await store.releaseLead(c);
        expect(store.isLeader(c)).toBe(false);
        expect(await other.tryLead(c, 5000)).toBe(true);
        expect(other.isLeader(c)).toBe(true);
        expect(await store.tryLead(c, 5000)).toBe(false);
        await other.releaseLead(c);
      });

      it('never lets both lead when they try at the same time', async () => {
        const other = await h.another();
        for (let round = 0; round < 10; round++) {
          const cluster = `${c}-${round}`;
          const [a, b] = await Promise.all([
            store.tryLead(cluster, 5000),
            other.tryLead(cluster, 5000),
          ]);
          expect(a && b).toBe(false);
          await Promise.all([store.releaseLead(cluster), other.releaseLead(cluster)]);
        }
      });

      it('hands over after the TTL when the leader stops extending', async () => {
        const other = await h.another();
        expect(await store.tryLead(c, 300)).toBe(true);
        expect(await other.tryLead(c, 300)).toBe(false);
        await pass(600);
        expect(store.isLeader(c)).toBe(false);
        expect(await other.tryLead(c, 5000)).toBe(true);
        // the old leader's extend fails: it is not leader any more
        expect(await store.tryLead(c, 5000)).toBe(false);
        expect(store.isLeader(c)).toBe(false);
        expect(other.isLeader(c)).toBe(true);
      });

      it('leads with one server down', async () => {
        await h.downServer(1);
        expect(await store.tryLead(c, 5000)).toBe(true);
        expect(await store.tryLead(c, 5000)).toBe(true);
        await store.releaseLead(c);
      });
    });

    describe('events', () => {
      it('delivers an event once (de-duplicated across servers) and keeps it in history', async () => {
        const other = await h.another();
        const received: StampedEvent[] = [];
        const unsubscribe = await other.subscribe(c, (e) => received.push(e));
        const first = event(c);
        await store.publishEvent(c, first);
        await waitUntil(() => received.length >= 1);
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(received).toEqual([first]);

        const history = await store.readHistory(c, '0', 10);
        expect(history.map((e) => e.event)).toEqual([first]);
        const firstId = history[0]?.id ?? '';
        expect(firstId).toBe(first.id); // the publisher's id, on every server

        const second = event(c);
        await store.publishEvent(c, second);
        await waitUntil(() => received.length >= 2);
        expect((await other.readHistory(c, firstId, 10)).map((e) => e.event)).toEqual([second]);
        expect((await store.readHistory(c, '0', 1)).map((e) => e.event)).toEqual([first]);
        const lastId = (await store.readHistory(c, '0', 10))[1]?.id ?? '';
        expect(await store.readHistory(c, lastId, 10)).toEqual([]);

        await unsubscribe();
        await store.publishEvent(c, event(c));
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(received).toHaveLength(2);
      });

      it('delivers and records events with one server down', async () => {
        const received: StampedEvent[] = [];
        const unsubscribe = await store.subscribe(c, (e) => received.push(e));
        await h.downServer(0);
        const e = event(c);
        await store.publishEvent(c, e);
        await waitUntil(() => received.length >= 1);
        expect(received).toEqual([e]);
        expect((await store.readHistory(c, '0', 10)).map((x) => x.event)).toEqual([e]);
        await unsubscribe();
      });

      it('skips an event on a server that holds a later id and says which', async () => {
        const later = event(c);
        const earlier = { ...event(c), id: '1-0' };
        await store.publishEvent(c, later);
        expect(await store.publishEvent(c, earlier)).toEqual({ laterId: later.id });
        expect((await store.readHistory(c, '0', 10)).map((x) => x.event)).toEqual([later]);
      });

      it('reads an empty history for a cluster with no events', async () => {
        expect(await store.readHistory(c, '0', 10)).toEqual([]);
      });
    });
  });
}
