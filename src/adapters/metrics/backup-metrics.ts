/**
 * The backup series (DESIGN.md, Metrics) on an injected Registry:
 * `pgvigil_backup_last_success_timestamp_seconds{type}`, `..._last_failure_timestamp_seconds{type}`,
 * `pgvigil_backup_duration_seconds{type}`, `pgvigil_backup_size_bytes{type}` (of the last good
 * backup of that type), and `pgvigil_wal_archive_failed_total{cluster,node}` and
 * `pgvigil_wal_archived_total{cluster,node}` (pg_stat_archiver of the primary: counters since
 * that node started, so a failover starts them again).
 */
import { Gauge, type Registry } from 'prom-client';

import type { BackupType } from '../../core/backup/types.js';
import type { ArchiverStats } from '../../core/backup/window.js';
import type { BackupMetricsPort } from '../../ports/backup.js';
import { METRICS, type MetricSpec } from './catalogue.js';

export class BackupMetrics implements BackupMetricsPort {
  readonly #lastSuccess: Gauge<'type'>;
  readonly #lastFailure: Gauge<'type'>;
  readonly #duration: Gauge<'type'>;
  readonly #size: Gauge<'type'>;
  readonly #archiveFailed: Gauge<'cluster' | 'node'>;
  readonly #archived: Gauge<'cluster' | 'node'>;

  constructor(registry: Registry) {
    const registers = [registry];
    // names, help texts and labels from the catalogue (one list for README, dashboards, alerts)
    const g = <L extends string>(spec: MetricSpec & { labels: readonly L[] }): Gauge<L> =>
      (registry.getSingleMetric(spec.name) as Gauge<L> | undefined) ??
      new Gauge({ name: spec.name, help: spec.help, labelNames: [...spec.labels], registers });
    this.#lastSuccess = g(METRICS.backupLastSuccess);
    this.#lastFailure = g(METRICS.backupLastFailure);
    this.#duration = g(METRICS.backupDuration);
    this.#size = g(METRICS.backupSize);
    this.#archiveFailed = g(METRICS.walArchiveFailed);
    this.#archived = g(METRICS.walArchived);
  }

  success(type: BackupType, finishedS: number, durationS: number, sizeBytes: number): void {
    this.#lastSuccess.set({ type }, finishedS);
    this.#duration.set({ type }, durationS);
    this.#size.set({ type }, sizeBytes);
  }

  failure(type: BackupType, atS: number): void {
    this.#lastFailure.set({ type }, atS);
  }

  archiver(cluster: string, a: ArchiverStats): void {
    this.#archiveFailed.set({ cluster, node: a.node }, a.failedCount);
    this.#archived.set({ cluster, node: a.node }, a.archivedCount);
  }
}
