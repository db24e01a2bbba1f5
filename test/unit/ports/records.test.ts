/**
 * The record schemas (src/ports/records.ts): each accepts what its writer writes (values from
 * the real writers where they are cheap to run, else from the test builders), keeps the fields
 * it does not know, and handles garbage by the safe-side rules of the majority engine
 * (src/adapters/redis/majority.ts): an unreadable topology, vote or record copy is absent, an
 * unreadable pause record means paused, an unreadable event is dropped.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';

import { createLogger } from '../../../src/adapters/logging/logger.js';
import { keys } from '../../../src/adapters/redis/keys.js';
import {
  parseEvent,
  parsePause,
  parseTopology,
  pickRecord,
  pickTopology,
} from '../../../src/adapters/redis/majority.js';
import { MajorityStore } from '../../../src/adapters/redis/majority-store.js';
import type { Verdict } from '../../../src/core/agent/model.js';
import { decide } from '../../../src/core/decide.js';
import type { PgvigilEvent, StampedEvent } from '../../../src/core/events.js';
import { nextTopology, settleTopology } from '../../../src/core/failover/topology.js';
import type {
  NodeView,
  PauseState,
  SentinelPresence,
  Topology,
  TopologyNode,
  Vote,
} from '../../../src/core/model.js';
import { switchingTopology } from '../../../src/core/switchover/topology.js';
import { nodeViews, presenceView } from '../../../src/core/views.js';
import type { StopResult } from '../../../src/ports/agent-control.js';
import type { CoordinationStore } from '../../../src/ports/coordination.js';
import {
  type IntentRecord,
  type IntentResultRecord,
  type IntentResultRecordSchema,
  type NodeViewSchema,
  type PauseStateSchema,
  RECORDS,
  SentinelPresenceSchema,
  type StampedEventSchema,
  StopResultSchema,
  type StoredRecord,
  StoredRecordSchema,
  type TopologyNodeSchema,
  TopologySchema,
  UNREADABLE_PAUSE,
  VerdictSchema,
  VoteSchema,
} from '../../../src/ports/records.js';
import { EventBus } from '../../../src/runtime/events.js';
import { errorReply, submitIntent } from '../../../src/runtime/sentinel/intent-client.js';
import { Throttle } from '../../../src/runtime/sentinel/throttle.js';
import { VerdictPublisher } from '../../../src/runtime/sentinel/verdict.js';
import {
  aCluster,
  aClusterConfig,
  aTiming,
  aTopology,
  aVote,
  NOW_WALL,
} from '../../builders/index.js';
import { FakeServer } from '../../fakes/coordination-server.js';

/** A type without its open index signature (what a loose object adds), all the way down. */
type KnownKeys<T> = keyof {
  [K in keyof T as string extends K ? never : number extends K ? never : K]: 0;
};
type Known<T> = T extends readonly (infer U)[]
  ? Known<U>[]
  : T extends object
    ? [KnownKeys<T>] extends [never]
      ? { [k: string]: Known<T[keyof T]> } // a plain record (Record<string, X>)
      : { [K in keyof T as string extends K ? never : number extends K ? never : K]: Known<T[K]> }
    : T;
type Decoded<S extends z.ZodType> = Known<z.output<S>>;

const json = (value: unknown): string => JSON.stringify(value);
const roundTrip = <T>(schema: z.ZodType<T>, value: unknown): T =>
  schema.parse(JSON.parse(json(value)));
const log = createLogger({ level: 'silent', process: 's1', role: 'sentinel' });
const clock = { mono: () => 1_000, wall: () => NOW_WALL };

describe('the schemas decode exactly the TypeScript types their code uses', () => {
  it('field for field, both ways (compile-time)', () => {
    expectTypeOf<Decoded<typeof TopologySchema>>().toEqualTypeOf<Known<Topology>>();
    expectTypeOf<Decoded<typeof TopologyNodeSchema>>().toEqualTypeOf<Known<TopologyNode>>();
    expectTypeOf<Decoded<typeof VoteSchema>>().toEqualTypeOf<Known<Vote>>();
    expectTypeOf<Decoded<typeof NodeViewSchema>>().toEqualTypeOf<Known<NodeView>>();
    expectTypeOf<Decoded<typeof SentinelPresenceSchema>>().toEqualTypeOf<Known<SentinelPresence>>();
    expectTypeOf<Decoded<typeof PauseStateSchema>>().toEqualTypeOf<Known<PauseState>>();
    expectTypeOf<Decoded<typeof StoredRecordSchema>>().toEqualTypeOf<Known<StoredRecord>>();
    expectTypeOf<Decoded<typeof RECORDS.intent.schema>>().toEqualTypeOf<Known<IntentRecord>>();
    expectTypeOf<Decoded<typeof IntentResultRecordSchema>>().toEqualTypeOf<
      Known<IntentResultRecord>
    >();
    expectTypeOf<Decoded<typeof VerdictSchema>>().toEqualTypeOf<Known<Verdict>>();
    expectTypeOf<z.output<typeof StopResultSchema>>().toEqualTypeOf<StopResult>();
    // every event the code can emit fits the envelope
    expectTypeOf<StampedEvent>().toExtend<Known<z.input<typeof StampedEventSchema>>>();
  });
});

describe('each schema accepts what its writer writes', () => {
  it('topology: the builder, a failover, a settle and a switchover (unknown fields kept)', () => {
    const t = aTopology({ previousPrimary: 'pg0', lastFailoverWall: NOW_WALL, committedBy: 's1' });
    const failed = nextTopology(aTopology(), 'pg2', NOW_WALL, 'primary-odown', 's1');
    const written = [
      aTopology(),
      t,
      failed,
      settleTopology(failed, { nowWall: NOW_WALL, state: 'degraded', reason: 'x' }),
      switchingTopology(aTopology(), 'pg3', NOW_WALL, 's1', 'switchover requested'),
      aTopology({ state: 'failing-over', nodes: [] }),
    ];
    for (const value of written) expect(roundTrip(TopologySchema, value)).toEqual(value);
    const newer = { ...t, witness: { name: 'w1' }, nodes: [{ ...t.nodes[0], zone: 'a' }] };
    expect(parseTopology(json(newer))).toEqual(newer);
  });

  it('vote and presence, as the cluster loop builds them', () => {
    for (const vote of [aVote().build(), aVote().up().at(NOW_WALL).build()])
      expect(roundTrip(VoteSchema, vote)).toEqual(vote);
    const input = aCluster().withPrimaryDown().build();
    const view = presenceView(nodeViews(input.cluster.nodes, input.topology, input.health));
    const presence: SentinelPresence = {
      id: 's1',
      api: null,
      leader: true,
      atWall: NOW_WALL,
      tilt: false,
      version: '0.1.0',
      view,
    };
    expect(roundTrip(SentinelPresenceSchema, presence)).toEqual(presence);
    expect(
      roundTrip(SentinelPresenceSchema, { ...presence, api: 'http://s1:8088', view: undefined }),
    ).toMatchObject({ api: 'http://s1:8088' });
  });

  it('pause, as `pgvigil pause`/`resume` write it', () => {
    for (const state of [
      { paused: true, by: 'alice@host', atWall: NOW_WALL, reason: 'maintenance' },
      { paused: false, by: 'alice@host', atWall: NOW_WALL },
    ])
      expect(parsePause(json(state))).toEqual(state);
  });

  it("verdict, as the leader's VerdictPublisher writes it", async () => {
    const written: { name: string; value: unknown }[] = [];
    const store = {
      putRecord: async (_c: string, name: string, value: unknown) => {
        written.push({ name, value });
      },
    };
    const input = aCluster().build();
    const publisher = new VerdictPublisher(
      { cluster: aClusterConfig(), timing: aTiming(), sentinelId: 's1', clock, log, store },
      new Throttle(clock),
    );
    await publisher.publish(aTopology(), decide(input));
    expect(written.map((w) => w.name)).toEqual(['verdict']);
    const value = written[0]?.value;
    expect(roundTrip(VerdictSchema, value)).toEqual(value);
  });

  it('intent and intent result, as submitIntent and the IntentRunner write them', async () => {
    let claimed: unknown;
    const store = {
      claimRecord: async (_c: string, name: string, value: unknown) => {
        expect(name).toBe(RECORDS.intent.name);
        claimed = value;
        return false; // someone else holds it: 409 without waiting
      },
      getRecord: async () => ({ value: null, answered: 3, total: 3 }),
    } as unknown as CoordinationStore;
    const request = { op: 'switchover' as const, to: 'pg2', requestedBy: 'alice' };
    expect((await submitIntent(store, 'c1', request, { timeoutMs: 1000 })).code).toBe(409);
    expect(roundTrip(RECORDS.intent.schema, claimed)).toEqual(claimed);
    const schema = RECORDS.intentResult('i1').schema;
    const success = {
      id: 'i1',
      atWall: NOW_WALL,
      code: 200,
      body: { status: 'success', message: 'ok', epoch: 8, from: 'pg1', to: 'pg2', durationMs: 900 },
    };
    for (const result of [success, { id: 'i1', atWall: NOW_WALL, ...errorReply(409, 'no') }])
      expect(roundTrip(schema, result)).toEqual(result);
  });

  it('events, as the event function stamps them', async () => {
    const published: StampedEvent[] = [];
    const bus = new EventBus({ publishEvent: async (_c, e) => void published.push(e) }, log);
    const events: PgvigilEvent[] = [
      { type: 'node-down', cluster: 'c1', epoch: 7, node: 'pg1', sentinel: 's1', reason: 'x' },
      { type: 'topology-changed', cluster: 'c1', epoch: 7, topology: aTopology() },
      { type: 'resumed', cluster: 'c1', epoch: 0, by: 'op' },
    ];
    for (const e of events) await bus.emit(e);
    for (const e of published) expect(parseEvent(json(e))).toEqual(e);
  });

  it("the agent's /stop reply, as its API sends it", () => {
    const sent = {
      status: 'success',
      checkpointLsn: 50_331_688,
      checkpointLsnText: '0/3000028',
      timeline: 2,
    };
    expect(StopResultSchema.parse(sent)).toEqual({
      checkpointLsn: 50_331_688,
      checkpointLsnText: '0/3000028',
      timeline: 2,
    });
    // lenient on what is only for messages
    expect(StopResultSchema.parse({ checkpointLsn: 8, timeline: null })).toEqual({
      checkpointLsn: 8,
      checkpointLsnText: '8',
    });
    expect(StopResultSchema.parse({ checkpointLsn: 8, checkpointLsnText: 8 })).toEqual({
      checkpointLsn: 8,
      checkpointLsnText: '8',
    });
  });
});

describe('garbage, by the safe-side rules', () => {
  const topology = aTopology();

  it('an unreadable topology is absent, and does not outbid a readable one', () => {
    const garbage = [
      'not json',
      '[]',
      json({ epoch: 9 }),
      json({ ...topology, epoch: -1 }),
      json({ ...topology, epoch: 8.5 }),
      json({ ...topology, epoch: '8' }),
      json({ ...topology, primary: 1 }),
      json({ ...topology, state: 'exploded' }),
      json({ ...topology, nodes: [{ ...topology.nodes[0], role: 'leader' }] }),
      json({ ...topology, nodes: [{ ...topology.nodes[0], port: 0 }] }),
      json({ ...topology, syncStandbys: 'pg2' }),
    ];
    for (const raw of garbage) expect(parseTopology(raw), raw).toBeNull();
    const higher = json({ ...topology, epoch: topology.epoch + 1, primary: null });
    expect(pickTopology([json(topology), higher, null].map(parseTopology))).toEqual(topology);
  });

  it('an unreadable pause record means paused; a missing one is no record', () => {
    for (const raw of ['{', json({ paused: 'no' }), json({ paused: false, atWall: 'now' }), '"x"'])
      expect(parsePause(raw), raw).toEqual(UNREADABLE_PAUSE);
    expect(UNREADABLE_PAUSE).toEqual({ paused: true, reason: 'unreadable pause record' });
    expect(parsePause(null)).toBeNull();
  });

  it('an unreadable record copy counts as absent', () => {
    const schema = RECORDS.verdict.schema;
    const verdict: Verdict = {
      id: 'v1',
      atWall: NOW_WALL,
      epoch: 7,
      primary: 'pg1',
      kind: 'observe',
      reason: 'primary-ok',
      sinceWall: NOW_WALL,
    };
    const bad = json({ ...verdict, kind: 'promote' });
    expect(pickRecord([json(verdict), json(verdict), bad], schema)).toEqual(verdict);
    expect(pickRecord([json(verdict), bad, 'x'], schema)).toBeNull(); // 2 of 3 without it
    expect(pickRecord([json({ ...verdict, epoch: -1 }), null, null], schema)).toBeNull();
    expect(
      pickRecord([json({ id: 'r', atWall: 1, op: 'switchover' })], StoredRecordSchema),
    ).toEqual({ id: 'r', atWall: 1, op: 'switchover' });
  });

  it('an event that is not one is dropped; an event type from a newer version passes', () => {
    const base = { cluster: 'c1', epoch: 7, at: new Date(NOW_WALL).toISOString(), id: 'e1' };
    const future = { ...base, type: 'witness-joined', witness: { name: 'w1' } };
    expect(parseEvent(json(future))).toEqual(future);
    for (const bad of [
      { ...base, type: '' },
      { ...base, type: 'node-up', id: undefined },
      { ...base, type: 'node-up', epoch: -1 },
      { ...base, type: 'topology-changed', topology: { epoch: 8 } },
    ])
      expect(parseEvent(json(bad)), json(bad)).toBeNull();
    expect(parseEvent('{')).toBeNull();
  });

  it('a /stop reply without a checkpoint position is refused', () => {
    for (const body of [
      {},
      { checkpointLsn: 0 },
      { checkpointLsn: '123' },
      { checkpointLsn: null },
    ])
      expect(StopResultSchema.safeParse(body).success, json(body)).toBe(false);
  });

  it('the engine skips unreadable votes and presence, and refuses to write what readers would drop', async () => {
    const K = keys('t');
    const server = new FakeServer('fake://s0', () => NOW_WALL, false);
    const engine = new MajorityStore([server], K);
    await engine.publishVote('c1', aVote().by('s2').build(), 5000);
    await server.set(K.vote('c1', 's3'), json({ ...aVote().by('s3').build(), down: 'yes' }));
    await server.set(K.sentinel('c1', 's4'), json({ id: 's4', atWall: NOW_WALL }));
    expect((await engine.readVotes('c1')).value.map((v) => v.sentinel)).toEqual(['s2']);
    expect((await engine.readPresence('c1')).value).toEqual([]);

    const stored = (key: string) => server.get(key);
    await expect(
      engine.casTopology(
        'c1',
        0,
        { ...topology, epoch: 1, primary: 7 } as unknown as Topology,
        's1',
      ),
    ).rejects.toThrow(/refusing to write a topology that readers would reject: primary/);
    await expect(
      engine.putRecord(
        'c1',
        'verdict',
        { id: 'v', atWall: NOW_WALL } as Verdict, // a writer bug the types would not let through
        1000,
        RECORDS.verdict.schema,
      ),
    ).rejects.toThrow(/the record verdict/);
    expect(await stored(K.topology('c1'))).toBeNull();
    expect(await stored(K.record('c1', 'verdict'))).toBeNull();
  });
});

describe('record names', () => {
  it('compose the Redis keys of keys.ts', () => {
    const K = keys();
    expect(K.record('c1', RECORDS.intent.name)).toBe('pgvigil:c1:intent');
    expect(K.record('c1', RECORDS.intentResult('abc').name)).toBe('pgvigil:c1:intent-result:abc');
    expect(K.record('c1', RECORDS.verdict.name)).toBe('pgvigil:c1:verdict');
  });
});
