/**
 * The backup parts built from the config (composition root): pgBackRest for one cluster, the
 * Redis catalog, the SQL view of the nodes, the runner. Shared by `backup *`, the agent's
 * schedule and the sentinel's `/backups` routes.
 */
import { hostname } from 'node:os';

import type { Registry } from 'prom-client';

import { type BackupNode, socketDirOf } from '../adapters/backup/config.js';
import { PgBackRest } from '../adapters/backup/pgbackrest.js';
import { BackupMetrics } from '../adapters/metrics/backup-metrics.js';
import { SqlBackupNodes } from '../adapters/postgres/archiving.js';
import { lookupUser } from '../adapters/process/run-as.js';
import { RedisBackupCatalog } from '../adapters/redis/backup-catalog.js';
import { isLoopbackHost } from '../config/rules.js';
import type { ClusterConfig, Config } from '../config/types.js';
import { ConfigError, UserError } from '../core/errors.js';
import { BackupRunner } from '../runtime/backup/runner.js';
import { systemClock } from '../runtime/clock.js';
import type { EventSink } from '../runtime/events.js';
import { redisAuthOf } from './adapters.js';

export interface BackupParts {
  cluster: ClusterConfig;
  engine: PgBackRest;
  catalog: RedisBackupCatalog;
  nodes: SqlBackupNodes;
  runner: BackupRunner;
  close(): Promise<void>;
}

/** The cluster a backup command is about: the named one, else the only one. */
export function backupCluster(config: Config, name: string | undefined): ClusterConfig {
  const c = name ? config.clusters.find((x) => x.name === name) : config.clusters[0];
  if (!c)
    throw new ConfigError(
      `unknown cluster ${name}: the config has ${config.clusters.map((x) => x.name).join(', ')}`,
    );
  if (!name && config.clusters.length > 1)
    throw new ConfigError(
      `the config has clusters ${config.clusters.map((x) => x.name).join(', ')}: pass --cluster`,
    );
  return c;
}

export function utcOffsetMin(): number {
  return -new Date().getTimezoneOffset();
}

/**
 * What needs no pgBackRest: the Redis catalog, and the nodes' roles and archiving over SQL
 * (read from every node, wherever pgBackRest runs).
 */
export function backupViews(
  config: Config,
  cluster: ClusterConfig,
  all: BackupNode[] = nodesOf(cluster),
): { catalog: RedisBackupCatalog; nodes: SqlBackupNodes } {
  return {
    catalog: new RedisBackupCatalog({
      urls: config.coordination.redis,
      prefix: config.coordination.prefix,
      auth: redisAuthOf(config),
      timeoutMs: Math.max(1000, config.timing.redisTimeoutMs),
    }),
    nodes: new SqlBackupNodes(all, {
      user: cluster.user,
      password: cluster.password,
      database: cluster.database,
    }),
  };
}

/** Every node of the cluster as pgBackRest sees it (each needs a dataDir). */
function nodesOf(cluster: ClusterConfig): BackupNode[] {
  return cluster.nodes.map((n) => {
    if (!n.dataDir)
      throw new ConfigError(
        `clusters[${cluster.name}].nodes[${n.name}].dataDir is required for backups (pgBackRest reads the data directory)`,
      );
    return {
      name: n.name,
      host: n.host,
      port: n.port,
      dataDir: n.dataDir,
      socketDir: socketDirOf(n.dataDir),
    };
  });
}

/**
 * With `backup.localOnly`, the names of the cluster's nodes on this machine: `self` (an agent's
 * own node), loopback hosts, a host equal to this machine's hostname (a compose service's
 * `hostname:`). Undefined without localOnly: pgBackRest gets every node.
 */
export function localNodeNames(
  config: Pick<Config, 'backup'>,
  cluster: Pick<ClusterConfig, 'nodes'>,
  self?: string,
): string[] | undefined {
  if (!config.backup.localOnly) return undefined;
  const here = hostname().toLowerCase();
  return cluster.nodes
    .filter((n) => n.name === self || isLoopbackHost(n.host) || n.host.toLowerCase() === here)
    .map((n) => n.name);
}

export function buildBackup(
  config: Config,
  cluster: ClusterConfig,
  o: { events?: EventSink; registry?: Registry; owner?: string; self?: string } = {},
): BackupParts {
  const runAs = process.getuid?.() === 0 ? lookupUser(config.agent.runAsUser) : undefined;
  const local = localNodeNames(config, cluster, o.self);
  if (local?.length === 0)
    throw new UserError(
      `backup.localOnly: no node of cluster ${cluster.name} is on this machine (hostname ${hostname()}): run the backup on the primary's machine, or POST /backups to a sentinel`,
    );
  const all = nodesOf(cluster);
  const nodes = local
    ? all.filter((n) => local.includes(n.name)).map((n) => ({ ...n, local: true }))
    : all;
  const b = config.backup;
  const engine = new PgBackRest({
    stanza: cluster.name,
    workDir: b.workDir,
    repository: b.repository,
    retentionFull: b.retentionFull,
    options: b.options,
    nodes,
    user: cluster.user,
    password: cluster.password,
    archiveTimeoutS: b.archiveTimeoutS,
    runAs,
  }).prepare();
  const { catalog, nodes: sqlNodes } = backupViews(config, cluster, all);
  const runner = new BackupRunner({
    cluster: cluster.name,
    owner: o.owner ?? `${hostname()}-${process.pid}`,
    engine,
    catalog,
    nodes: sqlNodes,
    clock: systemClock,
    utcOffsetMin,
    fromStandby: b.fromStandby,
    ...(local ? { localNodes: local } : {}),
    publish: async (e) => {
      await o.events?.emit(e);
    },
    ...(o.registry ? { metrics: new BackupMetrics(o.registry) } : {}),
  });
  return {
    cluster,
    engine,
    catalog,
    nodes: sqlNodes,
    runner,
    close: () => catalog.close(),
  };
}
