import { createServer, type Server, type Socket } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  classifyTimeout,
  MIN_CHECK_BUDGET_MS,
  type ReadOnlyAnswer,
  readOnlyCheck,
} from '../../../../src/adapters/postgres/stuck.js';

const base = { budgetMs: 500, message: 'query: Query read timeout' };
const answering = (a: ReadOnlyAnswer) => {
  const calls: number[] = [];
  return { calls, check: (ms: number) => (calls.push(ms), Promise.resolve(a)) };
};

describe('classifyTimeout: a hung heartbeat', () => {
  it('is write-failed when a fresh connection answers as a primary', async () => {
    const { calls, check } = answering('primary');
    const r = await classifyTimeout({ ...base, heartbeat: true, check });
    expect(r.failure).toBe('write-failed');
    expect(r.message).toMatch(/cannot commit/);
    expect(calls).toEqual([500]); // the check gets what is left of the budget
  });

  it('stays a timeout when the fresh connection gets no answer (unreachable, SIGSTOP)', async () => {
    const { check } = answering('no-answer');
    expect((await classifyTimeout({ ...base, heartbeat: true, check })).failure).toBe('timeout');
  });

  it('stays a timeout when the check throws', async () => {
    const check = () => Promise.reject(new Error('connect ETIMEDOUT'));
    expect((await classifyTimeout({ ...base, heartbeat: true, check })).failure).toBe('timeout');
  });

  it('stays a timeout when the node answers as a standby', async () => {
    const { check } = answering('standby');
    expect((await classifyTimeout({ ...base, heartbeat: true, check })).failure).toBe('timeout');
  });

  it('does not check a probe without a heartbeat (a standby timing out)', async () => {
    const { calls, check } = answering('primary');
    const r = await classifyTimeout({ ...base, heartbeat: false, check });
    expect(r).toEqual({ failure: 'timeout', message: base.message });
    expect(calls).toEqual([]);
  });

  it('does not check when the probe budget is spent (no tick longer than a probe)', async () => {
    const { calls, check } = answering('primary');
    const r = await classifyTimeout({
      ...base,
      budgetMs: MIN_CHECK_BUDGET_MS - 1,
      heartbeat: true,
      check,
    });
    expect(r.failure).toBe('timeout');
    expect(calls).toEqual([]);
  });
});

describe('readOnlyCheck', () => {
  // accepts TCP connections and never answers: a stopped or wedged postmaster
  let server: Server;
  const sockets: Socket[] = [];
  let port = 0;
  beforeAll(async () => {
    server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });

  it('gives no-answer within its budget from a server that never answers', async () => {
    const params = {
      host: '127.0.0.1',
      port,
      user: 'u',
      password: 'p',
      database: 'd',
      applicationName: 'test',
      connectTimeoutMs: 5000,
      queryTimeoutMs: 5000,
    };
    const t0 = performance.now();
    expect(await readOnlyCheck(params, 200)).toBe('no-answer');
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
