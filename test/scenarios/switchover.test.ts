/**
 * Rule 7 on real processes (3 nodes with their agents, 3 sentinels, Redis): a switchover
 * pg1 -> pg2 through the admin API under a steady writer (the public client, one INSERT every
 * 10 ms, a failed write retried with the next id) loses no acknowledged write, pg1 comes back as
 * a standby of pg2 by itself (its agent), failback returns the role to pg1, and two concurrent
 * mutating calls to two sentinels give one 200 and one 409. The API and the agents require the
 * bearer token (local up --token): an unauthenticated POST gets 401.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PgvigilClient } from '../../src/client/index.js';
import { cliEntry } from '../../src/local/cluster.js';
import {
  eventually,
  inRecovery,
  type LocalHandle,
  sleep,
  sql,
  startLocal,
  type TestNode,
} from '../helpers/local.js';

const run = promisify(execFile);

interface Ack {
  id: number;
  port: number;
  atMono: number;
}

/** One INSERT every 10 ms through the client; errors are not acknowledged, the next id is used. */
async function startWriter(h: LocalHandle) {
  const { user, password, database } = h.node('pg1').conn;
  const client = await PgvigilClient.connect({
    redis: h.state.redis,
    redisAuth: { password: h.secrets.redisPassword },
    cluster: h.state.cluster,
    pg: { user, password, database },
    poolSize: 2,
  });
  await client.query('CREATE TABLE IF NOT EXISTS w (id bigint PRIMARY KEY)');
  const acked: Ack[] = [];
  let failed = 0;
  let running = true;
  let nextId =
    1 +
    Number(
      (await client.query<{ m: string }>('SELECT coalesce(max(id), 0) AS m FROM w')).rows[0]!.m,
    );
  const loop = (async () => {
    while (running) {
      const id = nextId++;
      try {
        const r = await client.query<{ port: number }>(
          'INSERT INTO w(id) VALUES ($1) RETURNING inet_server_port() AS port',
          [id],
        );
        acked.push({ id, port: Number(r.rows[0]!.port), atMono: performance.now() });
      } catch {
        failed++;
      }
      await sleep(10);
    }
  })();
  return {
    acked,
    failed: () => failed,
    async stop() {
      running = false;
      await loop;
      await client.close();
    },
  };
}

/** the API bearer token of the cluster (local up --token) */
let token = '';

async function post(api: string, path: string, body?: unknown) {
  const auth = { authorization: `Bearer ${token}` };
  const res = await fetch(`${api}${path}`, {
    method: 'POST',
    ...(body === undefined
      ? { headers: auth }
      : { headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(60_000),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function missingOn(node: TestNode, ids: number[]): Promise<number[]> {
  const rows = await sql<{ id: string }>(node, 'SELECT id FROM w WHERE id = ANY($1::bigint[])', [
    ids,
  ]);
  const present = new Set(rows.map((r) => Number(r.id)));
  return ids.filter((id) => !present.has(id));
}

/** `standby` streams from `primary` (seen on the primary's pg_stat_replication). */
async function streamsFrom(
  h: LocalHandle,
  standby: string,
  primary: string,
): Promise<true | undefined> {
  if (!(await inRecovery(h.node(standby)).catch(() => false))) return undefined;
  const rows = await sql<{ n: string }>(
    h.node(primary),
    "SELECT count(*) AS n FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming'",
    [standby],
  ).catch(() => [{ n: '0' }]);
  return Number(rows[0]!.n) > 0 ? true : undefined;
}

/** Retries a POST while it answers 409 (e.g. the old primary has not rejoined yet). */
async function postWhen409(api: string, path: string, body?: unknown, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await post(api, path, body);
    if (r.status !== 409 || Date.now() > deadline) return r;
    await sleep(500);
  }
}

describe('switchover and failback (3 nodes, agents)', () => {
  let h: LocalHandle;
  beforeAll(async () => {
    h = await startLocal({ nodes: 3, sentinels: 3, token: true });
    token = readFileSync(h.state.tokenFile!, 'utf8').trim();
  });
  afterAll(async () => {
    await h?.down();
  });

  it('refuses an unauthenticated switchover (401)', async () => {
    const res = await fetch(`${h.state.api}/switchover`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to: 'pg2' }),
    });
    expect(res.status).toBe(401);
  });

  it('switchover pg1 -> pg2 under a steady writer loses no acknowledged write', async () => {
    const writer = await startWriter(h);
    try {
      await sleep(1000);
      const epochBefore = (await h.topology())!.epoch;
      const r = await post(h.state.sentinels[1]!.api, '/switchover', { to: 'pg2' });
      expect(r.body).toMatchObject({
        status: 'success',
        message: 'Switchover completado exitosamente',
        from: 'pg1',
        to: 'pg2',
        epoch: epochBefore + 1,
      });
      expect(r.status).toBe(200);
      const t = (await h.topology())!;
      expect(t).toMatchObject({ primary: 'pg2', previousPrimary: 'pg1', state: 'ok' });
      await eventually(
        async () => (writer.acked.at(-1)?.port === h.node('pg2').port ? true : undefined),
        10_000,
      );
      await sleep(500);
    } finally {
      await writer.stop();
    }
    const pg1Port = h.node('pg1').port;
    const lastOnOld = writer.acked.filter((a) => a.port === pg1Port).at(-1)!;
    const firstOnNew = writer.acked.find((a) => a.port === h.node('pg2').port)!;
    const outageMs = firstOnNew.atMono - lastOnOld.atMono;
    expect(outageMs).toBeLessThan(3000);
    expect(
      await missingOn(
        h.node('pg2'),
        writer.acked.map((a) => a.id),
      ),
    ).toEqual([]);
    const types = h.events.map((e) => e.type);
    expect(types).toContain('switchover-started');
    expect(types).toContain('switchover-completed');
    expect(types).not.toContain('failover-started');
    // the promoted target is never taken for a stray primary (its agent saw the hand-over)
    expect(types).not.toContain('node-fenced');
    // the old primary rejoins as a standby of pg2 by itself (its agent)
    await eventually(() => streamsFrom(h, 'pg1', 'pg2'), 60_000);
    await eventually(() => streamsFrom(h, 'pg3', 'pg2'), 20_000);
    expect(await inRecovery(h.node('pg2'))).toBe(false);
  });

  it('failback returns the role to pg1, still without losing a write', async () => {
    const writer = await startWriter(h);
    try {
      await sleep(500);
      const r = await postWhen409(h.state.api, '/failback');
      expect(r.body).toMatchObject({
        status: 'success',
        message: 'Failback completado exitosamente',
        from: 'pg2',
        to: 'pg1',
      });
      await eventually(
        async () => (writer.acked.at(-1)?.port === h.node('pg1').port ? true : undefined),
        10_000,
      );
    } finally {
      await writer.stop();
    }
    expect((await h.topology())!).toMatchObject({ primary: 'pg1', state: 'ok' });
    expect(
      await missingOn(
        h.node('pg1'),
        writer.acked.map((a) => a.id),
      ),
    ).toEqual([]);
    await eventually(() => streamsFrom(h, 'pg2', 'pg1'), 60_000);
  });

  it('two concurrent mutating calls to two sentinels: one 200, one 409', async () => {
    await eventually(() => streamsFrom(h, 'pg3', 'pg1'), 20_000);
    const [a, b] = await Promise.all([
      post(h.state.sentinels[0]!.api, '/switchover', { to: 'pg3' }),
      post(h.state.sentinels[2]!.api, '/switchover', { to: 'pg2' }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const loser = a.status === 409 ? a : b;
    expect(String(loser.body.message)).toMatch(
      /^another operation is in progress: switchover to pg[23]/,
    );
    expect((await h.topology())!.primary).toBe(a.status === 200 ? 'pg3' : 'pg2');
  });

  it('the CLI: failback prints the message; a refusal is one line and exit 1', async () => {
    const cli = (...args: string[]) =>
      run(process.execPath, [cliEntry(), ...args, '--config', h.state.config]);
    const bad = await cli('switchover', '--to', 'pg9').catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad).toMatchObject({ code: 1 });
    expect((bad as { stderr: string }).stderr).toMatch(
      /^pgvigil: switchover failed \(409\): unknown node pg9: cluster local has pg1, pg2, pg3\n$/,
    );
    // pg1 (the previous primary) must rejoin first: 409 until then
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = await cli('failback').catch(
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
      if (!('code' in r) || r.code === 0) {
        expect(r.stdout).toMatch(
          /^local: Failback completado exitosamente: pg[23] -> pg1, epoch \d+, \d+ ms\n$/,
        );
        break;
      }
      expect(r.stderr).toMatch(/failback failed \(409\)/);
      if (Date.now() > deadline) throw new Error(r.stderr);
      await sleep(500);
    }
    expect((await h.topology())!.primary).toBe('pg1');
  });
});
