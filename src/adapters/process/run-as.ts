/**
 * Which OS user runs the PostgreSQL programs.
 *
 * postgres refuses to run as root, so as root every server-side command runs as the
 * `postgres` user; otherwise as the current user.
 */
import { execFileSync } from 'node:child_process';

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
