/**
 * `pgvigil agent --node N`: the composition root of the agent process. It builds the adapters
 * from the config (Redis store, Postgres control, the process adapter of the node's data
 * directory with the credentials it needs, the local observer, the agent API) and hands them
 * to the runtime (src/runtime/agent/).
 */
import { buildAgentApi } from '../adapters/http/agent-api.js';
import { assertSafeBind, listenOn } from '../adapters/http/common.js';
import { createLogger } from '../adapters/logging/logger.js';
import { AgentMetrics } from '../adapters/metrics/agent-metrics.js';
import { readSlots } from '../adapters/postgres/agent-slots.js';
import { LocalObserver, type SessionParams } from '../adapters/postgres/index.js';
import { AgentNodeProcess, LocalPostgres, usePgBinDir } from '../adapters/process/index.js';
import { loadConfigWithWarnings, resolveConfigPath } from '../config/load.js';
import { clusterSpec } from '../config/slices.js';
import type { ClusterConfig, Config, NodeConfig } from '../config/types.js';
import type { BackupType } from '../core/backup/types.js';
import { ConfigError } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import type { Logger } from '../ports/logger.js';
import { Agent } from '../runtime/agent/agent.js';
import { systemClock } from '../runtime/clock.js';
import { EventBus } from '../runtime/events.js';
import { pgAdapterFor, redisAuthOf, redisStoreFor } from './adapters.js';
import { startBackupSchedule } from './backup-service.js';
import { preflightPostgres, preflightRedis } from './preflight.js';
import { testUnsafe } from './test-unsafe.js';

/** The cluster and node this agent serves, with what an agent needs from the config. */
export function agentTarget(
  config: Config,
  nodeName: string,
  clusterName?: string,
): { cluster: ClusterConfig; node: NodeConfig & { dataDir: string; agent: { url: string } } } {
  const clusters = config.clusters.filter(
    (c) =>
      (clusterName === undefined || c.name === clusterName) &&
      c.nodes.some((n) => n.name === nodeName),
  );
  if (clusters.length === 0)
    throw new ConfigError(
      `node ${nodeName} is not in ${clusterName ? `cluster ${clusterName}` : 'any cluster'} of the config: use one of ${config.clusters.flatMap((c) => c.nodes.map((n) => n.name)).join(', ')}`,
    );
  if (clusters.length > 1)
    throw new ConfigError(
      `node ${nodeName} is in clusters ${clusters.map((c) => c.name).join(', ')}: pass --cluster`,
    );
  const cluster = clusters[0]!;
  const node = cluster.nodes.find((n) => n.name === nodeName)!;
  const at = `clusters[${cluster.name}].nodes[${nodeName}]`;
  if (!node.dataDir)
    throw new ConfigError(`${at}.dataDir is required by the agent (the node's data directory)`);
  if (!node.agent?.url)
    throw new ConfigError(`${at}.agent.url is required by the agent (where its API listens)`);
  return { cluster, node: { ...node, dataDir: node.dataDir, agent: node.agent } };
}

/** Wrong TLS files, CA, client certificate or password: one line, before anything starts. */
async function preflight(config: Config, cluster: ClusterConfig, node: NodeConfig): Promise<void> {
  await preflightRedis(config, redisAuthOf(config), redactSecrets);
  const index = config.clusters.indexOf(cluster);
  await preflightPostgres([{ cluster, index, nodes: [node] }], config.timing.connectTimeoutMs);
}

/** TEST-ONLY PGVIGIL_TEST_UNSAFE (test-unsafe.ts): the lease off, logged loudly. */
function unsafeSwitches(log: Logger): { unsafeSkipLease?: boolean } {
  if (!testUnsafe().has('skip-lease')) return {};
  log.warn(
    'TEST-ONLY PGVIGIL_TEST_UNSAFE=skip-lease: the lease fence is OFF (never in production)',
  );
  return { unsafeSkipLease: true };
}

export interface AgentOptions {
  config?: string;
  node: string;
  cluster?: string;
}

/** `pgvigil agent --node N`: runs until SIGTERM/SIGINT; postgres keeps running after it. */
export async function runAgent(opts: AgentOptions): Promise<void> {
  const file = resolveConfigPath(opts.config);
  const { config, warnings } = loadConfigWithWarnings({ file });
  const { cluster, node } = agentTarget(config, opts.node, opts.cluster);
  const url = new URL(node.agent.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const token = config.sentinel.api.token;
  assertSafeBind(host, token);
  if (config.agent.pgBinDir) usePgBinDir(config.agent.pgBinDir);
  const local = new LocalPostgres({
    name: node.name,
    dataDir: node.dataDir,
    port: node.port,
    runAsUser: config.agent.runAsUser,
  });
  local.check();
  await preflight(config, cluster, node);
  const log = createLogger({
    level: config.log.level,
    process: `agent-${node.name}`,
    role: 'agent',
  });
  for (const w of warnings) log.warn({ config: file }, w);

  const store = redisStoreFor(config, { logger: log });
  const appName = `pgvigil-agent-${node.name}`;
  const session: SessionParams = {
    host: node.host,
    port: node.port,
    user: cluster.user,
    password: cluster.password,
    database: cluster.database,
    applicationName: appName,
    connectTimeoutMs: config.timing.connectTimeoutMs,
    queryTimeoutMs: Math.max(config.timing.queryTimeoutMs, 1000),
    tls: cluster.tls,
  };
  const pg = pgAdapterFor(cluster, config.timing, appName);
  const process_ = new AgentNodeProcess(local, {
    superuser: {
      user: cluster.user,
      password: cluster.password,
      database: cluster.database,
      tls: cluster.tls,
    },
    replication: {
      user: cluster.replication.user,
      password: cluster.replication.password,
      tls: cluster.replication.tls,
    },
  });
  const bus = new EventBus(store, log);
  const agent = new Agent({
    ...unsafeSwitches(log),
    cluster: clusterSpec(cluster),
    node: node.name,
    timing: config.timing,
    keepOldDataDirs: config.agent.keepOldDataDirs,
    store,
    pg,
    bus,
    log,
    clock: systemClock,
    process: process_,
    observer: new LocalObserver(process_, session),
    observeTimeoutMs: session.queryTimeoutMs,
  });
  const backups = startBackupSchedule(config, cluster.name, node.name, store, log);
  const api = buildAgentApi({
    token,
    metrics: agentMetrics(agent, bus, cluster.name, node.name, session).registry,
    health: () => agent.health(),
    primary: () => agent.primary(),
    replica: (lag) => agent.replica(lag),
    status: () => agent.status(),
    stop: (epoch) => agent.stopForSwitchover(epoch),
    start: (epoch) => agent.startAfterAbort(epoch),
    ...(backups ? { backup: (type: BackupType) => backups.start(type) } : {}),
  });
  await listenOn(api, {
    what: `agent API of ${node.name}`,
    host,
    port,
    hint: `free it or change clusters[${cluster.name}].nodes[${node.name}].agent.url`,
  });
  agent.start();
  log.info(
    { cluster: cluster.name, node: node.name, api: node.agent.url, dataDir: node.dataDir },
    'agent started',
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  log.info({ cluster: cluster.name, node: node.name }, 'agent stopping (postgres keeps running)');
  for (const close of [() => backups?.stop(), () => agent.stop(), () => api.close()]) await close();
  await pg.close();
  await store.close();
}

/** The agent's /metrics: its node's series from the last loop, slots at scrape, rejoin events. */
function agentMetrics(
  agent: Agent,
  bus: EventBus,
  cluster: string,
  node: string,
  session: SessionParams,
): AgentMetrics {
  const metrics = new AgentMetrics({
    cluster,
    node,
    view: () => agent.status(),
    slots: () => readSlots({ ...session, applicationName: `${session.applicationName}-metrics` }),
  });
  bus.onEvent((e) => {
    if (e.type === 'node-rejoined' && e.node === node) metrics.rejoined(e.method, Date.parse(e.at));
  });
  return metrics;
}
