/**
 * A sentinel's id must survive restarts: a restarted sentinel with a new id would count twice
 * toward the quorum while its old votes live (up to `voteTtlMs`). The id is `sentinel.id` (or
 * `--id`) when configured; otherwise it is read from `sentinel.idFile` (default `sentinel.id`
 * beside the config file), which the first start creates once (mode 0600, `<hostname>-<random>`)
 * and every later start reads back.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { UserError } from '../core/errors.js';

const VALID_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
export const DEFAULT_ID_FILE = 'sentinel.id';

export function idFilePath(o: { idFile?: string; baseDir: string }): string {
  return o.idFile ?? path.join(o.baseDir, DEFAULT_ID_FILE);
}

function readId(file: string): string {
  const id = fs.readFileSync(file, 'utf8').trim();
  if (!VALID_ID.test(id))
    throw new UserError(
      `${file} does not hold a sentinel id (letters, digits, . _ -, up to 100): fix or remove it`,
    );
  return id;
}

/** The configured id, else the one kept in the id file (created on the first start). */
export function resolveSentinelId(o: { id?: string; idFile?: string; baseDir: string }): {
  id: string;
  source: 'configured' | 'file' | 'created';
  file: string | null;
} {
  if (o.id !== undefined) return { id: o.id, source: 'configured', file: null };
  const file = idFilePath(o);
  if (fs.existsSync(file)) return { id: readId(file), source: 'file', file };
  const host =
    os
      .hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 80) || 'sentinel';
  const id = `${host}-${randomBytes(4).toString('hex')}`;
  try {
    fs.writeFileSync(file, `${id}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // another sentinel start created it first: use what it wrote
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      return { id: readId(file), source: 'file', file };
    throw new UserError(
      `cannot create the sentinel id file ${file} (${(err as Error).message}): set sentinel.id or sentinel.idFile`,
    );
  }
  return { id, source: 'created', file };
}
