/**
 * Which OS user runs the PostgreSQL programs, and files written for it.
 *
 * postgres refuses to run as root, so as root every server-side command runs as the
 * `postgres` user (or the data directory's owner); otherwise as the current user.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

import { UserError } from '../../core/errors.js';

/** An OS identity for spawn's uid/gid options. */
export interface RunAs {
  user: string;
  uid: number;
  gid: number;
  home: string;
}

/** `postgres` when we are root, undefined (= ourselves) otherwise. */
export function defaultRunAs(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  return lookupUser('postgres');
}

/** getent-style lookup of an OS user. */
export function lookupUser(user: string): RunAs {
  let line: string;
  try {
    line = execFileSync('getent', ['passwd', user], { encoding: 'utf8' }).trim();
  } catch {
    throw new UserError(
      `OS user ${user} not found: apt-get install -y postgresql creates it (or useradd -r ${user})`,
    );
  }
  const [, , uid, gid, , home] = line.split(':');
  return { user, uid: Number(uid), gid: Number(gid), home: home ?? '/' };
}

/** The identity a data directory must be run as: its owner (when that is not us). */
export function ownerOf(dataDir: string): RunAs | undefined {
  const st = statSync(dataDir);
  if (st.uid === process.getuid?.()) return undefined;
  return { user: String(st.uid), uid: st.uid, gid: st.gid, home: dirname(dataDir) };
}

/** Give `path` to `runAs` (nothing to do when we run as ourselves). */
export function own(path: string, runAs: RunAs | undefined): void {
  if (runAs) chownSync(path, runAs.uid, runAs.gid);
}

/** Write a file only its owner may read, owned by `runAs`. */
export function writeOwned(path: string, text: string, runAs: RunAs | undefined): void {
  writeFileSync(path, text, { mode: 0o600 });
  own(path, runAs);
}
