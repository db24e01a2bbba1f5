/**
 * N independent redis-server processes for integration tests, each in its own directory
 * under `dir`, on free loopback ports.
 *
 * Fault helpers: `kill(i)`/`start(i)` really stop a server and start an empty one on the same
 * port (a restart without persistence: it missed everything); `freeze(i)`/`thaw(i)` SIGSTOP
 * and SIGCONT it (a hung server: connections stay open, commands time out).
 *
 * Every PID started here is also SIGKILLed when the test process exits, so a failing or
 * aborted test never leaves a redis-server behind; `stop()` in afterAll is the normal path.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';

import { Redis } from 'ioredis';

import { type RedisServerHandle, startRedisServer } from '../../src/local/redis-server.js';

export interface RedisTestCluster {
  readonly urls: string[];
  /** current handles (a `start(i)` replaces entry i) */
  readonly servers: (RedisServerHandle | null)[];
  /**
   * Stop server i. With `keepData` it first SAVEs an RDB snapshot, which `start(i)` loads
   * again: the server comes back with what it had, having missed what happened meanwhile.
   * Without it, it comes back empty.
   */
  kill(i: number, options?: { keepData?: boolean }): Promise<void>;
  start(i: number): Promise<void>;
  freeze(i: number): void;
  thaw(i: number): void;
  stop(): Promise<void>;
}

const live = new Set<number>();
let exitHookInstalled = false;

function track(pid: number): void {
  live.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of live) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
}

export async function startRedisCluster(n: number, dir: string): Promise<RedisTestCluster> {
  const servers: (RedisServerHandle | null)[] = [];
  const ports: number[] = [];
  const startOne = async (i: number, port?: number): Promise<RedisServerHandle> => {
    const handle = await startRedisServer({
      dir: path.join(dir, `redis-${i}`),
      port,
      name: `redis-${i}`,
    });
    track(handle.pid);
    servers[i] = handle;
    ports[i] = handle.port;
    return handle;
  };
  const stopOne = async (i: number, options: { keepData?: boolean } = {}): Promise<void> => {
    const handle = servers[i];
    if (!handle) return;
    const rdb = path.join(handle.dir, 'dump.rdb');
    if (options.keepData) await save(handle.port);
    else rmSync(rdb, { force: true });
    await handle.stop();
    live.delete(handle.pid);
    servers[i] = null;
  };
  const handleOf = (i: number): RedisServerHandle => {
    const handle = servers[i];
    if (!handle) throw new Error(`redis-${i} is not running`);
    return handle;
  };

  try {
    for (let i = 0; i < n; i++) await startOne(i);
  } catch (err) {
    await Promise.all(servers.map((_, i) => stopOne(i)));
    throw err;
  }

  return {
    urls: ports.map((port) => `redis://127.0.0.1:${port}`),
    servers,
    kill: stopOne,
    async start(i) {
      if (servers[i]) return;
      await startOne(i, ports[i]);
    },
    freeze(i) {
      process.kill(handleOf(i).pid, 'SIGSTOP');
    },
    thaw(i) {
      process.kill(handleOf(i).pid, 'SIGCONT');
    },
    async stop() {
      await Promise.all(servers.map((_, i) => stopOne(i)));
    },
  };
}

async function save(port: number): Promise<void> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.save();
  } finally {
    client.disconnect();
  }
}
