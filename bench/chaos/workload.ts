/**
 * The clients of a chaos run, every acknowledged write recorded in the ledger (checks.ts Ack):
 *
 * - the pool writer: `createPool` (pgvigil/client) on the host, one INSERT every 10 ms of a
 *   unique sequence number, recording the epoch the pool believed, the server that answered
 *   (inet_server_addr/port, mapped to its node) and the WAL insert position after the row;
 * - the reader: `pool.reader` (standbys within 16 MiB of lag) every 100 ms;
 * - one node-local writer per node, INSIDE the node's network namespace and connected to that
 *   node alone (a client with a stale view that no partition cuts off): it acknowledges
 *   writes whenever its node accepts them, so two writable primaries at once show up in the
 *   ledger (check a). A child process (nsenter), its acks as JSON lines on stdout.
 *
 * Sequence numbers: the pool writer counts from 1, node writer k from k * 1e12: unique.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

import { createPool, type PgvigilPool } from '../../src/client/pool.js';
import type { NetnsPlan } from '../../src/local/netns.js';
import type { LocalSecrets, LocalState } from '../../src/local/state.js';
import type { Ack } from './checks.js';

export const now = (): number => performance.timeOrigin + performance.now();

/** '16/B374D848' -> a number (fits: 2^53 bytes of WAL is far away). */
export function lsnToNumber(lsn: string | null | undefined): number | null {
  if (!lsn) return null;
  const [hi, lo] = lsn.split('/');
  if (hi === undefined || lo === undefined) return null;
  return parseInt(hi, 16) * 2 ** 32 + parseInt(lo, 16);
}

export const TABLE = 'chaos_w';
export const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS ${TABLE} (seq bigint PRIMARY KEY, writer text NOT NULL, epoch bigint, sent_at double precision)`;
const INSERT = `INSERT INTO ${TABLE} (seq, writer, epoch, sent_at) VALUES ($1, $2, $3, $4) RETURNING inet_server_addr()::text AS addr, inet_server_port() AS port, pg_current_wal_insert_lsn()::text AS lsn`;

export interface Workload {
  acks: Ack[];
  stats: { writeErrors: number; reads: number; readErrors: number };
  stop(): Promise<void>;
}

const NODE_WRITER = `
const pg = require('pg');
const [host, port, writer, base] = process.argv.slice(1);
const now = () => globalThis.performance.timeOrigin + globalThis.performance.now();
let stop = false;
let n = 0;
process.on('SIGTERM', () => { stop = true; });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  while (!stop) {
    const c = new pg.Client({ host, port: Number(port), user: process.env.PGUSER, database: process.env.PGDATABASE,
      connectionTimeoutMillis: 500, query_timeout: 1000 });
    c.on('error', () => undefined);
    try {
      await c.connect();
      while (!stop) {
        const seq = Number(base) + ++n;
        const sendAt = now();
        try {
          const r = await c.query(${JSON.stringify(INSERT)}, [seq, writer, null, sendAt]);
          process.stdout.write(JSON.stringify({ seq, writer, sendAt, ackAt: now(), lsn: r.rows[0].lsn }) + '\\n');
          await sleep(20);
        } catch (e) {
          if (e && e.code === '25006') { await sleep(50); continue; } // a standby: read-only
          throw e;
        }
      }
    } catch (e) {
      if (process.env.CHAOS_DEBUG) process.stderr.write(writer + ': ' + e.message + '\\n');
      await sleep(50);
    } finally {
      await c.end().catch(() => undefined);
    }
  }
  process.exit(0);
})();
`;

function nodeWriter(
  state: LocalState,
  secrets: LocalSecrets,
  net: NetnsPlan,
  k: number,
  onAck: (a: Ack) => void,
): { child: ChildProcess; exited: Promise<void> } {
  const node = state.nodes[k - 1]!;
  const ns = net.members.find((m) => m.name === node.name)!.ns;
  const child = spawn(
    'nsenter',
    [
      `--net=/run/netns/${ns}`,
      '--',
      process.execPath,
      '-e',
      NODE_WRITER,
      node.host,
      String(node.port),
      `ns-${node.name}`,
      String(k * 1e12),
    ],
    {
      cwd: process.cwd(),
      env: {
        ...process.env,
        PGPASSWORD: secrets.superPassword,
        PGUSER: state.client.user,
        PGDATABASE: state.client.database,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  createInterface({ input: child.stdout! }).on('line', (l) => {
    try {
      const j = JSON.parse(l) as Omit<Ack, 'server' | 'epoch' | 'lsn'> & { lsn: string };
      onAck({ ...j, server: node.name, epoch: null, lsn: lsnToNumber(j.lsn) });
    } catch {
      // not ours
    }
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { child, exited };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startWorkload(
  state: LocalState,
  secrets: LocalSecrets,
  net: NetnsPlan,
): Promise<Workload> {
  const acks: Ack[] = [];
  const stats = { writeErrors: 0, reads: 0, readErrors: 0 };
  const byAddr = new Map(state.nodes.map((n) => [`${n.host}:${n.port}`, n.name]));
  const pool: PgvigilPool = await createPool({
    cluster: state.cluster,
    redis: state.redis,
    redisAuth: { password: secrets.redisPassword },
    user: state.client.user,
    password: secrets.superPassword,
    database: state.client.database,
    hosts: state.nodes.map((n) => ({ host: n.host, port: n.port })),
    failoverTimeoutMs: 5000,
    connectionTimeoutMillis: 1000,
    query_timeout: 2000,
    max: 4,
    read: { maxLagBytes: 16 * 1024 * 1024 },
  });
  pool.on('error', () => undefined);
  let stop = false;
  let seq = 0;
  const writer = (async () => {
    while (!stop) {
      const s = ++seq;
      const epoch = pool.topology?.epoch ?? null;
      const sendAt = now();
      try {
        const r = await pool.query<{ addr: string; port: number; lsn: string }>(INSERT, [
          s,
          'pool',
          epoch,
          sendAt,
        ]);
        const row = r.rows[0]!;
        const addr = row.addr.replace(/\/\d+$/, '');
        acks.push({
          seq: s,
          writer: 'pool',
          server: byAddr.get(`${addr}:${row.port}`) ?? `${addr}:${row.port}`,
          epoch,
          sendAt,
          ackAt: now(),
          lsn: lsnToNumber(row.lsn),
        });
      } catch {
        stats.writeErrors++; // not acknowledged: outcome unknown or refused, never counted
      }
      await sleep(10);
    }
  })();
  const reader = (async () => {
    while (!stop) {
      try {
        await pool.reader!.query(`SELECT max(seq) FROM ${TABLE}`);
        stats.reads++;
      } catch {
        stats.readErrors++;
      }
      await sleep(100);
    }
  })();
  const children = state.nodes.map((_, i) =>
    nodeWriter(state, secrets, net, i + 1, (a) => acks.push(a)),
  );
  return {
    acks,
    stats,
    stop: async () => {
      stop = true;
      for (const c of children) c.child.kill('SIGTERM');
      await Promise.all([
        writer,
        reader,
        ...children.map((c) => Promise.race([c.exited, sleep(3000)])),
      ]);
      for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
      await pool.end();
    },
  };
}
