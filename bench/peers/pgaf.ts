/** pg_auto_failover 2.0: a monitor and two pg_autoctl nodes, PostgreSQL 15: a `SystemUnderTest`. */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  comm,
  descendants,
  freePort,
  launch,
  type RunningCluster,
  stopTree,
  type SystemUnderTest,
  waitFor,
  withConn,
} from './common.js';
import { asPostgres, handToPostgres, PG_BIN } from './os.js';

/** Monitor GUCs (`pgautofailover.*`, milliseconds / count); empty = the extension's defaults. */
export type PgafSettings = Record<string, number>;

/** Defaults: health_check_period 5000, timeout 5000, max_retries 2, retry_delay 2000, node_considered_unhealthy_timeout 20000, primary_demote_timeout 30000. */
export const PGAF_DEFAULT: PgafSettings = {};
export const PGAF_FAST: PgafSettings = {
  health_check_period: 100,
  health_check_timeout: 100,
  health_check_max_retries: 1,
  health_check_retry_delay: 100,
  node_considered_unhealthy_timeout: 1000,
  primary_demote_timeout: 1000,
};

function postmasterPid(dataDir: string): number | null {
  try {
    return Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return null;
  }
}

const autoctlPids = (p: ChildProcess): number[] =>
  p.pid ? descendants(p.pid).filter((x) => comm(x) === 'pg_autoctl') : [];

export function pgaf(profile: string, settings: PgafSettings): SystemUnderTest {
  const keys = Object.entries(settings);
  return {
    system: 'pg_auto_failover 2.0',
    profile,
    settings: keys.length
      ? keys.map(([k, v]) => `${k} ${v}`).join(', ')
      : 'health_check_period 5 s, node_considered_unhealthy_timeout 20 s, primary_demote_timeout 30 s',
    async start(dir): Promise<RunningCluster> {
      const xdg = join(dir, 'xdg');
      mkdirSync(xdg);
      handToPostgres(xdg);
      const env = {
        ...process.env,
        PATH: `${PG_BIN}:${process.env.PATH ?? ''}`,
        HOME: dir,
        XDG_CONFIG_HOME: xdg,
        XDG_DATA_HOME: xdg,
        XDG_RUNTIME_DIR: xdg,
      };
      const [mPort, p1, p2] = await Promise.all([freePort(), freePort(), freePort()]);
      const procs: { name: string; port: number; proc: ChildProcess }[] = [];
      const common = ['--hostname', '127.0.0.1', '--auth', 'trust', '--no-ssl', '--run'];
      const startNode = (name: string, port: number, kind: string[]): void => {
        const [cmd, args] = asPostgres('pg_autoctl', [
          'create',
          ...kind,
          '--pgdata',
          join(dir, name),
          '--pgport',
          String(port),
          '--pgctl',
          join(PG_BIN, 'pg_ctl'),
          ...common,
        ]);
        procs.push({ name, port, proc: launch(cmd, args, join(dir, `${name}.log`), env) });
      };
      const cluster: RunningCluster = {
        ports: [p1!, p2!],
        conn: { host: '127.0.0.1', user: 'postgres', database: 'postgres' },
        haPids: () =>
          procs.flatMap((p) =>
            p.name === 'monitor' && p.proc.pid ? descendants(p.proc.pid) : autoctlPids(p.proc),
          ),
        async crash(primaryPort) {
          const n = procs.find((x) => x.port === primaryPort)!;
          const agents = autoctlPids(n.proc);
          const pm = postmasterPid(join(dir, n.name));
          for (const pid of [...agents, ...(pm ? [pm] : [])]) process.kill(pid, 'SIGKILL');
          return `SIGKILL pg_autoctl (pids ${agents.join(',')}) and postmaster (pid ${pm}) of ${n.name}`;
        },
        async teardown() {
          for (const p of [...procs].reverse()) await stopTree(p.proc.pid, 10_000);
        },
      };
      const monitorDb = { ...cluster, conn: { ...cluster.conn, database: 'pg_auto_failover' } };
      try {
        startNode('monitor', mPort!, ['monitor']);
        await waitFor('the monitor', 90_000, () =>
          withConn(monitorDb, mPort!, 1000, async (db) => {
            await db.query('SELECT 1 FROM pgautofailover.node LIMIT 1');
            return true;
          }),
        );
        if (keys.length)
          await withConn(monitorDb, mPort!, 2000, async (db) => {
            for (const [k, v] of keys)
              await db.query(`ALTER SYSTEM SET pgautofailover.${k} = ${Number(v)}`);
            await db.query('SELECT pg_reload_conf()');
          });
        const monitorUri = `postgres://autoctl_node@127.0.0.1:${mPort}/pg_auto_failover?sslmode=disable`;
        const states = (): Promise<string[]> =>
          withConn(monitorDb, mPort!, 1000, async (db) => {
            const r = await db.query<{ s: string }>(
              "SELECT reportedstate || '/' || goalstate AS s FROM pgautofailover.node ORDER BY nodeid",
            );
            return r.rows.map((x) => x.s);
          });
        startNode('n1', p1!, ['postgres', '--monitor', monitorUri]);
        await waitFor('n1 single', 90_000, async () => (await states())[0] === 'single/single');
        startNode('n2', p2!, ['postgres', '--monitor', monitorUri]);
        await waitFor('n1 primary, n2 secondary', 120_000, async () => {
          const s = await states();
          return s[0] === 'primary/primary' && s[1] === 'secondary/secondary';
        });
      } catch (err) {
        await cluster.teardown();
        throw err;
      }
      return cluster;
    },
  };
}
