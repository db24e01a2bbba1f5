/**
 * A Docker engine of the test's own (docs: /work/shared/notes/docker.md): dockerd with its own
 * socket, data root, exec root and pid file, link-local addresses only (bip and address pools
 * in 169.254.0.0/16), iptables off (no NAT: containers reach nothing outside the machine).
 * Base images are built locally (debootstrap) and tagged with the names the Dockerfile and
 * docker-compose.yml use, since no registry is reachable. Everything is stopped by PID.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Engine {
  host: string;
  docker(args: string[], opts?: { input?: string; cwd?: string; timeoutMs?: number }): string;
  stop(): Promise<void>;
}

export const step = async <T>(what: string, fn: () => Promise<T> | T): Promise<T> => {
  const t0 = Date.now();
  const out = await fn();
  console.log(`[containers] ${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return out;
};

const BRIDGE = 'docker0';

export function installPackages(): void {
  const missing = ['dockerd', 'docker-compose', 'debootstrap'].filter(
    (b) => spawnOk('sh', ['-c', `command -v ${b}`]) === false,
  );
  if (missing.length === 0) return;
  execFileSync('apt-get', ['install', '-y', '-qq', 'docker.io', 'docker-compose', 'debootstrap'], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: 'ignore',
  });
}

function spawnOk(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function startEngine(): Promise<Engine> {
  const dir = mkdtempSync(join(tmpdir(), 'pgvigil-docker-'));
  const sock = join(dir, 'docker.sock');
  const host = `unix://${sock}`;
  const cfg = join(dir, 'daemon.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      bip: '169.254.200.1/24',
      'default-address-pools': [{ base: '169.254.0.0/16', size: 24 }],
      iptables: false,
      'ip-masq': false,
    }),
  );
  const child: ChildProcess = spawn(
    'dockerd',
    [
      `--config-file=${cfg}`,
      `--data-root=${join(dir, 'data')}`,
      `--exec-root=${join(dir, 'exec')}`,
      `--pidfile=${join(dir, 'dockerd.pid')}`,
      `-H`,
      host,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: false },
  );
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-8000);
  });
  const docker: Engine['docker'] = (args, opts = {}) =>
    execFileSync('docker', args, {
      env: { ...process.env, DOCKER_HOST: host },
      encoding: 'utf8',
      input: opts.input,
      cwd: opts.cwd,
      timeout: opts.timeoutMs ?? 600_000,
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  const stop = async () => {
    // what a failed run left behind (compose down or a provider's down() never ran or failed):
    // every container with its volumes, every network; the bridges of those networks
    // (br-<id>) are deleted below, since dockerd leaves them when it stops
    const bridges: string[] = [];
    if (child.exitCode === null) {
      const list = (args: string[]) => {
        try {
          return docker(args, { timeoutMs: 60_000 }).split('\n').filter(Boolean);
        } catch {
          return [];
        }
      };
      const containers = list(['ps', '-aq']);
      if (containers.length > 0) list(['rm', '-f', '-v', ...containers]);
      bridges.push(
        ...list(['network', 'ls', '--no-trunc', '-q', '--filter', 'driver=bridge']).map(
          (id) => `br-${id.slice(0, 12)}`,
        ),
      );
      list(['network', 'prune', '-f']);
    }
    if (child.exitCode === null && child.pid) {
      child.kill('SIGTERM');
      await new Promise((r) => {
        const t = setTimeout(() => {
          child.kill('SIGKILL');
        }, 20_000);
        child.once('exit', () => {
          clearTimeout(t);
          r(undefined);
        });
      });
    }
    for (const b of [BRIDGE, ...bridges])
      if (spawnOk('ip', ['link', 'show', b])) spawnOk('ip', ['link', 'delete', b]);
    // what dockerd leaves mounted under its roots (netns files, overlay layers), deepest first
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '')
      .filter((m) => m.startsWith(dir))
      .sort()
      .reverse();
    for (const m of mounts) spawnOk('umount', [m]);
    writeFileSync(`${dir}.dockerd.log`, stderr);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`dockerd exited: ${stderr}`);
    if (existsSync(sock) && spawnOk('sh', ['-c', `DOCKER_HOST=${host} docker info >/dev/null`]))
      return { host, docker, stop };
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new Error(`dockerd did not answer within 30 s: ${stderr}`);
}

/** debootstrap once per machine (cached under /var/cache/pgvigil-test), imported as `name`. */
export function debianBase(e: Engine, name: string): void {
  const cache = '/var/cache/pgvigil-test/bookworm-minbase.tar';
  if (!existsSync(cache)) {
    mkdirSync('/var/cache/pgvigil-test', { recursive: true });
    const root = mkdtempSync(join(tmpdir(), 'pgvigil-rootfs-'));
    try {
      execFileSync(
        'debootstrap',
        ['--variant=minbase', 'bookworm', root, 'http://deb.debian.org/debian'],
        { stdio: 'ignore', timeout: 600_000 },
      );
      execFileSync('tar', ['-C', root, '-cf', `${cache}.tmp`, '.']);
      execFileSync('mv', [`${cache}.tmp`, cache]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
  e.docker(['import', cache, name], { timeoutMs: 300_000 });
}

/** Build `tag` from a Dockerfile text and a context of files (path -> source path). */
export function buildStandIn(
  e: Engine,
  tag: string,
  dockerfile: string,
  files: Record<string, string> = {},
): void {
  const ctx = mkdtempSync(join(tmpdir(), 'pgvigil-ctx-'));
  try {
    writeFileSync(join(ctx, 'Dockerfile'), dockerfile);
    for (const [to, from] of Object.entries(files)) execFileSync('cp', ['-a', from, join(ctx, to)]);
    e.docker(['build', '--network', 'host', '-q', '-t', tag, ctx], { timeoutMs: 900_000 });
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

export const readText = (p: string) => readFileSync(p, 'utf8');
