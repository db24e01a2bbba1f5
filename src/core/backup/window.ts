/**
 * The per-cluster recovery window (`backup list`, `backup:window:<cluster>`): from the first
 * moment a restore can reach (the end of the oldest good backup) to the newest archived WAL,
 * the last good and last failed run, and whether WAL is being archived at all — point-in-time
 * restore depends on it.
 */
import type { EngineInfo } from './types.js';

/** pg_stat_archiver of one node (its counters are per node and reset on restart). */
export interface ArchiverStats {
  node: string;
  archivedCount: number;
  failedCount: number;
  lastArchivedWal: string | null;
  /** epoch ms */
  lastArchivedAtMs: number | null;
  lastFailedWal: string | null;
  lastFailedAtMs: number | null;
}

export type ArchivingHealth = 'ok' | 'failing' | 'not-archiving' | 'unknown';

/** Failing when the newest failure is more recent than the newest success. */
export function archivingHealth(a: ArchiverStats | undefined): ArchivingHealth {
  if (!a) return 'unknown';
  if (a.lastFailedAtMs !== null && (a.lastArchivedAtMs ?? 0) < a.lastFailedAtMs) return 'failing';
  if (a.archivedCount === 0 && a.lastArchivedAtMs === null) return 'not-archiving';
  return 'ok';
}

export interface RecoveryWindow {
  /** epoch seconds: the end of the oldest good backup (restores can reach from there) */
  firstRecoverableS: number | null;
  /** epoch seconds of the newest good backup's end (the window reaches at least this far) */
  lastBackupEndS: number | null;
  lastGoodLabel: string;
  archiveMin: string;
  archiveMax: string;
  archiving: ArchivingHealth;
  archivingDetail: string;
}

export function recoveryWindow(
  info: EngineInfo,
  archiver: ArchiverStats | undefined,
): RecoveryWindow {
  const good = info.backups.filter((b) => !b.error);
  const health = archivingHealth(archiver);
  return {
    firstRecoverableS: good[0]?.stopS ?? null,
    lastBackupEndS: good[good.length - 1]?.stopS ?? null,
    lastGoodLabel: good[good.length - 1]?.label ?? '',
    archiveMin: info.archiveMin ?? '',
    archiveMax: info.archiveMax ?? '',
    archiving: health,
    archivingDetail: archivingDetail(health, archiver),
  };
}

function archivingDetail(h: ArchivingHealth, a: ArchiverStats | undefined): string {
  switch (h) {
    case 'ok':
      return `WAL archived (${a?.archivedCount ?? 0} segments since the primary started, last ${a?.lastArchivedWal ?? '-'})`;
    case 'failing':
      return `WAL archiving FAILS on ${a?.node ?? '?'} (${a?.failedCount ?? 0} failures, last ${a?.lastFailedWal ?? '-'}): point-in-time restore cannot go past the last archived segment`;
    case 'not-archiving':
      return `WAL is NOT being archived on ${a?.node ?? '?'}: set archive_command (pgvigil agent or local up does) or point-in-time restore is impossible`;
    case 'unknown':
      return 'archiving state unknown (the primary did not answer)';
    default: {
      const never: never = h;
      return never;
    }
  }
}

/**
 * Is `targetS` (epoch seconds) inside what a point-in-time restore can reach? Null when it is,
 * else the reason as one line (`fmt` formats a moment for it).
 */
export function checkTarget(
  w: RecoveryWindow,
  targetS: number,
  nowS: number,
  fmt: (s: number) => string,
): string | null {
  if (w.firstRecoverableS === null) return 'the repository holds no good backup';
  if (targetS < w.firstRecoverableS)
    return `is before the first recoverable moment ${fmt(w.firstRecoverableS)}`;
  if (targetS > nowS) return `is in the future (now ${fmt(nowS)})`;
  return null;
}
