/**
 * The embedded local cluster: one implementation for `pgvigil local up|down|kill`, the demo and
 * the tests. A real primary (initdb) and standbys (pg_basebackup), independent Redis servers and
 * K sentinel processes, all on free loopback ports, postgres as the `postgres` OS user when root.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { stringify } from 'yaml';

import { findPgBinaries, readPostmasterPid, stopNode } from '../adapters/process/index.js';
import { UserError } from '../core/errors.js';
import { spawnAgent, stopAgents, waitForAgent } from './agents.js';
import { freePort, isPortFree } from './free-port.js';
import { DAEMON_NODE_FLAGS } from './node-flags.js';
import { initPrimary, initStandby, signalNode } from './postgres.js';
import { findRedisServer, startRedisServer } from './redis-server.js';
import {
  DEFAULT_LOCAL_DIR,
  isAlive,
  type LocalState,
  readState,
  statePath,
  writeState,
} from './state.js';

export interface LocalUpOptions {
  dir?: string;
  nodes?: number;
  sentinels?: number;
  redis?: number;
  cluster?: string;
  /** preferred API port of the first sentinel (8088 for the demo); a free one when busy or 0 */
  apiPort?: number;
  profile?: 'default' | 'fast';
  /** replication.mode of the cluster (sync: synchronous_standby_names kept by the leader) */
  replicationMode?: 'async' | 'sync';
  /** extra timing keys written into the config (tests) */
  timing?: Record<string, number>;
  progress?: (msg: string) => void;
  /** extra environment per sentinel id (tests: point one sentinel at a node through a proxy) */
  sentinelEnv?: Record<string, NodeJS.ProcessEnv>;
  /** called once PostgreSQL and Redis run, before the sentinels start (tests: set up a proxy) */
  beforeSentinels?: (nodes: { name: string; host: string; port: number }[]) => Promise<void>;
  /** start one node agent per node (default true) */
  agents?: boolean;
  /** protect the mutating API routes (sentinels and agents) with a generated bearer token */
  token?: boolean;
}

export const LOCAL_CLUSTER = 'local';
const SENTINEL_READY_MS = 30_000;

/** Package root (holds package.json), from src/local or dist/local. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('pgvigil package root not found');
    dir = up;
  }
  return dir;
}

export function cliEntry(): string {
  const cli = join(packageRoot(), 'dist', 'cli.js');
  if (!existsSync(cli)) throw new UserError(`${cli} is missing: run \`npm run build\` first`);
  return cli;
}

function secret(): string {
  return randomBytes(18).toString('base64url');
}

/**
 * When root, postgres runs as `postgres` and must pass through every parent of its data dir
 * (a checkout under /root is not): fall back to a temp dir then, recorded in state.json.
 */
function dataRootFor(dir: string): string {
  if (process.getuid?.() !== 0) return join(dir, 'data');
  for (let p = dirname(dir); ; p = dirname(p)) {
    if ((statSync(p).mode & 0o001) === 0) return mkdtempSync(join(tmpdir(), 'pgvigil-local-'));
    if (p === dirname(p)) return join(dir, 'data');
  }
}

async function pickPort(preferred: number | undefined): Promise<number> {
  if (preferred && (await isPortFree(preferred, '127.0.0.1'))) return preferred;
  return freePort('127.0.0.1');
}

export async function localUp(opts: LocalUpOptions = {}): Promise<LocalState> {
  const dir = resolve(opts.dir ?? DEFAULT_LOCAL_DIR);
  const nodeCount = opts.nodes ?? 2;
  const sentinelCount = opts.sentinels ?? 3;
  const redisCount = opts.redis ?? 1;
  const cluster = opts.cluster ?? LOCAL_CLUSTER;
  const progress = opts.progress ?? ((m: string) => process.stderr.write(`[local] ${m}\n`));
  if (nodeCount < 2)
    throw new UserError(
      `--nodes ${nodeCount}: a cluster needs at least 2 nodes (a primary and a standby)`,
    );
  if (sentinelCount < 1)
    throw new UserError(`--sentinels ${sentinelCount}: at least 1 sentinel is needed`);
  if (![1, 3, 5].includes(redisCount))
    throw new UserError(`--redis ${redisCount}: use 1, 3 or 5 independent Redis servers`);
  if (existsSync(statePath(dir))) {
    const old = readState(dir);
    const alive = [
      ...old.nodes,
      ...old.sentinels,
      ...old.redisServers,
      ...(old.agents ?? []),
    ].filter((p) => isAlive(p.pid));
    if (alive.length > 0)
      throw new UserError(
        `a local cluster is already running in ${dir}: run \`pgvigil local down --dir ${dir}\` first`,
      );
    await localDown({ dir, quiet: true });
  }
  // Fail early, before anything is created, on what is missing.
  findPgBinaries();
  findRedisServer();
  cliEntry(); // fail early when the build is missing

  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  rmSync(join(dir, 'data'), { recursive: true, force: true }); // left by a crashed run
  const dataRoot = dataRootFor(dir);
  mkdirSync(dataRoot, { recursive: true });
  chmodSync(dataRoot, 0o755);
  const started: { stop: () => Promise<void> }[] = [];
  try {
    const superPassword = secret();
    const replPassword = secret();
    const secretsFile = join(dir, 'secrets.env');
    const envKey = cluster.toUpperCase().replace(/-/g, '_');
    writeFileSync(
      secretsFile,
      `PGVIGIL_CLUSTERS__${envKey}__PASSWORD=${superPassword}\nPGVIGIL_CLUSTERS__${envKey}__REPLICATION__PASSWORD=${replPassword}\n`,
      { mode: 0o600 },
    );
    chmodSync(secretsFile, 0o600);

    const names = Array.from({ length: nodeCount }, (_, i) => `pg${i + 1}`);
    const ports: number[] = [];
    for (let i = 0; i < nodeCount; i++) ports.push(await freePort('127.0.0.1'));
    progress(`initdb primary ${names[0]} on 127.0.0.1:${ports[0]}`);
    const primary = await initPrimary({
      dir: join(dataRoot, names[0]!),
      name: names[0]!,
      port: ports[0]!,
      superPassword,
      replPassword,
      standbys: names.slice(1),
    });
    started.push({ stop: () => stopNode(primary) });
    const nodes = [primary];
    for (let i = 1; i < nodeCount; i++) {
      progress(`pg_basebackup standby ${names[i]} on 127.0.0.1:${ports[i]}`);
      const standby = await initStandby({
        dir: join(dataRoot, names[i]!),
        name: names[i]!,
        port: ports[i]!,
        primary: { host: primary.host, port: primary.port },
        replUser: 'replicator',
        replPassword,
        superPassword,
        slot: names[i]!,
      });
      started.push({ stop: () => stopNode(standby) });
      nodes.push(standby);
    }

    const redisServers: LocalState['redisServers'] = [];
    for (let i = 1; i <= redisCount; i++) {
      const redisDir = join(dir, `redis-${i}`);
      mkdirSync(redisDir, { recursive: true });
      const r = await startRedisServer({ dir: redisDir, name: `redis-${i}` });
      started.push(r);
      redisServers.push({ name: `redis-${i}`, url: r.url, port: r.port, pid: r.pid });
      progress(`redis-${i} on ${r.url}`);
    }

    const apiPorts: number[] = [];
    for (let i = 0; i < sentinelCount; i++)
      apiPorts.push(i === 0 ? await pickPort(opts.apiPort) : await freePort('127.0.0.1'));

    const withAgents = opts.agents ?? true;
    const agentApis: string[] = [];
    for (let i = 0; i < nodeCount && withAgents; i++)
      agentApis.push(`http://127.0.0.1:${await freePort('127.0.0.1')}`);
    const tokenFile = opts.token ? join(dir, 'api-token') : undefined;
    if (tokenFile) writeFileSync(tokenFile, `${secret()}\n`, { mode: 0o600 });

    const configFile = join(dir, 'pgvigil.yaml');
    const config = {
      sentinels: sentinelCount,
      secretsFile: 'secrets.env',
      coordination: { redis: redisServers.map((r) => r.url) },
      timing: { profile: opts.profile ?? 'default', ...(opts.timing ?? {}) },
      sentinel: {
        api: {
          host: '127.0.0.1',
          port: apiPorts[0],
          ...(tokenFile ? { tokenFile: 'api-token' } : {}),
        },
      },
      clusters: [
        {
          name: cluster,
          quorum: Math.floor(sentinelCount / 2) + 1,
          initialPrimary: names[0],
          ...(opts.replicationMode ? { replication: { mode: opts.replicationMode } } : {}),
          nodes: nodes.map((n, i) => ({
            name: n.name,
            host: n.host,
            port: n.port,
            dataDir: n.dataDir,
            ...(withAgents ? { agent: { url: agentApis[i] } } : {}),
          })),
        },
      ],
    };
    writeFileSync(
      configFile,
      `# written by pgvigil local up; secrets are in secrets.env (0600)\n${stringify(config)}`,
    );

    await opts.beforeSentinels?.(nodes);
    const logDir = join(dir, 'logs');
    mkdirSync(logDir, { recursive: true });
    const sentinels: LocalState['sentinels'] = [];
    for (let i = 0; i < sentinelCount; i++) {
      const id = `s${i + 1}`;
      const pid = spawnSentinel({
        config: configFile,
        id,
        apiPort: apiPorts[i]!,
        logFile: join(logDir, `${id}.log`),
        env: opts.sentinelEnv?.[id],
      });
      started.push({ stop: async () => void killQuietly(pid, 'SIGKILL') });
      sentinels.push({ id, api: `http://127.0.0.1:${apiPorts[i]}`, pid });
    }
    progress(`started ${sentinelCount} sentinels; waiting for them to publish the topology`);
    await Promise.all(sentinels.map((s) => waitForSentinel(s.api, join(logDir, `${s.id}.log`))));

    const agents: NonNullable<LocalState['agents']> = [];
    for (let i = 0; i < agentApis.length; i++) {
      const node = nodes[i]!.name;
      const logFile = join(logDir, `agent-${node}.log`);
      const pid = spawnAgent({ cli: cliEntry(), config: configFile, node, logFile });
      started.push({ stop: () => stopAgents([pid], 0) }); // last in, first stopped
      agents.push({ node, api: agentApis[i]!, pid });
    }
    if (agents.length > 0) progress(`started ${agents.length} node agents`);
    await Promise.all(
      agents.map((a) => waitForAgent(a.api, a.pid, join(logDir, `agent-${a.node}.log`))),
    );

    const state: LocalState = {
      cluster,
      dir,
      config: configFile,
      api: sentinels[0]!.api,
      redis: redisServers.map((r) => r.url),
      redisServers,
      nodes: nodes.map((n) => ({
        name: n.name,
        host: n.host,
        port: n.port,
        url: n.url,
        dataDir: n.dataDir,
        pid: n.pid,
      })),
      sentinels,
      agents,
      ...(tokenFile ? { tokenFile } : {}),
      dataRoot,
      startedAt: new Date().toISOString(),
    };
    writeState(state);
    progress(`ready: primary ${names[0]}, state in ${statePath(dir)}`);
    return state;
  } catch (err) {
    progress(`start-up failed, stopping what was started: ${(err as Error).message}`);
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    throw err;
  }
}

/** Start one sentinel process, detached, logging to `logFile`; returns its PID. */
export function spawnSentinel(o: {
  config: string;
  id: string;
  apiPort: number;
  logFile: string;
  env?: NodeJS.ProcessEnv | undefined;
}): number {
  const log = openSync(o.logFile, 'a');
  const child = spawn(
    process.execPath,
    [
      ...DAEMON_NODE_FLAGS,
      cliEntry(),
      'sentinel',
      '--config',
      o.config,
      '--id',
      o.id,
      '--api-port',
      String(o.apiPort),
    ],
    {
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...process.env, ...(o.env ?? {}) },
    },
  );
  closeSync(log);
  child.unref();
  return child.pid ?? 0;
}

function killQuietly(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

async function waitForSentinel(api: string, logFile: string): Promise<void> {
  const deadline = Date.now() + SENTINEL_READY_MS;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${api}/topology`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) {
        const body = (await res.json()) as { epoch?: number };
        if ((body.epoch ?? 0) >= 1) return;
      }
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `sentinel at ${api} did not publish a topology within ${SENTINEL_READY_MS / 1000}s: see ${logFile}`,
  );
}

export async function localDown(opts: {
  dir?: string;
  quiet?: boolean;
  progress?: (m: string) => void;
}): Promise<void> {
  const dir = resolve(opts.dir ?? DEFAULT_LOCAL_DIR);
  const progress = opts.quiet
    ? () => undefined
    : (opts.progress ?? ((m: string) => process.stderr.write(`[local] ${m}\n`)));
  const state = readState(dir);
  // agents first: they would restart or rejoin the postgres we are about to stop
  const agents = state.agents ?? [];
  await stopAgents(agents.map((a) => a.pid));
  for (const a of agents) progress(`stopped agent of ${a.node} (pid ${a.pid})`);
  for (const s of state.sentinels) {
    if (killQuietly(s.pid, 'SIGTERM')) progress(`stopped sentinel ${s.id} (pid ${s.pid})`);
  }
  await waitGone(
    state.sentinels.map((s) => s.pid),
    3000,
  );
  for (const s of state.sentinels) killQuietly(s.pid, 'SIGKILL');
  for (const n of state.nodes) {
    // A node may have been SIGSTOPped by `local kill`: continue it so it can shut down.
    const pid = readPostmasterPid(n.dataDir) ?? n.pid;
    await signalNode({ ...n, pid }, 'CONT').catch(() => undefined);
    await stopNode({ ...n, pid }).catch(() => undefined);
    progress(`stopped ${n.name}`);
  }
  for (const r of state.redisServers) {
    killQuietly(r.pid, 'SIGCONT');
    if (killQuietly(r.pid, 'SIGTERM')) progress(`stopped ${r.name}`);
  }
  await waitGone(
    state.redisServers.map((r) => r.pid),
    3000,
  );
  for (const r of state.redisServers) killQuietly(r.pid, 'SIGKILL');
  // The embedded cluster is disposable: its data goes with it (logs stay in <dir>/logs).
  rmSync(state.dataRoot, { recursive: true, force: true });
  for (const r of state.redisServers) rmSync(join(dir, r.name), { recursive: true, force: true });
  rmSync(statePath(dir), { force: true });
}

async function waitGone(pids: number[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && pids.some(isAlive)) await new Promise((r) => setTimeout(r, 50));
}

export type KillSignal = 'KILL' | 'STOP' | 'CONT';

/** Inject a fault: a node's postmaster (STOP/CONT: the whole instance), a sentinel, a Redis server. */
export async function localKill(opts: {
  dir?: string;
  name: string;
  signal?: KillSignal;
}): Promise<string> {
  const dir = resolve(opts.dir ?? DEFAULT_LOCAL_DIR);
  const signal = opts.signal ?? 'KILL';
  const state = readState(dir);
  const node = state.nodes.find((n) => n.name === opts.name);
  if (node) {
    const pid = readPostmasterPid(node.dataDir) ?? node.pid;
    await signalNode({ ...node, pid }, signal);
    return `sent SIG${signal} to ${node.name} (postmaster pid ${pid}${signal === 'KILL' ? '' : ' and its children'})`;
  }
  const target = [
    ...state.sentinels.map((s) => ({ name: s.id, pid: s.pid })),
    ...(state.agents ?? []).map((a) => ({ name: `agent-${a.node}`, pid: a.pid })),
    ...state.redisServers.map((r) => ({ name: r.name, pid: r.pid })),
  ].find((t) => t.name === opts.name);
  if (!target) {
    const known = [
      ...state.nodes.map((n) => n.name),
      ...state.sentinels.map((s) => s.id),
      ...(state.agents ?? []).map((a) => `agent-${a.node}`),
      ...state.redisServers.map((r) => r.name),
    ];
    throw new UserError(`unknown name ${opts.name}: use one of ${known.join(', ')}`);
  }
  if (!killQuietly(target.pid, `SIG${signal}` as NodeJS.Signals))
    throw new UserError(`${opts.name} (pid ${target.pid}) is not running`);
  return `sent SIG${signal} to ${opts.name} (pid ${target.pid})`;
}
