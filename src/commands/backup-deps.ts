/**
 * The backup parts built from the config (composition root): pgBackRest for one cluster, the
 * Redis catalog, the SQL view of the nodes, the runner. Shared by `backup *`, the agent's
 * schedule and the sentinel's `/backups` routes.
 */
import { hostname } from 'node:os';

import type { Registry } from 'prom-client';

import { socketDirOf } from '../adapters/backup/config.js';
import { PgBackRest } from '../adapters/backup/pgbackrest.js';
import { BackupMetrics } from '../adapters/metrics/backup-metrics.js';
import { SqlBackupNodes } from '../adapters/postgres/archiving.js';
import { lookupUser } from '../adapters/process/run-as.js';
import { RedisBackupCatalog } from '../adapters/redis/backup-catalog.js';
import type { ClusterConfig, Config } from '../config/types.js';
import { ConfigError } from '../core/errors.js';
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

export function buildBackup(
  config: Config,
  cluster: ClusterConfig,
  o: { events?: EventSink; registry?: Registry; owner?: string } = {},
): BackupParts {
  const runAs = process.getuid?.() === 0 ? lookupUser(config.agent.runAsUser) : undefined;
  const nodes = cluster.nodes.map((n) => {
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
  const catalog = new RedisBackupCatalog({
    urls: config.coordination.redis,
    prefix: config.coordination.prefix,
    auth: redisAuthOf(config),
    timeoutMs: Math.max(1000, config.timing.redisTimeoutMs),
  });
  const sqlNodes = new SqlBackupNodes(nodes, {
    user: cluster.user,
    password: cluster.password,
    database: cluster.database,
  });
  const runner = new BackupRunner({
    cluster: cluster.name,
    owner: o.owner ?? `${hostname()}-${process.pid}`,
    engine,
    catalog,
    nodes: sqlNodes,
    clock: systemClock,
    utcOffsetMin,
    fromStandby: b.fromStandby,
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
