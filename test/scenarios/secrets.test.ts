/**
 * No secret leaks (DESIGN.md, "Configuration"): a local cluster with Redis AUTH (the `local up`
 * default) and an API token goes through a failover (SIGKILL of the primary, then its agent
 * rejoins it) and a switchover back (POST /switchover with the token, then the old primary
 * rejoins). Meanwhile every process's argv is sampled from /proc. Afterwards the superuser
 * password, the replication password, the Redis password and the API token must appear in
 * none of: the argv samples, the sentinel and agent logs (`<dir>/logs`), the PostgreSQL and
 * Redis logs, the events (history stream, subscription, GET /events), the answers of GET
 * /topology, /status, /events, /health, /metrics (sentinels) and the agents' read routes,
 * state.json and pgvigil.yaml. And every file that holds one is 0600 in a 0700 directory.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RedisCoordinationStore } from '../../src/adapters/redis/store.js';
import { CoordinationUnavailable } from '../../src/core/errors.js';
import { localKill } from '../../src/local/cluster.js';
import {
  eventually,
  type LocalHandle,
  sleep,
  startLocal,
  waitForPrimary,
} from '../helpers/local.js';

const run = promisify(execFile);

/** Where a secret was found: `[place, secret name]`. */
type Finding = [string, string];

let h: LocalHandle;
let token = '';
let secrets: Record<string, string> = {};
const findings: Finding[] = [];

function check(place: string, text: string): void {
  for (const [name, value] of Object.entries(secrets))
    if (text.includes(value)) findings.push([place, name]);
}

/** argv of every process on the host, read from /proc every 100 ms until stopped. */
function sampleArgv(): { stop: () => Promise<number> } {
  let running = true;
  let samples = 0;
  const seen = new Set<string>();
  const done = (async () => {
    while (running) {
      for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
        let args: string;
        try {
          args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
        } catch {
          continue; // gone meanwhile
        }
        if (seen.has(args)) continue;
        seen.add(args);
        check(`argv of pid ${pid}: ${args.slice(0, 80)}`, args);
      }
      samples++;
      await sleep(100);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return samples;
    },
  };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : [],
  );
}

const mode = (p: string): string => (statSync(p).mode & 0o777).toString(8);

async function get(url: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  return `${res.status} ${await res.text()}`;
}

async function rejoined(node: string, after: number): Promise<true | undefined> {
  return h.events.some((e, i) => i >= after && e.type === 'node-rejoined' && e.node === node)
    ? true
    : undefined;
}

describe('secrets stay out of logs, argv, events and API answers', () => {
  beforeAll(async () => {
    h = await startLocal({ nodes: 2, sentinels: 3, token: true });
    token = readFileSync(h.state.tokenFile!, 'utf8').trim();
    secrets = {
      'superuser password': h.secrets.superPassword,
      'replication password': h.secrets.replPassword,
      'Redis password': h.secrets.redisPassword,
      'API token': token,
    };
  });
  afterAll(async () => {
    await h?.down();
  });

  it('every file with a secret is 0600 in a 0700 directory; state.json and the config hold none', () => {
    const { dir } = h.state;
    expect(mode(dir)).toBe('700');
    for (const f of [h.state.secretsFile, h.state.pgpassFile, h.state.tokenFile!])
      expect([f, mode(f)]).toEqual([f, '600']);
    expect(mode(join(dir, 'state.json'))).toBe('600');
    for (const r of h.state.redisServers) {
      expect(mode(join(dir, r.name))).toBe('700');
      expect(mode(join(dir, r.name, 'redis.conf'))).toBe('600');
    }
    check('state.json', readFileSync(join(dir, 'state.json'), 'utf8'));
    check('pgvigil.yaml', readFileSync(h.state.config, 'utf8'));
    for (const n of h.state.nodes)
      expect(n.url).toBe(`postgres://postgres@127.0.0.1:${n.port}/postgres`);
    expect(findings).toEqual([]);
  });

  it('psql connects to the printed URL with PGPASSFILE (what the demo prints)', async () => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, PGPASSFILE: h.state.pgpassFile };
    const { stdout } = await run('psql', [h.state.nodes[0]!.url, '-Atc', 'SELECT 42'], { env });
    expect(stdout.trim()).toBe('42');
  });

  it('Redis requires AUTH: a store without the password gets NOAUTH, named per server', async () => {
    const store = new RedisCoordinationStore({
      urls: h.state.redis,
      prefix: 'pgvigil',
      commandTimeoutMs: 500,
    });
    try {
      await store.ready(1000);
      const err = await store.readTopology(h.state.cluster).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CoordinationUnavailable);
      expect((err as Error).message).toContain(`${h.state.redis[0]}: not connected: NOAUTH`);
    } finally {
      await store.close();
    }
  });

  it('failover, rejoin, switchover, rejoin: no secret anywhere', async () => {
    expect(Object.values(secrets).every((v) => v.length >= 16)).toBe(true);
    const argv = sampleArgv();
    let samples = 0;
    let apiAnswers = 0;
    try {
      // failover: SIGKILL the primary, pg2 takes over, pg1's agent rejoins it
      let from = h.events.length;
      await localKill({ dir: h.state.dir, name: 'pg1', signal: 'KILL' });
      await waitForPrimary(h, 'pg2', 30_000);
      await eventually(() => rejoined('pg1', from), 60_000, 200);

      // switchover back to pg1 with the token; pg2 rejoins as its standby
      from = h.events.length;
      const deadline = Date.now() + 60_000;
      let answer: { status: number; body: string };
      for (;;) {
        const res = await fetch(`${h.state.api}/switchover`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ to: 'pg1' }),
          signal: AbortSignal.timeout(60_000),
        });
        answer = { status: res.status, body: await res.text() };
        if (answer.status !== 409 || Date.now() > deadline) break;
        await sleep(500); // pg1 not streaming yet
      }
      check('POST /switchover answer', answer.body);
      expect(answer.status, answer.body).toBe(200);
      await waitForPrimary(h, 'pg1', 30_000);
      await eventually(() => rejoined('pg2', from), 60_000, 200);
    } finally {
      samples = await argv.stop();
    }
    expect(samples).toBeGreaterThan(10);

    // the API answers, of every sentinel and every agent
    const auth = { authorization: `Bearer ${token}` };
    const cluster = `cluster=${h.state.cluster}`;
    const sentinelPaths = [
      '/topology',
      '/status',
      `/events?${cluster}&count=1000`,
      '/health',
      '/metrics',
    ];
    const answers = [
      ...h.state.sentinels.flatMap((s) => sentinelPaths.map((p) => [s.id, `${s.api}${p}`])),
      ...(h.state.agents ?? []).flatMap((a) =>
        ['/health', '/status', '/primary', '/replica'].map((p) => [
          `agent-${a.node}`,
          `${a.api}${p}`,
        ]),
      ),
    ];
    for (const [who, url] of answers) check(`GET ${who} ${url}`, await get(url!, auth));
    apiAnswers = answers.length;

    // every event: the history stream and what the subscription delivered
    const history = await h.store.readHistory(h.state.cluster, '0', 10_000);
    expect(history.map((e) => e.event.type)).toEqual(
      expect.arrayContaining(['failover-completed', 'switchover-completed', 'node-rejoined']),
    );
    for (const { id, event } of history) check(`event ${id} ${event.type}`, JSON.stringify(event));
    for (const e of h.events) check(`subscribed event ${e.type}`, JSON.stringify(e));

    // every log: sentinels and agents, PostgreSQL, Redis
    const logs = [
      ...filesUnder(join(h.state.dir, 'logs')),
      ...readdirSync(h.state.dataRoot)
        .filter((f) => f.endsWith('.log'))
        .map((f) => join(h.state.dataRoot, f)),
      ...h.state.redisServers.flatMap((r) =>
        ['redis.log', 'redis.out'].map((f) => join(h.state.dir, r.name, f)),
      ),
    ];
    expect(logs.filter((f) => f.endsWith('.log')).length).toBeGreaterThanOrEqual(
      h.state.sentinels.length + (h.state.agents?.length ?? 0) + h.state.nodes.length,
    );
    for (const f of logs) check(f, readFileSync(f, 'utf8'));
    check('state.json after', readFileSync(join(h.state.dir, 'state.json'), 'utf8'));

    console.log(
      `[secrets] checked ${samples} argv samples, ${logs.length} log files, ${history.length} ` +
        `history events, ${h.events.length} subscribed events, ${apiAnswers} API answers`,
    );
    expect(findings).toEqual([]);
  });
});
