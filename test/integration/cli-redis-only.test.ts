/**
 * The commands that talk only to Redis (`status`, `events`, `pause`, `resume`) run against a real
 * redis-server with a config that gives no PostgreSQL password anywhere (file, secretsFile,
 * environment): they load it with `postgresSecrets: false`. `sentinel` still refuses it.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';

import { cliEntry } from '../../src/local/cli-entry.js';
import { type RedisTestCluster, startRedisCluster } from '../helpers/redis.js';

const exec = promisify(execFile);
const env = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith('PGVIGIL_')),
);

describe('Redis-only commands without a PostgreSQL password', () => {
  let dir: string;
  let redis: RedisTestCluster;
  let config: string;
  const cli = (...args: string[]) =>
    exec(process.execPath, [cliEntry(), ...args, '--config', config], { env, cwd: dir }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgvigil-cli-redis-'));
    redis = await startRedisCluster(1, path.join(dir, 'redis'));
    config = path.join(dir, 'pgvigil.yaml');
    fs.writeFileSync(
      config,
      YAML.stringify({
        coordination: { redis: redis.urls, prefix: `cli-${process.pid}` },
        clusters: [
          {
            name: 'main',
            nodes: [
              { name: 'pg1', host: '127.0.0.1', port: 1 },
              { name: 'pg2', host: '127.0.0.1', port: 2 },
            ],
          },
        ],
      }),
    );
  });
  afterAll(async () => {
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('events, pause, status and resume work; sentinel still demands the password', async () => {
    const events = await cli('events');
    expect(events).toEqual({ code: 0, stdout: '', stderr: '' });

    const paused = await cli('pause', '--reason', 'upgrade');
    expect(paused.stderr).toBe('');
    expect(paused).toMatchObject({
      code: 0,
      stdout: 'main: paused: no automatic failover until `pgvigil resume`\n',
    });

    const status = await cli('status', '--json');
    expect(status.stderr).toBe('');
    expect(status.code).toBe(1); // warnings: no topology yet, no live sentinel, paused
    expect(JSON.parse(status.stdout)).toMatchObject({ cluster: 'main', paused: true, epoch: 0 });

    const history = await cli('events', '--json');
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(/"type":"paused"/);

    expect(await cli('resume')).toMatchObject({
      code: 0,
      stdout: 'main: resumed: automatic failover enabled\n',
    });

    const sentinel = await cli('sentinel');
    expect(sentinel.code).toBe(1);
    expect(sentinel.stderr).toMatch(
      /^pgvigil: invalid config \S+: clusters\[0\]\.password is required: set PGVIGIL_CLUSTERS__MAIN__PASSWORD or passwordFile\n$/,
    );
  });
});
