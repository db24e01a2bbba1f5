/**
 * One throwaway `redis-server` process on loopback, for the embedded cluster (`pgvigil local
 * up`) and the tests.
 *
 * - Everything is on the command line but the password: no RDB snapshots (`--save ''`), an
 *   append-only file only with `persist` (the local cluster's servers), bound to 127.0.0.1, its log in `<dir>/redis.log`. With a password,
 *   `requirepass` goes into `<dir>/redis.conf` (0600, the dir 0700), never into argv, which
 *   anyone on the host can read with `ps`.
 * - Detached in its own process group and unref'd: a parent that dies (a CLI that exits, a
 *   crashed test worker) does not take it down by accident; `stop()` or the recorded PID does.
 * - `startRedisServer` returns only once the server answers PING, and fails with the tail of
 *   its log otherwise, so "it did not start" always says why.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

import { nsExec } from '../adapters/process/index.js';
import { UserError } from '../core/errors.js';
import { freePort } from './free-port.js';

const LOOPBACK = '127.0.0.1';
const READY_TIMEOUT_MS = 5_000;
const STOP_GRACE_MS = 2_000;
const PORT_ATTEMPTS = 3;

export interface RedisServerOptions {
  /** working directory: log, pid file and stdout/stderr capture go here (created if missing) */
  dir: string;
  /** default: a free port */
  port?: number;
  /** used in messages only (`redis-1`) */
  name?: string;
  /** more `--option value` arguments */
  extraArgs?: string[];
  /** AUTH password of the `default` user (requirepass), written to `<dir>/redis.conf` */
  password?: string;
  /** bind and be reached on this address (default 127.0.0.1) */
  host?: string;
  /** run inside this network namespace (`local up --netns`; needs root) */
  netns?: string;
  /**
   * persist to an append-only file in `dir` (`appendonly yes`, `appendfsync everysec`: at most
   * about one second of writes lost on a crash of the machine, none on a crash of the process)
   */
  persist?: boolean;
  /** TLS only: `--port 0`, `--tls-port`, this certificate; clients verify it against `ca` */
  tls?: { cert: string; key: string; ca: string } | undefined;
  readyTimeoutMs?: number;
}

export interface RedisServerHandle {
  name: string;
  url: string;
  host: string;
  port: number;
  pid: number;
  dir: string;
  logFile: string;
  /** SIGTERM (plus SIGCONT, in case it was SIGSTOPped), SIGKILL after 2 s; resolves once gone */
  stop(): Promise<void>;
}

const CANDIDATE_DIRS = ['/usr/bin', '/usr/local/bin', '/usr/sbin', '/opt/homebrew/bin'];

/** Path of the redis-server binary (`PGVIGIL_REDIS_SERVER` overrides the search). */
export function findRedisServer(): string {
  const override = process.env.PGVIGIL_REDIS_SERVER;
  if (override) {
    if (isExecutable(override)) return override;
    throw new UserError(`redis-server not found at PGVIGIL_REDIS_SERVER=${override}`);
  }
  const dirs = [
    ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean),
    ...CANDIDATE_DIRS,
  ];
  for (const dir of dirs) {
    const candidate = path.join(dir, 'redis-server');
    if (isExecutable(candidate)) return candidate;
  }
  throw new UserError('redis-server not found: apt-get install -y redis-server');
}

export async function startRedisServer(options: RedisServerOptions): Promise<RedisServerHandle> {
  const binary = findRedisServer();
  const dir = path.resolve(options.dir);
  fs.mkdirSync(dir, { recursive: true });
  // A port we picked ourselves may be taken by someone else before redis binds it: retry.
  const attempts = options.port === undefined ? PORT_ATTEMPTS : 1;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const port = options.port ?? (await freePort(LOOPBACK));
    try {
      return await startOnce(binary, dir, port, options);
    } catch (err) {
      lastError = err;
      if (!(err instanceof PortInUse)) throw err;
    }
  }
  throw lastError;
}

class PortInUse extends Error {}

async function startOnce(
  binary: string,
  dir: string,
  port: number,
  options: RedisServerOptions,
): Promise<RedisServerHandle> {
  const name = options.name ?? `redis-${port}`;
  const HOST = options.host ?? LOOPBACK;
  const persist = options.persist
    ? ['--appendonly', 'yes', '--appendfsync', 'everysec']
    : ['--appendonly', 'no'];
  const logFile = path.join(dir, 'redis.log');
  const outFile = path.join(dir, 'redis.out');
  // prettier-ignore
  const args = [
    ...(options.password === undefined ? [] : [writeAuthConf(dir, options.password)]),
    ...portArgs(port, options.tls),
    '--bind', HOST,
    '--save', '',
    ...persist,
    '--dir', dir,
    '--daemonize', 'no',
    '--logfile', logFile,
    '--pidfile', path.join(dir, 'redis.pid'),
    ...(options.extraArgs ?? []),
  ];
  // stdout/stderr to a file, not a pipe: a config error is printed there before the log
  // opens, and a pipe would break (SIGPIPE) once the parent is gone.
  const out = fs.openSync(outFile, 'a');
  let child;
  try {
    const inNs = options.netns ? nsExec(options.netns, binary, args) : null;
    child = spawn(inNs?.cmd ?? binary, inNs?.args ?? args, {
      cwd: dir,
      detached: true,
      stdio: ['ignore', out, out],
    });
  } finally {
    fs.closeSync(out);
  }
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  let exitCode: number | string | null | undefined;
  child.once('exit', (code, signal) => {
    exitCode = code ?? signal;
  });
  child.unref();

  const pid = child.pid;
  if (pid === undefined) {
    throw new Error(`${name}: could not spawn ${binary}: ${(await spawnError).message}`);
  }

  const gone = (): boolean => exitCode !== undefined || !pidExists(pid);
  const stop = async (): Promise<void> => {
    if (gone()) return;
    signal(pid, 'SIGTERM');
    signal(pid, 'SIGCONT');
    if (await waitFor(gone, STOP_GRACE_MS)) return;
    signal(pid, 'SIGKILL');
    await waitFor(gone, STOP_GRACE_MS);
  };

  const timeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exitCode !== undefined) break;
    if (await ping(HOST, port, 500, options.password, options.tls?.ca)) {
      const url = `${options.tls ? 'rediss' : 'redis'}://${HOST}:${port}`;
      return { name, url, host: HOST, port, pid, dir, logFile, stop };
    }
    await sleep(25);
  }

  const exited = exitCode !== undefined;
  await stop();
  const tail = [tailOf(outFile), tailOf(logFile)].filter(Boolean).join('\n');
  const why = exited
    ? `exited (${String(exitCode)})`
    : `did not answer PING within ${timeoutMs} ms`;
  const message = `${name} (redis-server on ${HOST}:${port}, dir ${dir}) ${why}; log tail:\n${tail || '(empty)'}`;
  if (/address already in use/i.test(tail)) throw new PortInUse(message);
  throw new Error(message);
}

/**
 * The config file redis-server reads first (its only argument that is not an `--option`):
 * just the password, 0600 in a 0700 dir. Redis config strings take double quotes with `\`
 * escapes.
 */
function writeAuthConf(dir: string, password: string): string {
  fs.chmodSync(dir, 0o700);
  const file = path.join(dir, 'redis.conf');
  const quoted = `"${password.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  fs.writeFileSync(file, `requirepass ${quoted}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return file;
}

/** A RESP array of bulk strings (the form every command takes). */
function resp(...parts: string[]): string {
  return `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`;
}

/** Plain: `--port`. TLS: the plain port off, the TLS port with its files (client certificates optional). */
function portArgs(port: number, tls: RedisServerOptions['tls']): string[] {
  if (!tls) return ['--port', String(port)];
  // prettier-ignore
  return [
    '--port', '0',
    '--tls-port', String(port),
    '--tls-cert-file', tls.cert,
    '--tls-key-file', tls.key,
    '--tls-ca-cert-file', tls.ca,
    '--tls-auth-clients', 'optional',
  ];
}

/** AUTH (when a password is set), then PING, over a raw (or TLS) socket: true on +PONG. */
function ping(
  host: string,
  port: number,
  timeoutMs: number,
  password?: string,
  ca?: string,
): Promise<boolean> {
  const request = (password === undefined ? '' : resp('AUTH', password)) + resp('PING');
  const lines = password === undefined ? 1 : 2;
  return new Promise<boolean>((resolve) => {
    const socket = ca
      ? tls.connect({ host, port, ca: fs.readFileSync(ca) })
      : net.createConnection({ host, port });
    let reply = '';
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once(ca ? 'secureConnect' : 'connect', () => socket.write(request));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      const got = reply.split('\r\n').slice(0, -1);
      if (got.length >= lines) finish(got[lines - 1] === '+PONG');
    });
  });
}

function tailOf(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

async function waitFor(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await sleep(20);
  }
  return true;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
