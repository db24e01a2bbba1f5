/**
 * The embedded local cluster: one implementation for `pgvigil local up|down|kill`, the demo and
 * the tests. A real primary (initdb) and standbys (pg_basebackup), independent Redis servers
 * (AUTH on) and K sentinel processes, all on free loopback ports, postgres as the `postgres` OS
 * user when root.
 *
 * Secrets: `<dir>` is 0700 and every file in it that holds a secret (secrets.env, pgpass,
 * api-token, each redis-N/redis.conf) is 0600; state.json and pgvigil.yaml hold none. Sentinels
 * and agents get `--config` only, redis-server its password in its config file, pg_basebackup
 * PGPASSWORD: no secret on a command line.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { libpqTlsQuery, pgSslOptions } from '../adapters/postgres/tls.js';
import { defaultRunAs, findPgBinaries, stopNode } from '../adapters/process/index.js';
import { UserError } from '../core/errors.js';
import { startAgents } from './agents.js';
import { type AppRole, createAppRole } from './app-role.js';
import { localBackupPaths, setUpLocalBackups } from './backup.js';
import { cliEntry } from './cli-entry.js';
import {
  type LocalSecrets,
  SECRETS_FILE,
  writeConfigFile,
  writePgpassFile,
  writeSecretsFile,
  writeTokenFile,
} from './config-file.js';
import { localDown } from './down.js';
import { freePort, isPortFree } from './free-port.js';
import {
  assertNetnsUsable,
  createNetns,
  memberOf,
  netnsMembers,
  netnsPath,
  type NetnsPlan,
  planNetns,
  removeNetns,
} from './netns.js';
import {
  initPrimary,
  initStandby,
  type LocalNode,
  nodeUrl,
  SUPERUSER,
  SUPERUSER_DATABASE,
} from './postgres.js';
import { findRedisServer, startRedisServer } from './redis-server.js';
import { startSentinels } from './sentinels.js';
import {
  DEFAULT_LOCAL_DIR,
  isAlive,
  type LocalState,
  readState,
  statePath,
  writeState,
} from './state.js';
import { clientTls, configTls, type LocalTls, makeLocalTls, USERS } from './tls-certs.js';

export { cliEntry } from './cli-entry.js';
export { type KillSignal, localDown, localKill } from './down.js';

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
  /**
   * every node (with its agent), sentinel and Redis server in a network namespace of its own
   * (needs root; netns.ts); the API token is then always on
   */
  netns?: boolean;
  /** WAL archiving + a pgBackRest repository (src/local/backup.ts); `local up` default true */
  backups?: boolean;
  /** TLS everywhere (tls-certs.ts): PostgreSQL verify-full with client certificates, rediss:// */
  tls?: boolean;
  /** the first primary's pg_wal directory (initdb --waldir; tests: WAL on a freezable fs) */
  primaryWalDir?: string;
}

export const LOCAL_CLUSTER = 'local';

/** Something `local up` started; stopped again when a later step fails. */
interface Started {
  stop: () => Promise<void>;
}

/** The options of one `local up`, checked, with every default filled. */
interface UpPlan {
  dir: string;
  /** pg1..pgN; the first is the initial primary */
  names: string[];
  sentinelCount: number;
  redisCount: number;
  cluster: string;
  withAgents: boolean;
  progress: (msg: string) => void;
  opts: LocalUpOptions;
  /** `--netns`: the namespaces and addresses (null on loopback) */
  net: NetnsPlan | null;
}

const member = (plan: UpPlan, name: string) => memberOf(plan.net, name);

/**
 * Start the embedded cluster: PostgreSQL nodes, Redis servers, the config, sentinels and agents,
 * each step waiting for what it started. On a failure everything started so far is stopped,
 * last in, first stopped.
 */
export async function localUp(opts: LocalUpOptions = {}): Promise<LocalState> {
  const plan = planUp(opts);
  if (opts.netns) assertNetnsUsable();
  await refuseRunningCluster(plan.dir);
  // Fail early, before anything is created, on what is missing.
  findPgBinaries();
  findRedisServer();
  cliEntry(); // fail early when the build is missing

  const dataRoot = prepareDirs(plan.dir);
  const started: Started[] = [];
  try {
    if (opts.netns) {
      const net = planNetns(
        plan.dir,
        netnsMembers(plan.names, plan.sentinelCount, plan.redisCount),
      );
      plan.net = net;
      started.push({ stop: async () => removeNetns(plan.dir, net) }); // stopped last
      createNetns(plan.dir, net);
      plan.progress(`network namespaces on 169.254.${net.subnet}.0/24, host ${net.hostAddr}`);
    }
    const secrets = writeSecretsFile(plan.dir, plan.cluster);
    const tls = opts.tls
      ? await makeLocalTls(join(dataRoot, 'tls'), USERS, defaultRunAs())
      : undefined;
    if (tls) plan.progress(`TLS: CA and certificates in ${tls.dir}`);
    const nodes = await startNodes(plan, dataRoot, secrets, started, tls);
    const pgpassFile = writePgpassFile(plan.dir, nodes, SUPERUSER, secrets.superPassword);
    const app = await createAppRole({
      dir: plan.dir,
      primary: nodes[0]!,
      nodes,
      superuser: SUPERUSER,
      superPassword: secrets.superPassword,
      pgpassFile,
      ssl: pgSslOptions(tls && clientTls(tls, SUPERUSER), nodes[0]!.host),
    });
    const redisServers = await startRedisServers(plan, secrets.redisPassword, started, tls);
    const written = await writeConfig(plan, nodes, redisServers, tls, dataRoot);
    if (opts.backups)
      await setUpLocalBackups({ ...plan, dataRoot, nodes, superPassword: secrets.superPassword });
    await opts.beforeSentinels?.(nodes);
    const logDir = join(plan.dir, 'logs');
    mkdirSync(logDir, { recursive: true, mode: 0o700 });
    chmodSync(logDir, 0o700);
    const sentinels = await startSentinels(
      {
        count: plan.sentinelCount,
        config: written.configFile,
        apiPorts: written.apiPorts,
        logDir,
        env: opts.sentinelEnv,
        progress: plan.progress,
        net: plan.net ? (id) => member(plan, id)! : undefined,
      },
      started,
    );
    const agents = await startAgents(
      {
        config: written.configFile,
        nodes: nodes.map((n) => n.name),
        apis: written.agentApis,
        logDir,
        progress: plan.progress,
        netns: plan.net ? (node) => member(plan, node)!.ns : undefined,
      },
      started,
    );
    const state = localState(plan, {
      ...written,
      pgpassFile,
      app,
      dataRoot,
      nodes,
      redisServers,
      sentinels,
      agents,
      tls,
    });
    writeState(state);
    plan.progress(`ready: primary ${plan.names[0]}, state in ${statePath(plan.dir)}`);
    return state;
  } catch (err) {
    plan.progress(`start-up failed, stopping what was started: ${(err as Error).message}`);
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    throw err;
  }
}

function planUp(opts: LocalUpOptions): UpPlan {
  const nodeCount = opts.nodes ?? 2;
  const sentinelCount = opts.sentinels ?? 3;
  const redisCount = opts.redis ?? 1;
  if (nodeCount < 2)
    throw new UserError(
      `--nodes ${nodeCount}: a cluster needs at least 2 nodes (a primary and a standby)`,
    );
  if (sentinelCount < 1)
    throw new UserError(`--sentinels ${sentinelCount}: at least 1 sentinel is needed`);
  if (![1, 3, 5].includes(redisCount))
    throw new UserError(`--redis ${redisCount}: use 1, 3 or 5 independent Redis servers`);
  return {
    dir: resolve(opts.dir ?? DEFAULT_LOCAL_DIR),
    names: Array.from({ length: nodeCount }, (_, i) => `pg${i + 1}`),
    sentinelCount,
    redisCount,
    cluster: opts.cluster ?? LOCAL_CLUSTER,
    withAgents: opts.agents ?? true,
    progress: opts.progress ?? ((m: string) => process.stderr.write(`[local] ${m}\n`)),
    opts,
    net: null,
  };
}

/** Refuse a cluster that still runs in `dir`; clear up after one that died. */
async function refuseRunningCluster(dir: string): Promise<void> {
  if (!existsSync(statePath(dir))) return;
  const old = readState(dir);
  const alive = [...old.nodes, ...old.sentinels, ...old.redisServers, ...(old.agents ?? [])].filter(
    (p) => isAlive(p.pid),
  );
  if (alive.length > 0)
    throw new UserError(
      `a local cluster is already running in ${dir}: run \`pgvigil local down --dir ${dir}\` first`,
    );
  await localDown({ dir, quiet: true });
}

/** `dir` (0700: it holds the secrets) and the PostgreSQL data root (0755); returns the data root. */
function prepareDirs(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  rmSync(join(dir, 'data'), { recursive: true, force: true }); // left by a crashed run
  const dataRoot = dataRootFor(dir);
  mkdirSync(dataRoot, { recursive: true });
  chmodSync(dataRoot, 0o755);
  return dataRoot;
}

/**
 * When root, postgres runs as `postgres` and must pass through every parent of its data dir,
 * which `dir` (0700, root's) is not: the data lives in a temp dir then, recorded in
 * state.json. Otherwise postgres runs as us, and `<dir>/data` is fine.
 */
function dataRootFor(dir: string): string {
  if (process.getuid?.() !== 0) return join(dir, 'data');
  return mkdtempSync(join(tmpdir(), 'pgvigil-local-'));
}

/** initdb the primary, then pg_basebackup each standby from it. */
async function startNodes(
  plan: UpPlan,
  dataRoot: string,
  { superPassword, replPassword }: LocalSecrets,
  started: Started[],
  tls: LocalTls | undefined,
): Promise<LocalNode[]> {
  const { names, progress } = plan;
  const ports: number[] = [];
  for (let i = 0; i < names.length; i++) ports.push(await freePort('127.0.0.1'));
  progress(`initdb primary ${names[0]} on 127.0.0.1:${ports[0]}`);
  const at = (name: string) => {
    const m = member(plan, name);
    return m ? { host: m.addr, netns: m.ns } : {};
  };
  const primary = await initPrimary({
    ...at(names[0]!),
    dir: join(dataRoot, names[0]!),
    name: names[0]!,
    port: ports[0]!,
    superPassword,
    replPassword,
    standbys: names.slice(1),
    ...(plan.opts.backups ? { settings: { archive_mode: 'on' } } : {}),
    tls,
    walDir: plan.opts.primaryWalDir,
  });
  started.push({ stop: () => stopNode(primary) });
  const nodes = [primary];
  for (let i = 1; i < names.length; i++) {
    progress(`pg_basebackup standby ${names[i]} on 127.0.0.1:${ports[i]}`);
    const standby = await initStandby({
      ...at(names[i]!),
      dir: join(dataRoot, names[i]!),
      name: names[i]!,
      port: ports[i]!,
      primary: { host: primary.host, port: primary.port },
      replUser: 'replicator',
      replPassword,
      slot: names[i]!,
      tls,
    });
    started.push({ stop: () => stopNode(standby) });
    nodes.push(standby);
  }
  return nodes;
}

/** Start `redisCount` independent Redis servers, each in `<dir>/redis-<i>` (0700), AUTH on. */
async function startRedisServers(
  plan: UpPlan,
  password: string,
  started: Started[],
  tls: LocalTls | undefined,
): Promise<LocalState['redisServers']> {
  const redisServers: LocalState['redisServers'] = [];
  for (let i = 1; i <= plan.redisCount; i++) {
    const redisDir = join(plan.dir, `redis-${i}`);
    mkdirSync(redisDir, { recursive: true, mode: 0o700 });
    const m = member(plan, `redis-${i}`);
    const r = await startRedisServer({
      dir: redisDir,
      name: `redis-${i}`,
      password,
      persist: true,
      ...(m ? { host: m.addr, netns: m.ns } : {}),
      tls: tls && { cert: tls.serverCert, key: tls.serverKey, ca: tls.ca },
    });
    started.push(r);
    redisServers.push({ name: `redis-${i}`, url: r.url, port: r.port, pid: r.pid });
    plan.progress(`redis-${i} on ${r.url}`);
  }
  return redisServers;
}

/** What writeConfig() chose and wrote. */
interface WrittenConfig {
  configFile: string;
  /** one per sentinel */
  apiPorts: number[];
  /** one per node when agents run, else none */
  agentApis: string[];
  tokenFile: string | undefined;
}

/** Pick the API ports, write the token (when asked) and the config file. */
async function writeConfig(
  plan: UpPlan,
  nodes: LocalNode[],
  redisServers: LocalState['redisServers'],
  tls: LocalTls | undefined,
  dataRoot: string,
): Promise<WrittenConfig> {
  const { opts } = plan;
  const apiPorts: number[] = [];
  for (let i = 0; i < plan.sentinelCount; i++)
    apiPorts.push(i === 0 ? await pickPort(opts.apiPort) : await freePort('127.0.0.1'));
  const agentApis: string[] = [];
  for (let i = 0; i < nodes.length && plan.withAgents; i++)
    agentApis.push(`http://${nodes[i]!.host}:${await freePort('127.0.0.1')}`);
  // off loopback (--netns) the API binds every address of its namespace: never without a token
  const tokenFile = opts.token || plan.net ? writeTokenFile(plan.dir) : undefined;
  const configFile = writeConfigFile(plan.dir, {
    sentinels: plan.sentinelCount,
    redis: redisServers.map((r) => r.url),
    apiPort: apiPorts[0]!,
    ...(plan.net ? { apiHost: '0.0.0.0' } : {}),
    withToken: tokenFile !== undefined,
    profile: opts.profile ?? 'default',
    timing: opts.timing ?? {},
    cluster: plan.cluster,
    initialPrimary: plan.names[0]!,
    replicationMode: opts.replicationMode,
    ...(opts.backups ? { backup: localBackupPaths(dataRoot) } : {}),
    ...(tls ? { tls: configTls(tls) } : {}),
    nodes: nodes.map((n, i) => ({
      name: n.name,
      host: n.host,
      port: n.port,
      dataDir: n.dataDir,
      ...(plan.withAgents ? { agentUrl: agentApis[i]! } : {}),
    })),
  });
  return { configFile, apiPorts, agentApis, tokenFile };
}

async function pickPort(preferred: number | undefined): Promise<number> {
  if (preferred && (await isPortFree(preferred, '127.0.0.1'))) return preferred;
  return freePort('127.0.0.1');
}

/** What state.json records (the key order is the file's). */
function localState(
  plan: UpPlan,
  s: WrittenConfig & {
    pgpassFile: string;
    app: AppRole;
    dataRoot: string;
    nodes: LocalNode[];
    redisServers: LocalState['redisServers'];
    sentinels: LocalState['sentinels'];
    agents: NonNullable<LocalState['agents']>;
    tls: LocalTls | undefined;
  },
): LocalState {
  return {
    cluster: plan.cluster,
    dir: plan.dir,
    config: s.configFile,
    api: s.sentinels[0]!.api,
    redis: s.redisServers.map((r) => r.url),
    redisServers: s.redisServers,
    nodes: s.nodes.map((n) => ({
      name: n.name,
      host: n.host,
      port: n.port,
      url: nodeUrl(n.port, undefined, n.host) + libpqTlsQuery(s.tls && clientTls(s.tls, SUPERUSER)),
      dataDir: n.dataDir,
      pid: n.pid,
    })),
    sentinels: s.sentinels,
    agents: s.agents,
    ...(s.tokenFile ? { tokenFile: s.tokenFile } : {}),
    ...(plan.net ? { netnsFile: netnsPath(plan.dir) } : {}),
    ...(s.tls
      ? { tls: { dir: s.tls.dir, ca: s.tls.ca, superuser: clientTls(s.tls, SUPERUSER) } }
      : {}),
    secretsFile: join(plan.dir, SECRETS_FILE),
    pgpassFile: s.pgpassFile,
    client: { user: SUPERUSER, database: SUPERUSER_DATABASE, app: s.app },
    dataRoot: s.dataRoot,
    startedAt: new Date().toISOString(),
  };
}
