/** Patroni 3 with one etcd (v2 API), two members, PostgreSQL 15: a `SystemUnderTest`. */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { stringify } from 'yaml';

import {
  alive,
  comm,
  descendants,
  freePort,
  launch,
  onAbort,
  type RunningCluster,
  stopTree,
  type SystemUnderTest,
  waitFor,
  withConn,
} from './common.js';
import { asPostgres, PG_BIN } from './os.js';

export interface PatroniTimings {
  ttl: number;
  loop_wait: number;
  retry_timeout: number;
}

/** Patroni's defaults (patroni/config.py) and the documented minimums (ttl >= 20, loop_wait >= 1, retry_timeout >= 3). */
export const PATRONI_DEFAULT: PatroniTimings = { ttl: 30, loop_wait: 10, retry_timeout: 10 };
export const PATRONI_MIN: PatroniTimings = { ttl: 20, loop_wait: 1, retry_timeout: 3 };

function memberConfig(
  dir: string,
  name: string,
  pgPort: number,
  apiPort: number,
  etcdPort: number,
  t: PatroniTimings,
): string {
  return stringify({
    scope: 'bench',
    name,
    restapi: { listen: `127.0.0.1:${apiPort}`, connect_address: `127.0.0.1:${apiPort}` },
    etcd: { host: `127.0.0.1:${etcdPort}` },
    bootstrap: {
      dcs: { ...t, maximum_lag_on_failover: 1048576, postgresql: { use_pg_rewind: false } },
      initdb: [{ encoding: 'UTF8' }],
      pg_hba: [
        'local all all trust',
        'host all all 127.0.0.1/32 trust',
        'host replication all 127.0.0.1/32 trust',
      ],
    },
    postgresql: {
      listen: `127.0.0.1:${pgPort}`,
      connect_address: `127.0.0.1:${pgPort}`,
      data_dir: join(dir, name),
      bin_dir: PG_BIN,
      pgpass: join(dir, `${name}.pgpass`),
      authentication: {
        superuser: { username: 'postgres', password: 'bench' },
        replication: { username: 'replicator', password: 'bench' },
      },
      parameters: { unix_socket_directories: dir },
    },
  });
}

function postmasterPid(dataDir: string): number | null {
  try {
    return Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return null;
  }
}

export function patroni(profile: string, t: PatroniTimings): SystemUnderTest {
  return {
    system: 'Patroni 3.0.2 + etcd 3.4',
    profile,
    settings: `ttl ${t.ttl}, loop_wait ${t.loop_wait}, retry_timeout ${t.retry_timeout}`,
    async start(dir): Promise<RunningCluster> {
      const [etcdPort, peerPort, p1, p2, a1, a2] = await Promise.all(
        Array.from({ length: 6 }, () => freePort()),
      );
      const etcd = launch(
        'etcd',
        [
          '--name=e1',
          `--data-dir=${join(dir, 'etcd')}`,
          `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
          `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
          `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
          `--initial-cluster=e1=http://127.0.0.1:${peerPort}`,
          '--enable-v2=true',
        ],
        join(dir, 'etcd.log'),
      );
      const members: { name: string; port: number; proc: ChildProcess }[] = [];
      // Patroni's postmaster is not its child (reparented to init): kill it by postmaster.pid.
      const killPostmasters = (): void => {
        for (const m of members) {
          const pm = postmasterPid(join(dir, m.name));
          if (pm && alive(pm)) process.kill(pm, 'SIGKILL');
        }
      };
      const dropAbort = onAbort(killPostmasters);
      const cluster: RunningCluster = {
        ports: [p1!, p2!],
        conn: { host: '127.0.0.1', user: 'postgres', password: 'bench', database: 'postgres' },
        haPids: () => [
          ...(etcd.pid ? [etcd.pid] : []),
          ...members.flatMap((m) => patroniPids(m.proc)),
        ],
        async crash(primaryPort) {
          const m = members.find((x) => x.port === primaryPort)!;
          const agents = patroniPids(m.proc);
          const pm = postmasterPid(join(dir, m.name));
          for (const pid of [...agents, ...(pm ? [pm] : [])]) process.kill(pid, 'SIGKILL');
          return `SIGKILL patroni (pid ${agents.join(',')}) and postmaster (pid ${pm}) of ${m.name}`;
        },
        async teardown() {
          await Promise.all(members.map((m) => stopTree(m.proc.pid, 15_000)));
          killPostmasters();
          await stopTree(etcd.pid);
          dropAbort();
        },
      };
      try {
        await waitFor('etcd', 15_000, async () => {
          const r = await fetch(`http://127.0.0.1:${etcdPort}/version`);
          return r.ok;
        });
        const pairs: [number, number][] = [
          [p1!, a1!],
          [p2!, a2!],
        ];
        for (const [i, [port, api]] of pairs.entries()) {
          const name = `pg${i + 1}`;
          const file = join(dir, `${name}.yml`);
          writeFileSync(file, memberConfig(dir, name, port, api, etcdPort!, t));
          const [cmd, args] = asPostgres('patroni', [file]);
          members.push({ name, port, proc: launch(cmd, args, join(dir, `${name}.log`)) });
          // pg1 bootstraps; pg2 starts only once pg1 leads (no race for the initialize key).
          await waitFor(`${name} running`, 60_000, async () => {
            const r = await fetch(`http://127.0.0.1:${api}/health`);
            return r.ok;
          });
        }
        await waitFor('pg2 streaming', 60_000, () =>
          withConn(cluster, p1!, 1000, async (db) => {
            const r = await db.query("SELECT 1 FROM pg_stat_replication WHERE state = 'streaming'");
            return r.rowCount === 1;
          }),
        );
      } catch (err) {
        await cluster.teardown();
        throw err;
      }
      return cluster;
    },
  };
}

/** The patroni processes under the launcher (runuser forks; python's comm is `patroni`). */
function patroniPids(proc: ChildProcess): number[] {
  if (!proc.pid) return [];
  return descendants(proc.pid).filter((p) => comm(p) === 'patroni');
}
