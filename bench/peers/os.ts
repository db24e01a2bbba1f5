/** OS side of `bench:peers`: the Debian packages, running as the postgres user. */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync } from 'node:fs';

export const PG_BIN = '/usr/lib/postgresql/15/bin';

export const PACKAGES = ['patroni', 'python3-etcd', 'etcd-server', 'postgresql-15-auto-failover'];
export const INSTALL_CMD = `apt-get install -y ${PACKAGES.join(' ')}`;

const isRoot = (): boolean => process.getuid?.() === 0;

function missing(): string[] {
  return PACKAGES.filter(
    (p) =>
      spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' }).stdout !==
      'install ok installed',
  );
}

/** Install the peers' packages (root), or say what to run; false when they are not there. */
export function ensureInstalled(out: (line: string) => void): boolean {
  const need = missing();
  if (need.length === 0) return true;
  if (!isRoot()) {
    out(`bench:peers: missing Debian packages ${need.join(', ')}: run as root: ${INSTALL_CMD}`);
    return false;
  }
  out(`installing ${need.join(', ')} (${INSTALL_CMD})`);
  execFileSync('apt-get', ['install', '-y', ...PACKAGES], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return missing().length === 0;
}

let pgIds: { uid: number; gid: number } | undefined;

function postgresIds(): { uid: number; gid: number } {
  pgIds ??= {
    uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
  };
  return pgIds;
}

/** Make a temp dir the postgres user's (when root: Patroni and pg_autoctl refuse to run as root). */
export function handToPostgres(dir: string): void {
  if (!isRoot()) return;
  const { uid, gid } = postgresIds();
  chownSync(dir, uid, gid);
}

/** `cmd args` as the postgres user when root (runuser), as is otherwise. */
export function asPostgres(cmd: string, args: string[]): [string, string[]] {
  return isRoot() ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}
