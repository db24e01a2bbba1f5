/**
 * Backup names and the Redis record of one backup (DESIGN.md, Backups). pgBackRest says
 * full/incr/diff; the Fase2 manual's keys say completo/incremental/diferencial.
 */

export const BACKUP_TYPES = ['full', 'incr', 'diff'] as const;
export type BackupType = (typeof BACKUP_TYPES)[number];
export type BackupTipo = 'completo' | 'incremental' | 'diferencial';

const TIPO: Record<BackupType, BackupTipo> = {
  full: 'completo',
  incr: 'incremental',
  diff: 'diferencial',
};

export function tipoOf(type: BackupType): BackupTipo {
  return TIPO[type];
}

export function typeOfTipo(tipo: string): BackupType | undefined {
  return BACKUP_TYPES.find((t) => TIPO[t] === tipo);
}

export function isBackupType(v: string): v is BackupType {
  return (BACKUP_TYPES as readonly string[]).includes(v);
}

/** The `<tipo>:<YYYY-MM-DD>` part of `backup:<tipo>:<date>` (the prefix is the adapter's). */
export interface SlotId {
  type: BackupType;
  /** YYYY-MM-DD */
  day: string;
}

/** One backup as `pgbackrest info --output=json` describes it (the fields we use). */
export interface EngineBackup {
  label: string;
  type: BackupType;
  /** epoch seconds */
  startS: number;
  stopS: number;
  sizeBytes: number;
  repoSizeBytes: number;
  /** repository delta of this backup alone */
  repoDeltaBytes: number;
  walStart: string;
  walStop: string;
  lsnStart: string;
  lsnStop: string;
  prior: string | null;
  error: boolean;
  pgVersion: string;
}

/** The stanza as a whole: its backups (oldest first), the archive range and the status. */
export interface EngineInfo {
  backups: EngineBackup[];
  archiveMin: string | null;
  archiveMax: string | null;
  /** 0 = ok */
  statusCode: number;
  statusMessage: string;
  backupLockHeld: boolean;
}
