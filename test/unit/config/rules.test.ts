/**
 * The cross-field rules of src/config/rules.ts that guard against unsafe combinations, each
 * refused with one line naming its keys and values; both timing profiles and the config that
 * `local up` writes pass all of them; `postgresSecrets: false` loads without any PostgreSQL
 * password. (load.test.ts covers the older rules and the loading itself.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';

import { localNodeNames } from '../../../src/commands/backup-deps.js';
import { LEASE_FACTOR, TIMING_DEFAULTS } from '../../../src/config/defaults.js';
import { loadConfig, loadConfigWithWarnings } from '../../../src/config/load.js';
import { crossFieldIssues } from '../../../src/config/rules.js';
import type { Timing } from '../../../src/config/types.js';
import { ConfigError } from '../../../src/core/errors.js';
import { writeConfigFile, writeSecretsFile } from '../../../src/local/config-file.js';

const PW = { PGVIGIL_CLUSTERS__MAIN__PASSWORD: 'pw-env' };
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'pgvigil-rules-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let seq = 0;
function tmpDir(): string {
  const d = path.join(tmpRoot, String(seq++));
  fs.mkdirSync(d);
  return d;
}

type Raw = Record<string, unknown>;
const node = (name: string, port: number, extra: Raw = {}): Raw => ({
  name,
  host: '127.0.0.1',
  port,
  ...extra,
});
function base(extra: Raw = {}): Raw {
  return { clusters: [{ name: 'main', nodes: [node('pg1', 5432), node('pg2', 5433)] }], ...extra };
}
function write(raw: Raw, files: Record<string, string> = {}): string {
  const dir = tmpDir();
  for (const [name, text] of Object.entries(files))
    fs.writeFileSync(path.join(dir, name), text, { mode: 0o600 });
  const file = path.join(dir, 'pgvigil.yaml');
  fs.writeFileSync(file, YAML.stringify(raw));
  return file;
}
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('timing profiles pass every rule', () => {
  it.each(['default', 'fast'] as const)('%s, every key from the profile', (profile) => {
    const c = loadConfig({ file: write(base({ timing: { profile } })), env: PW });
    expect(c.timing.profile).toBe(profile);
    expect(crossFieldIssues(c)).toEqual([]);
  });
  it.each<[Timing['profile'], number]>([
    ['default', 1500],
    ['fast', 500],
  ])('%s: leaseMs defaults to downAfterMs/2 = %d', (profile, lease) => {
    const c = loadConfig({ file: write(base({ timing: { profile } })), env: PW });
    expect(c.timing.leaseMs).toBe(lease);
    expect(c.timing.leaseMs).toBe(LEASE_FACTOR * TIMING_DEFAULTS[profile].downAfterMs);
  });
  it('the lease follows an explicit downAfterMs (as voteTtlMs does)', () => {
    const c = loadConfig({ file: write(base({ timing: { downAfterMs: 5000 } })), env: PW });
    expect(c.timing).toMatchObject({ downAfterMs: 5000, leaseMs: 2500, voteTtlMs: 10_000 });
  });
});

describe('the config `local up` writes passes every rule', () => {
  it.each<[string, { sentinels: number; redis: number; profile: Timing['profile'] }, Raw]>([
    ['1 sentinel, 1 redis', { sentinels: 1, redis: 1, profile: 'default' }, {}],
    ['2 sentinels', { sentinels: 2, redis: 1, profile: 'default' }, {}],
    ['3 sentinels, 3 redis, fast', { sentinels: 3, redis: 3, profile: 'fast' }, {}],
    ['4 sentinels, 5 redis, sync', { sentinels: 4, redis: 5, profile: 'default' }, { sync: true }],
    ['5 sentinels, fast, token', { sentinels: 5, redis: 3, profile: 'fast' }, { token: true }],
  ])('%s', (_what, o, extra) => {
    const dir = tmpDir();
    writeSecretsFile(dir, 'local');
    if (extra.token) fs.writeFileSync(path.join(dir, 'api-token'), 'tok\n', { mode: 0o600 });
    const nodes = ['pg1', 'pg2', 'pg3'].map((name, i) => ({
      name,
      host: '127.0.0.1',
      port: 15432 + i,
      dataDir: path.join(dir, 'data', name),
      agentUrl: `http://127.0.0.1:${18008 + i}`,
    }));
    const file = writeConfigFile(dir, {
      sentinels: o.sentinels,
      redis: Array.from({ length: o.redis }, (_, i) => `redis://127.0.0.1:${16379 + i}`),
      apiPort: 18088,
      withToken: extra.token === true,
      profile: o.profile,
      timing: {},
      cluster: 'local',
      initialPrimary: 'pg1',
      replicationMode: extra.sync ? 'sync' : undefined,
      nodes,
    });
    const { config, warnings } = loadConfigWithWarnings({ file, env: {} });
    expect(warnings).toEqual([]);
    expect(config.timing.profile).toBe(o.profile);
    expect(config.clusters[0]?.password).not.toBe('');
  });
});

describe('unsafe combinations are refused, naming the keys', () => {
  it.each<[string, Raw, string]>([
    [
      'a lease that outlasts the sentinels (default profile, downAfterMs 3000)',
      base({ timing: { leaseMs: 1801 } }),
      'timing.leaseMs: 1801 is too long for downAfterMs=3000: an isolated primary must be fenced before the sentinels can promote another node, so leaseMs + fenceMs + probeIntervalMs must be <= downAfterMs, leaseMs <= 3000-900-300 = 1800 (shorten timing.leaseMs or timing.fenceMs, or lengthen timing.downAfterMs)',
    ],
    [
      'the old 5 s lease default',
      base({ timing: { leaseMs: 5000 } }),
      'timing.leaseMs: 5000 is too long for downAfterMs=3000',
    ],
    [
      'a lease that outlasts the fast profile',
      base({ timing: { profile: 'fast', leaseMs: 601 } }),
      'leaseMs <= 1000-300-100 = 600',
    ],
    [
      'a slow fence eats the margin',
      base({ timing: { fenceMs: 1500 } }),
      'timing.leaseMs: 1500 is too long for downAfterMs=3000: an isolated primary must be fenced before the sentinels can promote another node, so leaseMs + fenceMs + probeIntervalMs must be <= downAfterMs, leaseMs <= 3000-1500-300 = 1200',
    ],
    [
      'a lease one failed read would break',
      base({ timing: { leaseMs: 1000 } }),
      'timing.leaseMs: 1000 must be greater than agentIntervalMs + redisTimeoutMs = 500+500 = 1000 (one Redis read that times out would fence a healthy primary)',
    ],
    [
      'a lock TTL under the Redis timeout',
      base({
        timing: { lockTtlMs: 700, redisTimeoutMs: 700, leaseMs: 1500, agentIntervalMs: 100 },
      }),
      'timing.lockTtlMs: 700 must be greater than redisTimeoutMs=700 (a lock won in one slow Redis round trip would have expired already)',
    ],
    [
      'a vote TTL under downAfterMs',
      base({ timing: { voteTtlMs: 2999 } }),
      'timing.voteTtlMs: 2999 must be >= downAfterMs=3000 (votes would expire before a quorum forms)',
    ],
    [
      'a lock TTL under two probe intervals',
      base({ timing: { lockTtlMs: 600 } }),
      'timing.lockTtlMs: 600 must be greater than 2*probeIntervalMs=600 (the leader would lose its lock between ticks)',
    ],
    [
      'two Redis servers',
      base({ coordination: { redis: ['redis://a:1', 'redis://b:1'] } }),
      'coordination.redis: 2 servers given: use 1, 3 or 5 independent Redis servers (a majority of 2 is 2, which survives no more failures than 1 servers do, with one more server to fail)',
    ],
    [
      'four Redis servers',
      base({
        coordination: { redis: ['redis://a:1', 'redis://b:1', 'redis://c:1', 'redis://d:1'] },
      }),
      'coordination.redis: 4 servers given: use 1, 3 or 5 independent Redis servers (a majority of 4 is 3, which survives no more failures than 3 servers do',
    ],
    [
      'seven Redis servers',
      base({ coordination: { redis: [1, 2, 3, 4, 5, 6, 7].map((i) => `redis://r${i}:1`) } }),
      'coordination.redis: 7 servers given: use 1, 3 or 5 independent Redis servers',
    ],
    [
      'a quorum that is not a majority',
      base({ sentinels: 5, clusters: [{ name: 'main', quorum: 2, nodes: [node('pg1', 1)] }] }),
      'clusters[0].quorum: quorum 2 is not a majority of sentinels=5: set quorum >= 3',
    ],
    [
      'two nodes at one host:port',
      base({ clusters: [{ name: 'main', nodes: [node('pg1', 5432), node('pg2', 5432)] }] }),
      'clusters[0].nodes[1].port: 127.0.0.1:5432 is also clusters[0].nodes[0] (pg1): each node must be a PostgreSQL server of its own',
    ],
    [
      'one server in two clusters (host case and IPv6 brackets do not hide it)',
      base({
        clusters: [
          { name: 'main', nodes: [node('pg1', 5432, { host: '::1' })] },
          { name: 'b', nodes: [node('pg1', 5432, { host: '[::1]' })] },
        ],
      }),
      'clusters[1].nodes[0].port: [::1]:5432 is also clusters[0].nodes[0] (pg1)',
    ],
    [
      'two nodes with one agent',
      base({
        clusters: [
          {
            name: 'main',
            nodes: [
              node('pg1', 5432, { agent: { url: 'http://127.0.0.1:8008' } }),
              node('pg2', 5433, { agent: { url: 'http://127.0.0.1:8008/' } }),
            ],
          },
        ],
      }),
      'clusters[0].nodes[1].agent.url: http://127.0.0.1:8008/ is also the agent of clusters[0].nodes[0] (pg1): an agent serves one node',
    ],
    [
      'a duplicate node name',
      base({ clusters: [{ name: 'main', nodes: [node('pg1', 1), node('pg1', 2)] }] }),
      'clusters[0].nodes[1].name: duplicate node name "pg1" in cluster main',
    ],
    [
      'initialPrimary naming no node',
      base({ clusters: [{ name: 'main', initialPrimary: 'pg3', nodes: [node('pg1', 1)] }] }),
      'clusters[0].initialPrimary: "pg3" is not a node of cluster main (nodes: pg1)',
    ],
    [
      'preferredPrimary naming no node',
      base({ clusters: [{ name: 'main', preferredPrimary: 'pg3', nodes: [node('pg1', 1)] }] }),
      'clusters[0].preferredPrimary: "pg3" is not a node of cluster main (nodes: pg1)',
    ],
  ])('%s', (_what, raw, expected) => {
    const message = errorOf(() => loadConfig({ file: write(raw), env: PW }));
    expect(message).toMatch(/^invalid config \S+pgvigil\.yaml: /);
    expect(message).toContain(expected);
    expect(message).not.toContain('\n');
  });
  it('a lease set by the environment says so', () => {
    const message = errorOf(() =>
      loadConfig({ file: write(base()), env: { ...PW, PGVIGIL_TIMING__LEASE_MS: '2500' } }),
    );
    expect(message).toMatch(
      /timing\.leaseMs: 2500 is too long .*\(set by PGVIGIL_TIMING__LEASE_MS\)$/,
    );
  });
  it('the largest lease allowed is accepted', () => {
    const c = loadConfig({ file: write(base({ timing: { leaseMs: 1800 } })), env: PW });
    expect(c.timing.leaseMs).toBe(1800);
  });
  it('the same port on different hosts is fine', () => {
    const raw = base({
      clusters: [
        {
          name: 'main',
          nodes: [node('pg1', 5432, { host: 'a' }), node('pg2', 5432, { host: 'b' })],
        },
      ],
    });
    expect(loadConfig({ file: write(raw), env: PW }).clusters[0]?.nodes).toHaveLength(2);
  });
});

describe('postgresSecrets: false (the commands that only talk to Redis)', () => {
  const withFiles = base({
    clusters: [
      {
        name: 'main',
        passwordFile: 'absent.pw',
        replication: { passwordFile: 'absent-repl.pw' },
        nodes: [node('pg1', 5432), node('pg2', 5433)],
      },
    ],
  });
  it('loads without any PostgreSQL password', () => {
    const c = loadConfig({ file: write(base()), env: {}, postgresSecrets: false });
    expect(c.clusters.map((x) => x.name)).toEqual(['main']);
    expect(c.clusters[0]).not.toHaveProperty('password');
    expect(c.clusters[0]?.replication).toEqual({
      mode: 'async',
      user: 'replicator',
      maxSlotWalKeepSize: '1GB',
      dropSlotAfterMs: 600_000,
    });
    expect(Object.isFrozen(c)).toBe(true);
  });
  it('neither opens a passwordFile nor keeps a password given anyway', () => {
    const c = loadConfig({ file: write(withFiles), env: PW, postgresSecrets: false });
    expect(JSON.stringify(c)).not.toContain('pw-env');
    expect(c.clusters[0]).not.toHaveProperty('password');
  });
  it('the default still requires and reads them (sentinel, agent)', () => {
    expect(errorOf(() => loadConfig({ file: write(base()), env: {} }))).toContain(
      'clusters[0].password is required: set PGVIGIL_CLUSTERS__MAIN__PASSWORD or passwordFile',
    );
    expect(errorOf(() => loadConfig({ file: write(withFiles), env: {} }))).toMatch(
      /clusters\[0\]\.passwordFile: cannot read .*absent\.pw: ENOENT/,
    );
    expect(
      errorOf(() => loadConfig({ file: write(base()), env: {}, postgresSecrets: true })),
    ).toContain('clusters[0].password is required');
  });
  it('every other rule and secret still holds', () => {
    expect(
      errorOf(() =>
        loadConfig({ file: write(base({ sentinels: 4 })), env: {}, postgresSecrets: false }),
      ),
    ).toContain('clusters[0].quorum: quorum 2 is not a majority of sentinels=4');
    const token = base({ sentinel: { api: { host: '0.0.0.0', tokenFile: 'absent-token' } } });
    expect(
      errorOf(() => loadConfig({ file: write(token), env: {}, postgresSecrets: false })),
    ).toMatch(/sentinel\.api\.tokenFile: cannot read .*absent-token: ENOENT/);
    const secretsFile = base({ secretsFile: 'absent.env' });
    expect(
      errorOf(() => loadConfig({ file: write(secretsFile), env: {}, postgresSecrets: false })),
    ).toMatch(/secretsFile: cannot read .*absent\.env: ENOENT/);
  });
  it('reads the rest of a secretsFile (a Redis URL there counts)', () => {
    const file = write(base({ secretsFile: 's.env' }), {
      's.env': 'PGVIGIL_COORDINATION__REDIS=redis://u:p@r1:6379\n',
    });
    const c = loadConfig({ file, env: {}, postgresSecrets: false });
    expect(c.coordination.redis).toEqual(['redis://u:p@r1:6379']);
  });
});

describe('backup.localOnly', () => {
  it('is refused beside backup.fromStandby (the standby would not be listed)', () => {
    const msg = errorOf(() =>
      loadConfig({
        file: write(base({ backup: { localOnly: true, fromStandby: true } })),
        env: PW,
      }),
    );
    expect(msg).toMatch(/backup\.fromStandby.*cannot go with backup\.localOnly/);
  });
  it("gives pgBackRest this machine's nodes only: loopback, this hostname, an agent's own", () => {
    const raw = {
      backup: { localOnly: true },
      clusters: [
        {
          name: 'main',
          nodes: [
            node('pg1', 5432, { host: os.hostname() }),
            node('pg2', 5432, { host: 'db-elsewhere.example' }),
            node('pg3', 5433),
            node('pg4', 5432, { host: 'db-four.example' }),
          ],
        },
      ],
    };
    const c = loadConfig({ file: write(raw), env: PW });
    expect(localNodeNames(c, c.clusters[0]!)).toEqual(['pg1', 'pg3']);
    expect(localNodeNames(c, c.clusters[0]!, 'pg4')).toEqual(['pg1', 'pg3', 'pg4']);
    const all = loadConfig({ file: write({ ...raw, backup: {} }), env: PW });
    expect(localNodeNames(all, all.clusters[0]!)).toBeUndefined();
  });
});
