import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';

import { buildSentinelApi } from '../../../../src/adapters/http/api.js';

function app(backups?: Parameters<typeof buildSentinelApi>[0]['backups']) {
  return buildSentinelApi({
    host: '127.0.0.1',
    port: 8088,
    token: 't0k',
    registry: new Registry(),
    clusters: ['c1'],
    health: () => ({ ok: true }),
    topology: async () => ({}),
    status: async () => ({}),
    events: async () => [],
    ...(backups ? { backups } : {}),
  });
}

describe('GET/POST /backups', () => {
  let running = false;
  const started: string[] = [];
  const api = {
    list: async (c: string) => ({
      cluster: c,
      records: { 'backup:completo:2026-12-02': { status: 'ok' } },
    }),
    start: async (_c: string, type: 'full' | 'incr' | 'diff') => {
      if (running) return { busy: 'a full backup of c1 is running: wait for it to finish' };
      running = true;
      started.push(type);
      return { started: true as const };
    },
  };
  const auth = { authorization: 'Bearer t0k', 'content-type': 'application/json' };

  it('lists the records', async () => {
    const r = await app(api).inject({ method: 'GET', url: '/backups' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({
      cluster: 'c1',
      records: { 'backup:completo:2026-12-02': { status: 'ok' } },
    });
  });
  it('POST needs the token, a known type; 200 then 409 while one runs', async () => {
    const a = app(api);
    expect(
      (await a.inject({ method: 'POST', url: '/backups', payload: { type: 'full' } })).statusCode,
    ).toBe(401);
    const bad = await a.inject({
      method: 'POST',
      url: '/backups',
      headers: auth,
      payload: { type: 'weekly' },
    });
    expect(bad.statusCode).toBe(400);
    expect(started).toEqual([]);
    expect(
      (
        await a.inject({
          method: 'POST',
          url: '/backups',
          headers: auth,
          payload: { type: 'full' },
        })
      ).statusCode,
    ).toBe(200);
    const busy = await a.inject({
      method: 'POST',
      url: '/backups',
      headers: auth,
      payload: { type: 'incr' },
    });
    expect(busy.statusCode).toBe(409);
    expect(busy.json()).toMatchObject({
      status: 'error',
      message: expect.stringMatching(/running/),
    });
    expect(started).toEqual(['full']);
  });
  it('501 when backups are not configured', async () => {
    expect((await app().inject({ method: 'GET', url: '/backups' })).statusCode).toBe(501);
  });
});
