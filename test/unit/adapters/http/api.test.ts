/**
 * The admin API (fastify inject): authentication, body validation, and the intent path
 * (claim on a majority, wait for the leader's result) against FakeCoordinationStore with a
 * fake leader that answers intents the way IntentRunner does.
 */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';

import {
  buildSentinelApi,
  type IntentOp,
  type SentinelApiDeps,
} from '../../../../src/adapters/http/api.js';
import {
  type IntentRecord,
  type IntentResultRecord,
  RECORDS,
} from '../../../../src/ports/records.js';
import { RESULT_TTL_MS, submitIntent } from '../../../../src/runtime/sentinel/intent-client.js';
import { FakeCoordinationStore } from '../../../fakes/coordination.js';

const TOKEN = 's3cret';
const auth = { authorization: `Bearer ${TOKEN}` };

/** Answers the pending intent after `delayMs`, as the leader's IntentRunner would. */
function fakeLeader(
  store: FakeCoordinationStore,
  delayMs: number,
): { seen: IntentRecord[]; stop(): void } {
  const seen: IntentRecord[] = [];
  let running = true;
  void (async () => {
    while (running) {
      const { name, schema } = RECORDS.intent;
      const rec = (await store.getRecord('c1', name, schema).catch(() => null))?.value;
      if (rec && !seen.some((s) => s.id === rec.id)) {
        seen.push(rec);
        await new Promise((r) => setTimeout(r, delayMs));
        const answer: IntentResultRecord = {
          id: rec.id,
          atWall: Date.now(),
          code: 200,
          body: { status: 'success', message: 'Switchover completado exitosamente', to: rec.to },
        };
        const result = RECORDS.intentResult(rec.id);
        await store.putRecord('c1', result.name, answer, RESULT_TTL_MS, result.schema);
        await store.deleteRecord('c1', name, rec.id);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return { seen, stop: () => void (running = false) };
}

function api(store: FakeCoordinationStore, overrides: Partial<SentinelApiDeps> = {}) {
  const handler =
    (op: IntentOp) => (cluster: string, body: { to?: string }, meta: { requestedBy: string }) =>
      submitIntent(
        store,
        cluster,
        { op, to: body.to, requestedBy: meta.requestedBy },
        { timeoutMs: 2000, pollMs: 10 },
      );
  return buildSentinelApi({
    host: '127.0.0.1',
    port: 8088,
    token: TOKEN,
    registry: new Registry(),
    clusters: ['c1'],
    health: () => ({ ok: true }),
    topology: async () => ({ epoch: 3, primary: 'pg1' }),
    status: async () => ({ ok: true }),
    events: async () => [],
    intents: {
      failover: handler('failover'),
      failback: handler('failback'),
      switchover: handler('switchover'),
    },
    ...overrides,
  });
}

const stops: (() => void)[] = [];
afterEach(() => {
  for (const s of stops.splice(0)) s();
});

describe('admin API: authentication', () => {
  it('refuses a POST without a token (401)', async () => {
    const res = await api(new FakeCoordinationStore()).inject({ method: 'POST', url: '/failover' });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ status: 'error', message: expect.stringMatching(/bearer token/) });
  });

  it('refuses a wrong token (401)', async () => {
    const res = await api(new FakeCoordinationStore()).inject({
      method: 'POST',
      url: '/switchover',
      headers: { authorization: 'Bearer nope' },
      payload: { to: 'pg2' },
    });
    expect(res.statusCode).toBe(401);
  });

  it('GET routes need no token', async () => {
    const app = api(new FakeCoordinationStore());
    for (const url of ['/', '/topology', '/health', '/status', '/events?since=0', '/metrics'])
      expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    const root = (
      await app.inject({ method: 'GET', url: '/', headers: { host: 'h:8088' } })
    ).json();
    expect(root.Comandos).toMatchObject({
      Failover: 'curl -X POST http://h:8088/failover',
      Failback: 'curl -X POST http://h:8088/failback',
    });
  });
});

describe('admin API: body validation (400)', () => {
  const bad: { name: string; url: string; payload: string; says: RegExp }[] = [
    { name: 'malformed JSON', url: '/switchover', payload: '{"to": ', says: /malformed JSON body/ },
    {
      name: 'missing to',
      url: '/switchover',
      payload: '{}',
      says: /POST \/switchover: to is missing: expected \{"to": "<node>"\}/,
    },
    {
      name: 'to not a string',
      url: '/switchover',
      payload: '{"to": 2}',
      says: /POST \/switchover: to: .*expected/,
    },
    {
      name: 'empty to',
      url: '/switchover',
      payload: '{"to": ""}',
      says: /to: must be a node name/,
    },
    {
      name: 'unknown field',
      url: '/switchover',
      payload: '{"to": "pg2", "force": true}',
      says: /unknown field force/,
    },
    {
      name: 'unknown field on failback',
      url: '/failback',
      payload: '{"to": "pg2"}',
      says: /POST \/failback: unknown field to: expected no body/,
    },
    { name: 'an array body', url: '/failover', payload: '[]', says: /must be a JSON object/ },
  ];
  for (const c of bad) {
    it(c.name, async () => {
      const res = await api(new FakeCoordinationStore()).inject({
        method: 'POST',
        url: c.url,
        headers: { ...auth, 'content-type': 'application/json' },
        payload: c.payload,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({ status: 'error', message: expect.stringMatching(c.says) });
    });
  }
});

describe('admin API: intents', () => {
  it('a switchover is recorded and answered with the leader result', async () => {
    const store = new FakeCoordinationStore();
    const leader = fakeLeader(store, 20);
    stops.push(leader.stop);
    const res = await api(store).inject({
      method: 'POST',
      url: '/switchover',
      headers: auth,
      payload: { to: 'pg2' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'success',
      message: 'Switchover completado exitosamente',
      to: 'pg2',
    });
    expect(leader.seen).toMatchObject([
      { op: 'switchover', to: 'pg2', requestedBy: expect.stringMatching(/^api /) },
    ]);
  });

  it('POST /failover without a body (the Fase2 curl) is accepted', async () => {
    const store = new FakeCoordinationStore();
    const leader = fakeLeader(store, 5);
    stops.push(leader.stop);
    const res = await api(store).inject({ method: 'POST', url: '/failover', headers: auth });
    expect(res.statusCode).toBe(200);
    expect(leader.seen[0]).toMatchObject({ op: 'failover' });
    expect(leader.seen[0]?.to).toBeUndefined();
  });

  it('two concurrent mutating calls: one runs, the other gets 409', async () => {
    const store = new FakeCoordinationStore({ servers: 3 });
    const leader = fakeLeader(store, 200);
    stops.push(leader.stop);
    const app = api(store);
    const [a, b] = await Promise.all([
      app.inject({ method: 'POST', url: '/switchover', headers: auth, payload: { to: 'pg2' } }),
      app.inject({ method: 'POST', url: '/failback', headers: auth }),
    ]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 409]);
    const loser = a.statusCode === 409 ? a : b;
    expect(loser.json().message).toMatch(
      /^another operation is in progress: (switchover to pg2|failback) requested by api /,
    );
    expect(leader.seen).toHaveLength(1);
  });

  it('no coordination majority: 503', async () => {
    const store = new FakeCoordinationStore({ servers: 3 });
    store.down(0);
    store.down(1);
    const res = await api(store).inject({
      method: 'POST',
      url: '/switchover',
      headers: auth,
      payload: { to: 'pg2' },
    });
    expect(res.statusCode).toBe(503);
    expect(res.json().message).toMatch(/^no coordination majority/);
  });

  it('no leader answers in time: 504, and the intent is withdrawn', async () => {
    const store = new FakeCoordinationStore();
    const res = await submitIntent(
      store,
      'c1',
      { op: 'failback', requestedBy: 't' },
      { timeoutMs: 100, pollMs: 10 },
    );
    expect(res.code).toBe(504);
    expect(res.body.message).toMatch(/no answer from the leader within 0.1 s/);
    expect((await store.getRecord('c1', RECORDS.intent.name)).value).toBeNull();
  });

  it('a route without a handler answers 501', async () => {
    const res = await api(new FakeCoordinationStore(), { intents: {} }).inject({
      method: 'POST',
      url: '/failback',
      headers: auth,
    });
    expect(res.statusCode).toBe(501);
  });
});
