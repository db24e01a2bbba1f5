/**
 * pgbackrest.conf as pgvigil writes it from its own config (notes/pgbackrest.md): one stanza
 * per cluster named after it, every node listed as pg1..pgN (pgBackRest finds the primary
 * itself, so a failover needs no change), repository, lock, log and spool paths that the
 * postgres OS user owns, and any `repo1-*` option passed through (S3, GCS, Azure...). The
 * file is passed to every call with --config (Debian's /etc/pgbackrest.conf is not readable).
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { own, type RunAs } from '../process/run-as.js';

export interface BackupNode {
  name: string;
  host: string;
  port: number;
  dataDir: string;
  /** unix socket directory of the node (pgBackRest connects over the socket) */
  socketDir: string;
  /** on this machine whatever its host says (backup.localOnly): no pgN-host */
  local?: boolean;
}

export interface PgBackRestLayout {
  stanza: string;
  /** pgvigil's backup working directory: the config file, lock/, log/, spool/ */
  workDir: string;
  /** repo1-path */
  repository: string;
  retentionFull: number;
  /** extra [global] options, e.g. {"repo1-type": "s3", "repo1-s3-bucket": "..."} */
  options: Readonly<Record<string, string>>;
  nodes: readonly BackupNode[];
  /** the database role pgBackRest connects as */
  user: string;
  /** archive-push/backup give up on a missing WAL segment after this */
  archiveTimeoutS: number;
}

export function configPath(l: Pick<PgBackRestLayout, 'workDir' | 'stanza'>): string {
  return join(l.workDir, `pgbackrest-${l.stanza}.conf`);
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** The text of the config file. */
export function renderConfig(l: PgBackRestLayout): string {
  const global: Record<string, string> = {
    'repo1-path': l.repository,
    'repo1-retention-full': String(l.retentionFull),
    'log-path': join(l.workDir, 'log'),
    'lock-path': join(l.workDir, 'lock'),
    'spool-path': join(l.workDir, 'spool'),
    'log-level-console': 'info',
    'log-level-file': 'detail',
    'start-fast': 'y',
    'process-max': '2',
    'compress-type': 'zst',
    'archive-timeout': String(l.archiveTimeoutS),
    ...l.options,
  };
  const lines = ['# written by pgvigil from its config: edit that, not this file', '[global]'];
  for (const [k, v] of Object.entries(global)) lines.push(`${k}=${v}`);
  lines.push('', '[global:archive-push]', 'log-level-console=warn', '', `[${l.stanza}]`);
  l.nodes.forEach((n, i) => {
    const p = `pg${i + 1}`;
    lines.push(`${p}-path=${n.dataDir}`, `${p}-port=${n.port}`, `${p}-socket-path=${n.socketDir}`);
    lines.push(`${p}-user=${l.user}`);
    // a node on another host is reached over pgBackRest's own transport (SSH or TLS server)
    if (!n.local && !LOOPBACK.has(n.host)) lines.push(`${p}-host=${n.host}`);
  });
  return `${lines.join('\n')}\n`;
}

/** Write the config and create the directories it names, owned by `runAs`. */
export function writeConfig(l: PgBackRestLayout, runAs: RunAs | undefined): string {
  for (const d of [l.workDir, ...['log', 'lock', 'spool'].map((s) => join(l.workDir, s))]) {
    if (!existsSync(d)) mkdirSync(d, { recursive: true, mode: 0o750 });
    own(d, runAs);
  }
  const file = configPath(l);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, renderConfig(l), { mode: 0o600 });
  own(tmp, runAs);
  renameSync(tmp, file);
  return file;
}

/** A local (posix) repository directory for a new stanza, owned by `runAs`. */
export function makeRepository(l: PgBackRestLayout, runAs: RunAs | undefined): void {
  const posix = (l.options['repo1-type'] ?? 'posix') === 'posix';
  if (posix && !existsSync(l.repository)) {
    mkdirSync(l.repository, { recursive: true, mode: 0o750 });
    own(l.repository, runAs);
  }
}

/** Where a node's unix socket is: the local cluster's `sockets` beside the data dir, else Debian's. */
export function socketDirOf(dataDir: string, explicit?: string): string {
  if (explicit) return explicit;
  const local = join(dirname(dataDir), 'sockets');
  return existsSync(local) ? local : '/var/run/postgresql';
}
