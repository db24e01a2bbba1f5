/**
 * Local PostgreSQL nodes for `pgvigil local up`, the demo and the integration tests: initdb a
 * primary, pg_basebackup standbys, and inject faults by signal. Starting and stopping a node
 * is the agent's process control (src/adapters/process/pg-ctl.ts).
 *
 * Every server-side program runs as the data directory's owner (`postgres` when we are root).
 * Passwords travel through files (initdb --pwfile) or the environment (PGPASSWORD), never argv.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import pg from 'pg';

import { conninfo, lit, SCHEMA_SQL } from '../adapters/postgres/sql.js';
import { libpqTlsEnv, libpqTlsParams, pgSslOptions } from '../adapters/postgres/tls.js';
import {
  confLine,
  defaultRunAs,
  findPgBinaries,
  isLive,
  lastLines,
  nodeProcesses,
  own,
  portAnswers,
  procState,
  readPostmasterPid,
  type RunAs,
  runPg,
  signalPids,
  startNode,
  stopNode,
  type StopTarget,
  writeNodeSettings,
} from '../adapters/process/index.js';
import { UserError } from '../core/errors.js';
import type { PgTls } from '../core/tls.js';
import { clientTls, type LocalTls, serverSslSettings, TLS_HBA } from './tls-certs.js';

export interface LocalNode {
  name: string;
  host: string;
  port: number;
  dataDir: string;
  logFile: string;
  /** postmaster PID (postmaster.pid line 1) at the time this value was made */
  pid: number;
  /**
   * postgres://postgres:PW@127.0.0.1:PORT/postgres (no password when it was not given): for
   * the integration tests' own connections, in memory only. state.json records `nodeUrl(port)`.
   */
  url: string;
}

/** What stopNode/signalNode need: cluster state files carry at least this. */
export type NodeRef = StopTarget;

export interface InitPrimaryOptions {
  dir: string;
  name: string;
  port: number;
  superPassword: string;
  replPassword: string;
  replUser?: string;
  /** one physical slot per standby, named after it */
  standbys?: string[];
  /** extra postgresql.conf settings, over the defaults below */
  settings?: Record<string, string>;
  runAs?: RunAs;
  /** listen and be reached on this address (default 127.0.0.1) */
  host?: string;
  /** run inside this network namespace (`local up --netns`) */
  netns?: string;
  /** ssl=on, hostssl lines with clientcert=verify-full, our sessions with a client certificate */
  tls?: LocalTls | undefined;
  /** initdb --waldir: pg_wal a symlink to this (absolute, absent or empty) directory */
  walDir?: string | undefined;
}

export interface InitStandbyOptions {
  dir: string;
  name: string;
  port: number;
  primary: { host: string; port: number };
  replUser?: string;
  replPassword: string;
  slot?: string;
  /** the primary's superuser password (the standby is a copy): only for `url` */
  superPassword?: string;
  runAs?: RunAs;
  /** listen and be reached on this address (default 127.0.0.1) */
  host?: string;
  /** run inside this network namespace (`local up --netns`) */
  netns?: string;
  /** the primary's TLS (pg_basebackup, primary_conninfo and our check use the replication user's certificate) */
  tls?: LocalTls | undefined;
}

const HOST = '127.0.0.1';
export const SUPERUSER = 'postgres';
export const SUPERUSER_DATABASE = 'postgres';
const STREAMING_TIMEOUT_MS = 30_000;

/** Rule 2 needs evidence from an idle primary: short sender timeout, 1 s receiver status. */
const DEFAULT_SETTINGS: Record<string, string> = {
  listen_addresses: HOST,
  wal_level: 'replica',
  max_wal_senders: '10',
  max_replication_slots: '10',
  wal_log_hints: 'on',
  hot_standby: 'on',
  hot_standby_feedback: 'on',
  wal_keep_size: '256MB',
  max_slot_wal_keep_size: '1GB', // as the sentinel keeps it (replication.maxSlotWalKeepSize)
  wal_sender_timeout: '2s',
  wal_receiver_status_interval: '1s',
  wal_receiver_timeout: '5s',
  shared_buffers: '32MB',
  max_connections: '50',
  logging_collector: 'off',
};

const HBA = `local all all scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
host replication all 127.0.0.1/32 scram-sha-256
`;
/** `--netns`: the members' link-local addresses (169.254.0.0/16, only on harness interfaces) */
const HBA_NETNS = `host all all 169.254.0.0/16 scram-sha-256
host replication all 169.254.0.0/16 scram-sha-256
`;

function makeDataDir(dir: string, runAs: RunAs | undefined): void {
  if (existsSync(dir) && readdirSync(dir).length > 0)
    throw new UserError(`${dir} is not empty: remove it or pick another directory`);
  mkdirSync(dirname(dir), { recursive: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  own(dir, runAs);
}

/** Socket paths are limited to ~107 bytes: a `sockets` dir beside the data dir when short enough. */
function socketDir(dir: string, port: number, runAs: RunAs | undefined): string {
  const sock = join(dirname(dir), 'sockets');
  if (`${sock}/.s.PGSQL.${port}.lock`.length > 100) {
    throw new UserError(
      `${dir} is too deep for a unix socket path (over 100 bytes): use a shorter directory`,
    );
  }
  if (!existsSync(sock)) {
    mkdirSync(sock, { mode: 0o700 });
    own(sock, runAs);
  }
  return sock;
}

/** The superuser's URL of a local node; without `password`, one that is safe to print. */
export function nodeUrl(port: number, password?: string, host = HOST): string {
  const auth = password === undefined ? SUPERUSER : `${SUPERUSER}:${encodeURIComponent(password)}`;
  return `postgres://${auth}@${host}:${port}/${SUPERUSER_DATABASE}`;
}

/**
 * Fault injection. KILL: the postmaster only (a crash; its children notice and exit).
 * STOP/CONT: the postmaster and all its processes (a hung host: with only the postmaster
 * stopped, sessions and the walsender go on and nothing looks hung). Others: the postmaster.
 */
export async function signalNode(
  node: NodeRef,
  signal: 'KILL' | 'STOP' | 'CONT' | 'TERM' | 'INT' | 'QUIT' | 'HUP',
): Promise<void> {
  const pid = readPostmasterPid(node.dataDir) ?? node.pid;
  if (signal === 'STOP') {
    if (!isLive(pid)) throw new UserError(`${node.name} is not running (postmaster pid ${pid})`);
    // the postmaster first, so that it forks no child we would miss
    signalPids([pid], 'SIGSTOP');
    signalPids(nodeProcesses(node.dataDir, pid), 'SIGSTOP');
    await settle(() => nodeProcesses(node.dataDir, pid).every((p) => procState(p) === 'T'));
    return;
  }
  if (signal === 'CONT') {
    signalPids(nodeProcesses(node.dataDir, pid).reverse(), 'SIGCONT');
    await settle(() => nodeProcesses(node.dataDir, pid).every((p) => procState(p) !== 'T'));
    return;
  }
  if (!isLive(pid)) throw new UserError(`${node.name} is not running (postmaster pid ${pid})`);
  process.kill(pid, `SIG${signal}`);
  if (signal === 'KILL') await settle(() => !isLive(pid));
}

/** Signals are delivered asynchronously: wait (briefly) until their effect shows in /proc. */
async function settle(done: () => boolean, timeoutMs = 1000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !done() && Date.now() < deadline;) await sleep(5);
}

async function sql<T>(
  host: string,
  port: number,
  user: string,
  password: string,
  tls: PgTls | undefined,
  fn: (c: pg.Client) => Promise<T>,
): Promise<T> {
  const c = new pg.Client({
    host,
    port,
    user,
    password,
    database: 'postgres',
    connectionTimeoutMillis: 5000,
    ssl: pgSslOptions(tls, host),
  });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function initdb(o: InitPrimaryOptions, runAs: RunAs | undefined): Promise<void> {
  const pwfile = join(dirname(o.dir), `.${o.name}.pwfile`);
  writeFileSync(pwfile, o.superPassword + '\n', { mode: 0o600 });
  own(pwfile, runAs);
  try {
    const args = ['-D', o.dir, '-U', SUPERUSER, '--auth=scram-sha-256', `--pwfile=${pwfile}`];
    args.push(
      '--encoding=UTF8',
      '--locale=C',
      '--data-checksums',
      '--no-sync',
      '--no-instructions',
    );
    if (o.walDir !== undefined) args.push(`--waldir=${o.walDir}`);
    const r = await runPg('initdb', args, { runAs, cwd: dirname(o.dir), netns: o.netns });
    if (r.code !== 0)
      throw new UserError(`initdb of ${o.name} in ${o.dir} failed: ${lastLines(r.output)}`);
  } finally {
    rmSync(pwfile, { force: true });
  }
}

/** Start a freshly initialised data dir (log beside it) and describe it. */
async function startNew(o: {
  name: string;
  dir: string;
  port: number;
  superPassword?: string | undefined;
  host?: string | undefined;
  netns?: string | undefined;
}): Promise<LocalNode> {
  const logFile = join(dirname(o.dir), `${o.name}.log`);
  const pid = await startNode({
    name: o.name,
    dataDir: o.dir,
    port: o.port,
    logFile,
    netns: o.netns,
  });
  const host = o.host ?? HOST;
  return {
    name: o.name,
    host,
    port: o.port,
    dataDir: o.dir,
    logFile,
    pid,
    url: nodeUrl(o.port, o.superPassword, host),
  };
}

export async function initPrimary(o: InitPrimaryOptions): Promise<LocalNode> {
  findPgBinaries();
  const runAs = o.runAs ?? defaultRunAs();
  const replUser = o.replUser ?? 'replicator';
  if (await portAnswers(o.port))
    throw new UserError(
      `port ${o.port} on ${HOST} is already in use: pick another port for ${o.name}`,
    );
  makeDataDir(o.dir, runAs);
  await initdb(o, runAs);
  const host = o.host ?? HOST;
  const settings = {
    ...DEFAULT_SETTINGS,
    listen_addresses: host,
    port: String(o.port),
    unix_socket_directories: socketDir(o.dir, o.port, runAs),
    ...(o.tls ? serverSslSettings(o.tls) : {}),
    ...o.settings,
  };
  const conf = Object.entries(settings)
    .map(([k, v]) => confLine(k, v))
    .join('');
  writeFileSync(join(o.dir, 'postgresql.conf'), `\n# pgvigil local\n${conf}`, { flag: 'a' });
  writeFileSync(join(o.dir, 'pg_hba.conf'), (o.tls ? TLS_HBA : HBA) + (o.netns ? HBA_NETNS : ''));
  const node = await startNew(o);
  const tls = o.tls && clientTls(o.tls, SUPERUSER);
  try {
    await sql(host, o.port, SUPERUSER, o.superPassword, tls, async (c) => {
      const role = pg.escapeIdentifier(replUser);
      await c.query(`CREATE ROLE ${role} LOGIN REPLICATION PASSWORD ${lit(o.replPassword)}`);
      // lets the replication role read pg_stat_wal_receiver (initStandby's readiness check)
      await c.query(`GRANT pg_read_all_stats TO ${role}`);
      for (const s of o.standbys ?? [])
        await c.query(`SELECT pg_create_physical_replication_slot(${lit(s)}, true)`);
      await c.query(SCHEMA_SQL);
    });
  } catch (err) {
    await stopNode(node, 'immediate').catch(() => undefined);
    throw new UserError(`setting up primary ${o.name} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return node;
}

export async function initStandby(o: InitStandbyOptions): Promise<LocalNode> {
  findPgBinaries();
  const runAs = o.runAs ?? defaultRunAs();
  const replUser = o.replUser ?? 'replicator';
  const from = `${o.primary.host}:${o.primary.port}`;
  const tls = o.tls && clientTls(o.tls, replUser);
  if (await portAnswers(o.port))
    throw new UserError(
      `port ${o.port} on ${HOST} is already in use: pick another port for ${o.name}`,
    );
  makeDataDir(o.dir, runAs);
  const args = [
    '-h',
    o.primary.host,
    '-p',
    String(o.primary.port),
    '-U',
    replUser,
    '-D',
    o.dir,
    '-X',
    'stream',
    '-c',
    'fast',
    '--no-sync',
  ];
  if (o.slot) args.push('-S', o.slot);
  const r = await runPg('pg_basebackup', args, {
    runAs,
    cwd: dirname(o.dir),
    env: { PGPASSWORD: o.replPassword, ...libpqTlsEnv(tls) },
    netns: o.netns,
  });
  if (r.code !== 0)
    throw new UserError(`pg_basebackup of ${o.name} from ${from} failed: ${lastLines(r.output)}`);
  const primaryConninfo = conninfo({
    host: o.primary.host,
    port: o.primary.port,
    user: replUser,
    password: o.replPassword,
    application_name: o.name,
    ...libpqTlsParams(tls),
  });
  writeNodeSettings(
    o.dir,
    {
      port: String(o.port),
      ...(o.host ? { listen_addresses: o.host } : {}),
      unix_socket_directories: socketDir(o.dir, o.port, runAs),
      primary_conninfo: primaryConninfo,
      ...(o.slot ? { primary_slot_name: o.slot } : {}),
    },
    runAs,
  );
  writeFileSync(join(o.dir, 'standby.signal'), '');
  own(join(o.dir, 'standby.signal'), runAs);
  const node = await startNew(o);
  const { logFile } = node;
  try {
    await waitStreaming(o.host ?? HOST, o.port, replUser, o.replPassword, tls);
  } catch (err) {
    await stopNode(node, 'immediate').catch(() => undefined);
    throw new UserError(
      `standby ${o.name} does not stream from ${from}: ${(err as Error).message} (see ${logFile})`,
      { cause: err },
    );
  }
  return node;
}

async function waitStreaming(
  host: string,
  port: number,
  user: string,
  password: string,
  tls: PgTls | undefined,
): Promise<void> {
  const deadline = Date.now() + STREAMING_TIMEOUT_MS;
  await sql(host, port, user, password, tls, async (c) => {
    for (;;) {
      const r = await c.query<{ status: string | null }>('SELECT status FROM pg_stat_wal_receiver');
      if (r.rows[0]?.status === 'streaming') return;
      if (Date.now() > deadline)
        throw new Error(`no streaming WAL receiver after ${STREAMING_TIMEOUT_MS / 1000}s`);
      await sleep(100);
    }
  });
}
