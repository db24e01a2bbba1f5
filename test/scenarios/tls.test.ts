/**
 * TLS everywhere on real processes (`local up --tls`: a local CA, PostgreSQL with ssl=on and
 * `hostssl ... clientcert=verify-full` only, the config at sslmode verify-full with a client
 * certificate per user, Redis on TLS ports with AUTH): every session and the replication
 * stream are TLS with a client certificate; a SIGKILL failover (the old primary rejoins by
 * pg_rewind over TLS) and a switchover back still work; and a wrong CA, a wrong Redis password
 * and a missing client certificate each stop `pgvigil sentinel` / `agent` at start-up with one
 * line naming the key, exit 1, before anything is bound or published.
 */
import { execFile } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

import { PgvigilClient } from '../../src/client/index.js';
import { cliEntry, localKill } from '../../src/local/cluster.js';
import { freePort } from '../../src/local/free-port.js';
import { makeCa } from '../../src/local/tls-certs.js';
import {
  eventually,
  type LocalHandle,
  redisAuthOf,
  sql,
  startLocal,
  waitForPrimary,
} from '../helpers/local.js';

const run = promisify(execFile);
let h: LocalHandle;
let token = '';

interface SslRow {
  app: string;
  ssl: boolean;
  dn: string | null;
}

/** Every client session and walsender on `node`, with its TLS state. */
async function sessions(node: string): Promise<SslRow[]> {
  return sql<SslRow>(
    h.node(node),
    `SELECT a.application_name AS app, s.ssl, s.client_dn AS dn
       FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
      WHERE a.backend_type IN ('client backend', 'walsender') AND a.pid <> pg_backend_pid()`,
  );
}

async function rejoined(node: string, after: number): Promise<true | undefined> {
  return h.events.some((e, i) => i >= after && e.type === 'node-rejoined' && e.node === node)
    ? true
    : undefined;
}

/** `pgvigil <args>` with `env`: exit code and stderr (nothing is expected to keep running). */
async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const r = await run(process.execPath, [cliEntry(), ...args], {
      env: { ...process.env, ...env },
      timeout: 20_000,
    });
    return { code: 0, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code ?? -1, stderr: e.stderr ?? '' };
  }
}

describe('TLS: PostgreSQL verify-full with client certificates, Redis over TLS with AUTH', () => {
  beforeAll(async () => {
    h = await startLocal({ nodes: 2, sentinels: 3, tls: true, token: true, profile: 'fast' });
    token = readFileSync(h.state.tokenFile!, 'utf8').trim();
  });
  afterAll(async () => {
    await h?.down();
  });

  it('writes the TLS config; key files are 0600 in a 0700 directory', () => {
    const config = parse(readFileSync(h.state.config, 'utf8')) as {
      coordination: { redis: string[]; tls: { ca: string } };
      clusters: { tls: Record<string, string>; replication: { tls: Record<string, string> } }[];
    };
    expect(config.coordination.redis.every((u) => u.startsWith('rediss://'))).toBe(true);
    expect(config.clusters[0]!.tls.sslmode).toBe('verify-full');
    expect(config.clusters[0]!.replication.tls.cert).toMatch(/client-replicator\.crt$/);
    const { dir } = h.state.tls!;
    expect((statSync(dir).mode & 0o777).toString(8)).toBe('700');
    for (const f of ['server.key', 'client-postgres.key', 'client-replicator.key'])
      expect((statSync(join(dir, f)).mode & 0o777).toString(8)).toBe('600');
  });

  it('every session and the replication stream are TLS with a client certificate', async () => {
    await eventually(async () => {
      const rows = await sessions('pg1');
      const apps = rows.map((r) => r.app);
      const all = ['pg2', 'pgvigil-sentinel-s1', 'pgvigil-agent-pg1'];
      return all.every((a) => apps.includes(a)) ? rows : undefined;
    });
    const rows = await sessions('pg1');
    expect(rows.filter((r) => !r.ssl || r.dn === null)).toEqual([]);
    expect(rows.find((r) => r.app === 'pg2')?.dn).toBe('/CN=replicator');
    // a TCP session without a client certificate is refused by pg_hba
    const { conn } = h.node('pg1');
    const noCert = { ...conn, ssl: { ca: readFileSync(h.state.tls!.ca, 'utf8') } };
    const pg = (await import('pg')).default;
    const c = new pg.Client({ ...noCert, connectionTimeoutMillis: 3000 });
    c.on('error', () => undefined);
    await expect(c.connect()).rejects.toThrow(/client certificate/);
  });

  it('the client follows the topology over TLS', async () => {
    const { user, password, database } = h.node('pg1').conn;
    const client = await PgvigilClient.connect({
      redis: h.state.redis,
      redisAuth: redisAuthOf(h.state, h.secrets),
      cluster: h.state.cluster,
      pg: { user, password, database, tls: h.state.tls!.superuser },
      poolSize: 1,
    });
    try {
      const r = await client.query<{ ssl: boolean }>(
        'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
      );
      expect(r.rows[0]!.ssl).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('SIGKILL failover, rejoin over TLS, then a switchover back', async () => {
    await sql(h.node('pg1'), 'CREATE TABLE t (id int PRIMARY KEY)');
    await sql(h.node('pg1'), 'INSERT INTO t SELECT generate_series(1, 100)');
    let from = h.events.length;
    await localKill({ dir: h.state.dir, name: 'pg1', signal: 'KILL' });
    await waitForPrimary(h, 'pg2', 30_000);
    await eventually(() => rejoined('pg1', from), 60_000, 200);
    await eventually(async () => {
      const rows = await sessions('pg2').catch(() => []);
      const s = rows.find((r) => r.app === 'pg1');
      return s?.ssl && s.dn === '/CN=replicator' ? true : undefined;
    }, 30_000);

    from = h.events.length;
    const res = await fetch(`${h.state.api}/switchover`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to: 'pg1' }),
      signal: AbortSignal.timeout(60_000),
    });
    expect(res.status).toBe(200);
    await waitForPrimary(h, 'pg1', 30_000);
    await eventually(() => rejoined('pg2', from), 60_000, 200);
    const [row] = await sql<{ n: string }>(h.node('pg1'), 'SELECT count(*) AS n FROM t');
    expect(Number(row!.n)).toBe(100);
  });

  it('a wrong CA, a wrong Redis password, a missing client certificate: one line, exit 1', async () => {
    const config = h.state.config;
    const wrong = await makeCa(h.state.dir, 'wrong-ca');
    const raw = parse(readFileSync(config, 'utf8')) as {
      clusters: { tls: Record<string, string> }[];
      sentinel?: { peers?: string[] };
    };
    // the extra sentinel `bad` is outside the configured set: without `peers` its config is
    // valid, so what stops it is the preflight under test
    delete raw.sentinel?.peers;
    const open = join(h.state.dir, 'no-peers.yaml');
    writeFileSync(open, stringify(raw));
    delete raw.clusters[0]!.tls.cert;
    delete raw.clusters[0]!.tls.key;
    const noCert = join(h.state.dir, 'no-client-cert.yaml');
    writeFileSync(noCert, stringify(raw));
    const port = String(await freePort('127.0.0.1'));
    const sentinel = ['sentinel', '--config', open, '--id', 'bad', '--api-port', port];
    const cases = [
      {
        args: sentinel,
        env: { PGVIGIL_CLUSTERS__LOCAL__TLS__CA: wrong.cert },
        line: /^pgvigil: clusters\[0\]\.tls\.ca: the certificate of pg\d .* is not signed by the CA in .*wrong-ca\.crt/,
      },
      {
        args: ['agent', '--config', config, '--node', 'pg2'],
        env: { PGVIGIL_COORDINATION__PASSWORD: 'not-the-password' },
        line: /^pgvigil: coordination\.password: rediss:\/\/127\.0\.0\.1:\d+ refused AUTH/,
      },
      {
        args: ['sentinel', '--config', noCert, '--id', 'bad', '--api-port', port],
        env: {},
        line: /^pgvigil: clusters\[0\]\.tls\.cert: pg\d .* requires a client certificate/,
      },
    ];
    for (const c of cases) {
      const r = await cli(c.args, c.env);
      const lines = r.stderr.trim().split('\n');
      expect({ code: r.code, lines: lines.length, line: lines[0] }).toMatchObject({
        code: 1,
        lines: 1,
      });
      expect(lines[0]).toMatch(c.line);
    }
    // nothing was published: the sentinel `bad` never registered
    const presence = await h.store.readPresence(h.state.cluster);
    expect((presence.value ?? []).map((p) => p.id)).not.toContain('bad');
  });
});
