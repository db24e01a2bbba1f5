/**
 * `pgbackrest info --output=json` -> EngineInfo, and one backup -> the Redis hash of
 * `backup:<tipo>:<date>`. Pure: the adapter hands the parsed JSON in.
 */
import { type BackupType, type EngineBackup, type EngineInfo, isBackupType } from './types.js';

type J = Record<string, unknown>;
const obj = (v: unknown): J => (v !== null && typeof v === 'object' ? (v as J) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** Parse the stanza `stanza` out of `info --output=json` (an array of stanzas). */
export function parseInfo(json: unknown, stanza: string): EngineInfo {
  const list = Array.isArray(json) ? (json as unknown[]) : [];
  const s = obj(list.map(obj).find((x) => x.name === stanza) ?? list[0]);
  const db = (Array.isArray(s.db) ? (s.db as unknown[]) : []).map(obj);
  const version = (id: unknown): string => str(db.find((d) => d.id === id)?.version);
  const backups: EngineBackup[] = (Array.isArray(s.backup) ? (s.backup as unknown[]) : [])
    .map(obj)
    .filter((b) => isBackupType(str(b.type)))
    .map((b) => {
      const info = obj(b.info);
      const repo = obj(info.repository);
      const archive = obj(b.archive);
      const lsn = obj(b.lsn);
      const ts = obj(b.timestamp);
      return {
        label: str(b.label),
        type: str(b.type) as BackupType,
        startS: num(ts.start),
        stopS: num(ts.stop),
        sizeBytes: num(info.size),
        repoSizeBytes: num(repo.size),
        repoDeltaBytes: num(repo.delta),
        walStart: str(archive.start),
        walStop: str(archive.stop),
        lsnStart: str(lsn.start),
        lsnStop: str(lsn.stop),
        prior: typeof b.prior === 'string' ? b.prior : null,
        error: b.error === true,
        pgVersion: version(obj(b.database).id),
      };
    });
  const archives = (Array.isArray(s.archive) ? (s.archive as unknown[]) : []).map(obj);
  const mins = archives
    .map((a) => str(a.min))
    .filter(Boolean)
    .sort();
  const maxes = archives
    .map((a) => str(a.max))
    .filter(Boolean)
    .sort();
  const status = obj(s.status);
  return {
    backups,
    archiveMin: mins[0] ?? null,
    archiveMax: maxes[maxes.length - 1] ?? null,
    statusCode: typeof status.code === 'number' ? status.code : -1,
    statusMessage: str(status.message),
    backupLockHeld: obj(obj(status.lock).backup).held === true,
  };
}

/** The timeline of a WAL segment name (its first 8 hex digits), 0 when unknown. */
export function timelineOf(wal: string): number {
  return /^[0-9A-F]{8}/i.test(wal) ? Number.parseInt(wal.slice(0, 8), 16) : 0;
}

/** What the runner knows beside pgBackRest's own view of the backup. */
export interface RunFacts {
  status: 'ok' | 'failed';
  /** ISO 8601 */
  started: string;
  finished: string;
  durationMs: number;
  node: string;
  role: 'primary' | 'standby' | '';
  error: string;
}

/** The fields of `backup:<tipo>:<date>` (DESIGN.md), every value a string as Redis stores it. */
export function backupHash(b: EngineBackup | undefined, f: RunFacts): Record<string, string> {
  return {
    label: b?.label ?? '',
    type: b?.type ?? '',
    status: f.status,
    started: f.started,
    finished: f.finished,
    duration: (f.durationMs / 1000).toFixed(3),
    size: String(b?.sizeBytes ?? 0),
    repository_size: String(b?.repoSizeBytes ?? 0),
    repository_delta: String(b?.repoDeltaBytes ?? 0),
    wal_start: b?.walStart ?? '',
    wal_stop: b?.walStop ?? '',
    lsn_start: b?.lsnStart ?? '',
    lsn_stop: b?.lsnStop ?? '',
    timeline: String(b ? timelineOf(b.walStart) : 0),
    node: f.node,
    role: f.role,
    pg_version: b?.pgVersion ?? '',
    prior: b?.prior ?? '',
    error: f.error,
  };
}
