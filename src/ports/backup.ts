/**
 * Backup ports: the engine (pgBackRest in src/adapters/backup) and the catalog of backup
 * records in the coordination store (src/adapters/redis/backup-catalog.ts).
 *
 * Errors: every method rejects with a UserError whose message is one line naming what failed
 * and why (the engine's own error line included); nothing here retries.
 */
import type { BackupType, EngineInfo, SlotId } from '../core/backup/types.js';
import type { ArchiverStats, RecoveryWindow } from '../core/backup/window.js';

export interface BackupRunOptions {
  /** copy the replicated files from a standby (pgBackRest --backup-standby) */
  fromStandby: boolean;
  /** one line of the engine's progress */
  onProgress?: (line: string) => void;
}

export interface RestoreOptions {
  /** an empty or missing directory */
  to: string;
  /** a backup label (default: the latest set, or the one pgBackRest picks for `time`) */
  label?: string;
  /** point in time, as PostgreSQL reads recovery_target_time */
  time?: string;
  onProgress?: (line: string) => void;
}

export interface BackupEngine {
  /** The stanza in the repository; create it when the repository has none. Idempotent. */
  createStanza(): Promise<void>;
  /** Take a backup (from the current primary, or a standby); resolves when it is in the repository. */
  backup(type: BackupType, o: BackupRunOptions): Promise<void>;
  /** The repository's view; rejects when the repository cannot be read (missing, corrupt). */
  info(): Promise<EngineInfo>;
  /** Restore into `o.to` (files only: starting it is the caller's). */
  restore(o: RestoreOptions): Promise<void>;
  /** Check every backup and WAL file's checksum; `ok` false with the problem lines. */
  verify(): Promise<{ ok: boolean; detail: string }>;
  /** Apply the retention (`backup.retentionFull`). */
  expire(): Promise<void>;
  /** The archive_command of the node whose data directory is `dataDir`. */
  archiveCommand(dataDir: string): string;
}

/** The `backup:<tipo>:<date>` records and the per-cluster claim and recovery window. */
export interface BackupCatalog {
  /** every record, keyed by `backup:<tipo>:<date>` (read from the first server that answers) */
  list(): Promise<Record<string, Record<string, string>>>;
  get(slot: SlotId): Promise<Record<string, string> | null>;
  /** write (replace) a record on every server; rejects when none took it */
  put(slot: SlotId, hash: Record<string, string>): Promise<void>;
  /** add fields to a record on every server (a failure beside a good record) */
  annotate(slot: SlotId, fields: Record<string, string>): Promise<void>;
  remove(keys: string[]): Promise<void>;
  /** one runner per slot: true for the caller that got it on a majority of the servers */
  claim(cluster: string, slot: SlotId, owner: string, ttlMs: number): Promise<boolean>;
  release(cluster: string, slot: SlotId, owner: string): Promise<void>;
  /** set fields of the recovery window hash (HSET: fields not given stay) */
  putWindow(
    cluster: string,
    fields: Partial<RecoveryWindow> & { lastFailed?: string },
  ): Promise<void>;
  getWindow(cluster: string): Promise<Record<string, string> | null>;
  close(): Promise<void>;
}

/** The nodes as the backup runner needs them: who is primary, its archiver, a CHECKPOINT. */
export interface BackupNodes {
  /** the current primary and the standbys that answered (probed now, not from the topology) */
  roles(): Promise<{ primary: string | null; standbys: string[] }>;
  archiver(node: string): Promise<ArchiverStats | undefined>;
  checkpoint(node: string): Promise<void>;
}

/** The backup series (`pgvigil_backup_*`, `pgvigil_wal_archive_failed_total`). Never throws. */
export interface BackupMetricsPort {
  success(type: BackupType, finishedS: number, durationS: number, sizeBytes: number): void;
  failure(type: BackupType, atS: number): void;
  archiver(cluster: string, a: ArchiverStats): void;
}
