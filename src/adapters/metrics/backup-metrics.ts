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

export class BackupMetrics implements BackupMetricsPort {
  readonly #lastSuccess: Gauge<'type'>;
  readonly #lastFailure: Gauge<'type'>;
  readonly #duration: Gauge<'type'>;
  readonly #size: Gauge<'type'>;
  readonly #archiveFailed: Gauge<'cluster' | 'node'>;
  readonly #archived: Gauge<'cluster' | 'node'>;

  constructor(registry: Registry) {
    const registers = [registry];
    const g = <L extends string>(name: string, help: string, labelNames: L[]): Gauge<L> =>
      (registry.getSingleMetric(name) as Gauge<L> | undefined) ??
      new Gauge({ name, help, labelNames, registers });
    this.#lastSuccess = g(
      'pgvigil_backup_last_success_timestamp_seconds',
      'end of the last successful backup of this type (epoch seconds)',
      ['type'],
    );
    this.#lastFailure = g(
      'pgvigil_backup_last_failure_timestamp_seconds',
      'time of the last failed backup run of this type (epoch seconds)',
      ['type'],
    );
    this.#duration = g(
      'pgvigil_backup_duration_seconds',
      'duration of the last successful backup of this type',
      ['type'],
    );
    this.#size = g(
      'pgvigil_backup_size_bytes',
      'database size covered by the last successful backup of this type',
      ['type'],
    );
    this.#archiveFailed = g(
      'pgvigil_wal_archive_failed_total',
      'failed archive_command runs on the node (pg_stat_archiver.failed_count)',
      ['cluster', 'node'],
    );
    this.#archived = g(
      'pgvigil_wal_archived_total',
      'WAL segments archived by the node (pg_stat_archiver.archived_count)',
      ['cluster', 'node'],
    );
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
