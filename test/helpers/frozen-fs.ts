/**
 * A small ext4 file system on a loop device that a test can freeze (`fsfreeze -f`: every write
 * to it blocks, reads go on) and thaw: stuck I/O on real storage. Root only.
 *
 * `release()` thaws, unmounts and detaches the loop device by the name `losetup --find --show`
 * gave, and removes the image; call it in afterAll AFTER stopping whatever uses the mount
 * (`thaw()` first, so those processes can stop). A process 'exit' handler does the same
 * (thaw, lazy unmount, detach) when a run dies before afterAll.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FrozenFs {
  /** the mount point */
  dir: string;
  /** the loop device, e.g. /dev/loop3 */
  device: string;
  freeze(): void;
  thaw(): void;
  release(): void;
}

/** Why the stuck-I/O fault cannot run here (one line), or null when it can. */
export function frozenFsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (loop devices, mount, fsfreeze)';
  for (const tool of ['losetup', 'mkfs.ext4', 'fsfreeze', 'mount', 'umount']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} not installed`;
  }
  if (spawnSync('losetup', ['--find']).status !== 0) return 'no free loop device';
  return null;
}

const live = new Set<FrozenFs>();
process.once('exit', () => {
  for (const fs of live) fs.release();
});

const quiet = (cmd: string, args: string[]): boolean =>
  spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 }).status === 0;

/** Create, format and mount; the mount point is owned by `owner` (the postgres OS user). */
export function makeFrozenFs(opts: { sizeMb?: number; owner?: { uid: number; gid: number } }) {
  const root = mkdtempSync(join(tmpdir(), 'pgvigil-frozen-'));
  chmodSync(root, 0o755); // the owner (postgres) must reach the mount point
  const image = join(root, 'fs.img');
  const dir = join(root, 'mnt');
  mkdirSync(dir);
  execFileSync('truncate', ['-s', `${opts.sizeMb ?? 200}M`, image]);
  let device = '';
  let mounted = false;
  let frozen = false;
  let released = false;
  const fs: FrozenFs = {
    dir,
    get device() {
      return device;
    },
    freeze() {
      execFileSync('fsfreeze', ['-f', dir]);
      frozen = true;
    },
    thaw() {
      if (frozen) quiet('fsfreeze', ['-u', dir]);
      frozen = false;
    },
    release() {
      if (released) return;
      fs.thaw();
      if (mounted && !quiet('umount', [dir])) quiet('umount', ['-l', dir]);
      mounted = false;
      if (device !== '') quiet('losetup', ['-d', device]);
      released = true;
      live.delete(fs);
      rmSync(root, { recursive: true, force: true });
    },
  };
  live.add(fs);
  try {
    device = execFileSync('losetup', ['--find', '--show', image], { encoding: 'utf8' }).trim();
    execFileSync('mkfs.ext4', ['-q', device]);
    execFileSync('mount', [device, dir]);
    mounted = true;
    if (opts.owner) chownSync(dir, opts.owner.uid, opts.owner.gid);
  } catch (err) {
    fs.release();
    throw err;
  }
  return fs;
}
