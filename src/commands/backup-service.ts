/**
 * Backups inside the long-running processes: the sentinel's `/backups` routes and the agent's
 * schedule (node-cron ticks once a minute; the runner's claim makes it one run per slot across
 * every agent and sentinel). The agent also keeps its node's own archive_command set (a
 * pg_rewind or base backup copies the other node's, notes G4/G6).
 */
import cron from 'node-cron';
import type { Registry } from 'prom-client';

import { AgentClient } from '../adapters/http/agent-client.js';
import type { BackupApi } from '../adapters/http/backup-routes.js';
import { ApiError } from '../adapters/http/common.js';
import { BackupMetrics } from '../adapters/metrics/backup-metrics.js';
import type { ClusterConfig, Config } from '../config/types.js';
import { parseSchedule } from '../core/backup/schedule.js';
import type { BackupType } from '../core/backup/types.js';
import { archivingHealth, recoveryWindow } from '../core/backup/window.js';
import { AgentRefused, ConfigError } from '../core/errors.js';
import type { CoordinationStore } from '../ports/coordination.js';
import type { Logger } from '../ports/logger.js';
import { BackupScheduler } from '../runtime/backup/scheduler.js';
import { EventBus } from '../runtime/events.js';
import {
  type BackupParts,
  backupViews,
  buildBackup,
  localNodeNames,
  utcOffsetMin,
} from './backup-deps.js';

/** What the sentinel's `/backups` needs of one cluster: a local runner, or a relay to agents. */
interface Served {
  catalog: BackupParts['catalog'];
  nodes: BackupParts['nodes'];
  running(): BackupType | null;
  start(type: BackupType): Promise<{ started: true } | { busy: string }>;
  close(): Promise<void>;
}

/** `/backups` (backup.enabled) over every cluster whose nodes all have a dataDir; else undefined. */
export function sentinelBackups(
  config: Config,
  store: Pick<CoordinationStore, 'publishEvent'>,
  log: Logger,
  registry: Registry,
): { api: BackupApi; close(): Promise<void> } | undefined {
  if (!config.backup.enabled) return undefined;
  const eligible = config.clusters.filter((c) => c.nodes.every((n) => n.dataDir));
  if (eligible.length === 0) return undefined;
  const events = new EventBus(store, log);
  const agents = new AgentClient({ token: config.sentinel.api.token });
  const served = (c: ClusterConfig): Served => {
    // backup.localOnly and no node of the cluster here: the primary's agent takes the backup
    if (localNodeNames(config, c)?.length === 0) return relayed(config, c, agents);
    const p = buildBackup(config, c, { events, registry, owner: `sentinel-${config.sentinel.id}` });
    return {
      catalog: p.catalog,
      nodes: p.nodes,
      running: () => p.runner.running,
      start: (type) => {
        if (p.runner.running)
          return Promise.resolve({
            busy: `a ${p.runner.running} backup of ${c.name} is running: wait for it to finish`,
          });
        void p.runner
          .run(type)
          .catch((err: Error) =>
            log.error({ cluster: c.name, type, err: err.message }, 'backup failed'),
          );
        return Promise.resolve({ started: true });
      },
      close: () => p.close(),
    };
  };
  const parts = new Map<string, Served>(eligible.map((c) => [c.name, served(c)]));
  const of = (c: string): Served => {
    const p = parts.get(c);
    if (!p) throw new ConfigError(`cluster ${c} has nodes without dataDir: no backups for it`);
    return p;
  };
  // live archiving health for /metrics, `status` and the window, between backup runs
  const metrics = new BackupMetrics(registry);
  const refresh = async (): Promise<void> => {
    for (const [c, p] of parts) {
      recordMetrics(metrics, c, await p.catalog.list().catch(() => ({})));
      const roles = await p.nodes.roles().catch(() => ({ primary: null }));
      const a = roles.primary ? await p.nodes.archiver(roles.primary) : undefined;
      if (!a) continue;
      metrics.archiver(c, a);
      const health = archivingHealth(a);
      const w = recoveryWindow(
        {
          backups: [],
          archiveMin: null,
          archiveMax: null,
          statusCode: 0,
          statusMessage: '',
          backupLockHeld: false,
        },
        a,
      );
      await p.catalog
        .putWindow(c, { archiving: health, archivingDetail: w.archivingDetail })
        .catch(() => undefined);
    }
  };
  const timer = setInterval(() => void refresh().catch(() => undefined), 30_000);
  timer.unref();
  void refresh().catch(() => undefined);
  return {
    api: {
      list: async (c) => {
        const p = of(c);
        return {
          cluster: c,
          running: p.running(),
          records: await p.catalog.list(),
          window: await p.catalog.getWindow(c),
        };
      },
      start: (c, type) => of(c).start(type),
    },
    close: async () => {
      clearInterval(timer);
      await Promise.all([...parts.values()].map((p) => p.close()));
    },
  };
}

/**
 * backup.localOnly on a sentinel with no node of the cluster: POST /backups goes to the agents,
 * the primary's first (the one whose machine can take it), GET /backups reads Redis.
 */
function relayed(config: Config, c: ClusterConfig, agents: AgentClient): Served {
  const { catalog, nodes } = backupViews(config, c);
  return {
    catalog,
    nodes,
    // the run is the agent's: `running` is not known here
    running: () => null,
    start: async (type) => {
      const roles = await nodes.roles().catch(() => ({ primary: null }));
      const order = [...c.nodes].sort(
        (a, b) => Number(b.name === roles.primary) - Number(a.name === roles.primary),
      );
      const refused: string[] = [];
      for (const n of order) {
        if (!n.agent) continue;
        try {
          await agents.backup({ name: n.name, url: n.agent.url }, type, 5000);
          return { started: true };
        } catch (err) {
          if (err instanceof AgentRefused && err.statusCode === 409) return { busy: err.message };
          refused.push((err as Error).message);
        }
      }
      throw new ApiError(
        503,
        `no agent of ${c.name} could take the backup (backup.localOnly: the primary's agent takes it): ${refused.join('; ') || 'no node has an agent.url'}`,
      );
    },
    close: () => catalog.close(),
  };
}

/**
 * The backup series from the Redis records, whoever ran the backup (a CLI, an agent, another
 * sentinel): the newest good record per type, and the newest failure per type.
 */
function recordMetrics(
  metrics: BackupMetrics,
  cluster: string,
  records: Record<string, Record<string, string>>,
): void {
  const newest = new Map<string, Record<string, string>>();
  const failed = new Map<string, number>();
  for (const r of Object.values(records)) {
    if ((r.cluster ?? cluster) !== cluster || !r.type) continue;
    const failedAt = Date.parse(
      r.last_failure_at ?? (r.status === 'failed' ? (r.finished ?? '') : ''),
    );
    if (!Number.isNaN(failedAt)) failed.set(r.type, Math.max(failed.get(r.type) ?? 0, failedAt));
    if (r.status !== 'ok') continue;
    const cur = newest.get(r.type);
    if (!cur || (cur.finished ?? '') < (r.finished ?? '')) newest.set(r.type, r);
  }
  for (const [type, r] of newest)
    metrics.success(
      type as BackupType,
      Date.parse(r.finished ?? '') / 1000,
      Number(r.duration),
      Number(r.size),
    );
  for (const [type, at] of failed) metrics.failure(type as BackupType, at / 1000);
}

/**
 * The schedule in an agent (backup.enabled): node-cron every minute, catch-up at start; `start`
 * is the agent API's POST /backups (a backup now, on this machine).
 */
export function startBackupSchedule(
  config: Config,
  clusterName: string,
  nodeName: string,
  store: Pick<CoordinationStore, 'publishEvent'>,
  log: Logger,
  registry?: Registry,
):
  | {
      start(
        type: BackupType,
      ): Promise<{ started: true } | { busy: string } | { elsewhere: string }>;
      stop(): Promise<void>;
    }
  | undefined {
  if (!config.backup.enabled) return undefined;
  const cluster = config.clusters.find((c) => c.name === clusterName)!;
  const matchers = parseSchedule(config.backup.schedule);
  if (typeof matchers === 'string') throw new ConfigError(`backup.schedule.${matchers}`);
  const parts = buildBackup(config, cluster, {
    events: new EventBus(store, log),
    owner: `agent-${nodeName}-${process.pid}`,
    self: nodeName,
    ...(registry ? { registry } : {}),
  });
  const node = cluster.nodes.find((n) => n.name === nodeName)!;
  const keepArchiveCommand = async (): Promise<void> => {
    await parts.nodes
      .setArchiveCommand(node.name, parts.engine.archiveCommand(node.dataDir!))
      .catch((err: Error) =>
        log.warn({ node: node.name, err: err.message }, 'archive_command not set (node down?)'),
      );
  };
  const scheduler = new BackupScheduler({
    runner: parts.runner,
    matchers,
    utcOffsetMin,
    logger: log,
    onTick: keepArchiveCommand,
    hasRecords: async () => Object.keys(await parts.catalog.list()).length > 0,
  });
  void keepArchiveCommand().then(() => scheduler.catchUp(Date.now()));
  const task = cron.schedule('* * * * *', () => scheduler.tick(Date.now()), {
    name: `pgvigil-backup-${nodeName}`,
    noOverlap: true,
  });
  const busy = (): { busy: string } | undefined =>
    parts.runner.running
      ? {
          busy: `a ${parts.runner.running} backup of ${cluster.name} is running: wait for it to finish`,
        }
      : undefined;
  return {
    start: async (type) => {
      const early = busy();
      if (early) return early;
      const elsewhere = await parts.runner.primaryElsewhere();
      if (elsewhere !== undefined) return { elsewhere };
      const late = busy();
      if (late) return late;
      void parts.runner
        .run(type)
        .catch((err: Error) =>
          log.error({ cluster: cluster.name, type, err: err.message }, 'backup failed'),
        );
      return { started: true };
    },
    stop: async () => {
      await task.stop();
      await task.destroy();
      await parts.close();
    },
  };
}
