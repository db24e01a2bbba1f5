/**
 * Every Redis key pgvigil reads or writes, in one place (DESIGN.md, "Keys").
 *
 * Per-cluster keys live under a configurable prefix (default `pgvigil`):
 * `<prefix>:<cluster>:topology`, `...:vote:<sentinel>`, `...:sentinel:<id>`, `...:lock`,
 * `...:events` (pub/sub channel), `...:history` (stream), `...:paused` (maintenance mode, our
 * addition), and the records of the record API, `...:<name>` (`record()`), whose names are
 * `RECORDS` in src/ports/records.ts beside their schemas, because the runtime that writes and
 * reads them may not import adapters: `...:intent`, `...:intent-result:<id>`, `...:verdict`.
 * What each key holds is decoded by its schema there. Backup metadata keeps the Fase2 manual's
 * names, with no prefix: `backup:<tipo>:<YYYY-MM-DD>`.
 */

export const DEFAULT_PREFIX = 'pgvigil';

export type BackupTipo = 'completo' | 'incremental' | 'diferencial';

export interface Keys {
  readonly prefix: string;
  topology(cluster: string): string;
  vote(cluster: string, sentinel: string): string;
  /** SCAN MATCH pattern of every vote of a cluster */
  votePattern(cluster: string): string;
  sentinel(cluster: string, id: string): string;
  /** SCAN MATCH pattern of every presence key of a cluster */
  sentinelPattern(cluster: string): string;
  lock(cluster: string): string;
  events(cluster: string): string;
  history(cluster: string): string;
  paused(cluster: string): string;
  /** a record of the record API, `name` from RECORDS (src/ports/records.ts) */
  record(cluster: string, name: string): string;
}

export function keys(prefix: string = DEFAULT_PREFIX): Keys {
  const base = (cluster: string): string => `${prefix}:${cluster}`;
  return {
    prefix,
    topology: (c) => `${base(c)}:topology`,
    vote: (c, sentinel) => `${base(c)}:vote:${sentinel}`,
    votePattern: (c) => `${escapeGlob(base(c))}:vote:*`,
    sentinel: (c, id) => `${base(c)}:sentinel:${id}`,
    sentinelPattern: (c) => `${escapeGlob(base(c))}:sentinel:*`,
    lock: (c) => `${base(c)}:lock`,
    events: (c) => `${base(c)}:events`,
    history: (c) => `${base(c)}:history`,
    paused: (c) => `${base(c)}:paused`,
    record: (c, name) => `${base(c)}:${name}`,
  };
}

/** `backup:<tipo>:<YYYY-MM-DD>`, exactly as the Fase2 manual (no prefix). */
export function backup(tipo: BackupTipo, date: Date | string): string {
  return `backup:${tipo}:${typeof date === 'string' ? date : isoDay(date)}`;
}

/** `KEYS`/`SCAN` pattern of every backup record (`backup:*`). */
export const BACKUP_PATTERN = 'backup:*';

/** Local calendar day, as `date +%F` would print it where the backup ran. */
function isoDay(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** Escape Redis glob metacharacters so a cluster name is matched literally. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\^]/g, (ch) => `\\${ch}`);
}
