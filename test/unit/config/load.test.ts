import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';

import {
  formatConfigForDisplay,
  loadConfig,
  loadConfigWithWarnings,
  resolveConfigPath,
} from '../../../src/config/load.js';
import type { Config } from '../../../src/config/types.js';
import { ConfigError } from '../../../src/core/errors.js';

const EXAMPLE = fileURLToPath(new URL('../../../config/pgvigil.yaml', import.meta.url));
const PW = { PGVIGIL_CLUSTERS__MAIN__PASSWORD: 'pw-env' };

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'pgvigil-config-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let dirSeq = 0;
function tmpDir(): string {
  const d = path.join(tmpRoot, String(dirSeq++));
  fs.mkdirSync(d);
  return d;
}

type Raw = Record<string, unknown>;
/** A minimal valid file (with the password from env `PW`). */
function base(): Raw {
  return {
    clusters: [
      {
        name: 'main',
        nodes: [
          { name: 'pg1', host: '127.0.0.1', port: 5432 },
          { name: 'pg2', host: '127.0.0.1', port: 5433 },
        ],
      },
    ],
  };
}
/** Writes `raw` (object or YAML text) plus any side files into a fresh directory. */
function write(
  raw: Raw | string,
  files: Record<string, { text: string; mode?: number }> = {},
): string {
  const dir = tmpDir();
  for (const [name, f] of Object.entries(files)) {
    const p = path.join(dir, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, f.text, { mode: f.mode ?? 0o600 });
    fs.chmodSync(p, f.mode ?? 0o600);
  }
  const file = path.join(dir, 'pgvigil.yaml');
  fs.writeFileSync(file, typeof raw === 'string' ? raw : YAML.stringify(raw));
  return file;
}
function load(raw: Raw | string, env: NodeJS.ProcessEnv = PW): Config {
  return loadConfig({ file: write(raw), env });
}
function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}
function get(o: unknown, p: string): unknown {
  return p
    .split(/[.[\]]/)
    .filter(Boolean)
    .reduce<unknown>((acc, k) => (acc as Record<string, unknown> | undefined)?.[k], o);
}
function mutate(fn: (r: Raw & { clusters: Raw[] }) => void): Raw {
  const r = base() as Raw & { clusters: Raw[] };
  fn(r);
  return r;
}
const cluster0 = (r: { clusters: Raw[] }): Raw => r.clusters[0] as Raw;

describe('defaults', () => {
  const c = load(base());
  it.each<[string, unknown]>([
    ['sentinels', 3],
    ['sentinel.api.host', '127.0.0.1'],
    ['sentinel.api.port', 8088],
    ['sentinel.api.token', undefined],
    ['coordination.prefix', 'pgvigil'],
    ['coordination.redis', ['redis://127.0.0.1:6379']],
    ['log.level', 'info'],
    ['timing.profile', 'default'],
    ['timing.probeIntervalMs', 300],
    ['timing.downAfterMs', 3000],
    ['timing.refusedAfterMs', 1000],
    ['timing.connectTimeoutMs', 1000],
    ['timing.queryTimeoutMs', 1000],
    ['timing.voteTtlMs', 6000],
    ['timing.presenceTtlMs', 5000],
    ['timing.lockTtlMs', 4000],
    ['timing.cooldownMs', 60000],
    ['timing.tiltGapMs', 2000],
    ['timing.tiltMs', 10000],
    ['timing.promoteTimeoutMs', 10000],
    ['timing.redisTimeoutMs', 500],
    ['clusters[0].quorum', 2],
    ['clusters[0].maxLagOnFailoverBytes', 16777216],
    ['clusters[0].database', 'postgres'],
    ['clusters[0].user', 'postgres'],
    ['clusters[0].initialPrimary', 'pg1'],
    ['clusters[0].preferredPrimary', undefined],
    ['clusters[0].replication.mode', 'async'],
    ['clusters[0].replication.user', 'replicator'],
    ['clusters[0].replication.password', 'pw-env'],
    ['clusters[0].nodes[1].priority', 100],
    ['clusters[0].nodes[1].noFailover', false],
  ])('%s = %j', (p, v) => {
    expect(get(c, p)).toEqual(v);
  });
  it('sentinel.id is unset (the id file provides it) and sentinel.peers empty', () => {
    expect(c.sentinel.id).toBeUndefined();
    expect(c.sentinel.peers).toEqual([]);
  });
  it('baseDir is the directory of the file, cwd without one', () => {
    const file = write(base());
    expect(loadConfig({ file, env: PW }).baseDir).toBe(path.dirname(file));
    const noFile = loadConfig({ env: PW, overrides: base() as never });
    expect(noFile.baseDir).toBe(process.cwd());
  });
});

describe('timing profiles', () => {
  it.each<[string, number]>([
    ['probeIntervalMs', 100],
    ['downAfterMs', 1000],
    ['refusedAfterMs', 300],
    ['connectTimeoutMs', 300],
    ['queryTimeoutMs', 300],
    ['voteTtlMs', 2000],
    ['lockTtlMs', 2000],
    ['tiltGapMs', 1000],
    ['redisTimeoutMs', 250],
    ['presenceTtlMs', 5000],
    ['cooldownMs', 60000],
  ])('fast: %s = %d', (k, v) => {
    const c = load({ ...base(), timing: { profile: 'fast' } });
    expect(c.timing[k as keyof Config['timing']]).toBe(v);
  });
  it('explicit keys beat the profile; voteTtlMs follows the explicit downAfterMs', () => {
    const c = load({ ...base(), timing: { profile: 'fast', downAfterMs: 1600, lockTtlMs: 3000 } });
    expect(c.timing).toMatchObject({
      profile: 'fast',
      downAfterMs: 1600,
      voteTtlMs: 3200,
      lockTtlMs: 3000,
      probeIntervalMs: 100,
    });
  });
  it('the profile can come from the environment', () => {
    const c = load(base(), { ...PW, PGVIGIL_TIMING__PROFILE: 'fast' });
    expect(c.timing.downAfterMs).toBe(1000);
  });
});

describe('environment overrides', () => {
  const withDashes = mutate((r) => {
    r.clusters.push({
      name: 'pg-b',
      password: 'x',
      nodes: [{ name: 'node-1', host: 'h', port: 1 }],
    });
  });
  it.each<[string, Raw, NodeJS.ProcessEnv, string, unknown]>([
    ['a number', base(), { PGVIGIL_TIMING__DOWN_AFTER_MS: '2500' }, 'timing.downAfterMs', 2500],
    [
      'a derived default follows it',
      base(),
      { PGVIGIL_TIMING__DOWN_AFTER_MS: '2500' },
      'timing.voteTtlMs',
      5000,
    ],
    [
      'a top-level key',
      base(),
      { PGVIGIL_SENTINELS: '5', PGVIGIL_CLUSTERS__MAIN__QUORUM: '3' },
      'sentinels',
      5,
    ],
    [
      'a comma list',
      base(),
      { PGVIGIL_COORDINATION__REDIS: 'redis://a:1, redis://b:2,redis://c:3' },
      'coordination.redis',
      ['redis://a:1', 'redis://b:2', 'redis://c:3'],
    ],
    ['a cluster by name', base(), { PGVIGIL_CLUSTERS__MAIN__QUORUM: '3' }, 'clusters[0].quorum', 3],
    [
      'a cluster by index',
      base(),
      { PGVIGIL_CLUSTERS__0__DATABASE: 'app' },
      'clusters[0].database',
      'app',
    ],
    [
      'a node by name in a cluster by index',
      base(),
      { PGVIGIL_CLUSTERS__0__NODES__PG2__PRIORITY: '5' },
      'clusters[0].nodes[1].priority',
      5,
    ],
    [
      'a node by index',
      base(),
      { PGVIGIL_CLUSTERS__MAIN__NODES__0__PORT: '6432' },
      'clusters[0].nodes[0].port',
      6432,
    ],
    [
      'a boolean "true"',
      base(),
      { PGVIGIL_CLUSTERS__MAIN__NODES__PG2__NO_FAILOVER: 'true' },
      'clusters[0].nodes[1].noFailover',
      true,
    ],
    [
      'a boolean "false" stays false',
      base(),
      { PGVIGIL_CLUSTERS__MAIN__NODES__PG2__NO_FAILOVER: 'false' },
      'clusters[0].nodes[1].noFailover',
      false,
    ],
    [
      'a nested section absent from the file',
      base(),
      { PGVIGIL_SENTINEL__API__TOKEN: 't0k' },
      'sentinel.api.token',
      't0k',
    ],
    [
      'an enum',
      base(),
      { PGVIGIL_CLUSTERS__MAIN__REPLICATION__MODE: 'sync' },
      'clusters[0].replication.mode',
      'sync',
    ],
    [
      'a section only the environment creates',
      base(),
      { PGVIGIL_CLUSTERS__MAIN__NODES__PG1__AGENT__URL: 'http://127.0.0.1:8008' },
      'clusters[0].nodes[0].agent.url',
      'http://127.0.0.1:8008',
    ],
    [
      'dashed names become underscores',
      withDashes,
      { PGVIGIL_CLUSTERS__PG_B__NODES__NODE_1__PORT: '7' },
      'clusters[1].nodes[0].port',
      7,
    ],
    [
      'non-config PGVIGIL_TEST_* variables are ignored',
      base(),
      { PGVIGIL_TEST_PROVIDER: 'containers' },
      'sentinels',
      3,
    ],
  ])('%s', (_what, raw, env, p, v) => {
    expect(get(load(raw, { ...PW, ...env }), p)).toEqual(v);
  });

  it.each<[string, NodeJS.ProcessEnv, RegExp]>([
    [
      'an unknown key',
      { PGVIGIL_TIMING__DOWN_AFTER: '1' },
      /: PGVIGIL_TIMING__DOWN_AFTER: no key DOWN_AFTER in timing \(known: .*DOWN_AFTER_MS/,
    ],
    [
      'an unknown top-level key',
      { PGVIGIL_QUORUM: '3' },
      /: PGVIGIL_QUORUM: no key QUORUM in the top level/,
    ],
    [
      'an unknown cluster',
      { PGVIGIL_CLUSTERS__OTHER__QUORUM: '2' },
      /: PGVIGIL_CLUSTERS__OTHER__QUORUM: no item OTHER in clusters \(.*MAIN/,
    ],
    [
      'an index out of range',
      { PGVIGIL_CLUSTERS__0__NODES__7__PORT: '1' },
      /: PGVIGIL_CLUSTERS__0__NODES__7__PORT: no item 7 in clusters\[0\]\.nodes/,
    ],
    [
      'a section given a value',
      { PGVIGIL_TIMING: 'fast' },
      /: PGVIGIL_TIMING: timing is a section/,
    ],
    [
      'a value given a sub-key',
      { PGVIGIL_LOG__LEVEL__X: 'a' },
      /: PGVIGIL_LOG__LEVEL__X: log\.level is a value/,
    ],
    [
      'a value the schema refuses names the key and the variable',
      { PGVIGIL_TIMING__DOWN_AFTER_MS: 'soon' },
      /: timing\.downAfterMs: must be an integer >= 1, got "soon" \(set by PGVIGIL_TIMING__DOWN_AFTER_MS\)/,
    ],
    [
      'a bad boolean',
      { PGVIGIL_CLUSTERS__MAIN__NODES__PG1__NO_FAILOVER: 'maybe' },
      /clusters\[0\]\.nodes\[0\]\.noFailover: must be true or false/,
    ],
    [
      'a non-http agent url',
      { PGVIGIL_CLUSTERS__MAIN__NODES__PG1__AGENT__URL: 'ftp://h:1' },
      /clusters\[0\]\.nodes\[0\]\.agent\.url: must be an http\(s\) URL/,
    ],
  ])('refuses %s', (_what, env, re) => {
    expect(errorOf(() => load(base(), { ...PW, ...env })).message).toMatch(re);
  });
});

describe('secrets', () => {
  it('secretsFile is below the real environment and above the file', () => {
    const raw = { ...base(), secretsFile: 'secrets.env', timing: { downAfterMs: 4000 } };
    const text =
      '# secrets\nPGVIGIL_CLUSTERS__MAIN__PASSWORD="from-file"\nexport PGVIGIL_TIMING__DOWN_AFTER_MS=2500\n';
    const file = write(raw, { 'secrets.env': { text } });
    const fromSecrets = loadConfigWithWarnings({ file, env: {} });
    expect(fromSecrets.config.clusters[0]?.password).toBe('from-file');
    expect(fromSecrets.config.timing.downAfterMs).toBe(2500);
    expect(fromSecrets.warnings).toEqual([]);
    const fromEnv = loadConfig({ file, env: { PGVIGIL_CLUSTERS__MAIN__PASSWORD: 'from-env' } });
    expect(fromEnv.clusters[0]?.password).toBe('from-env');
    expect(fromEnv.timing.downAfterMs).toBe(2500);
  });
  it('warns when secretsFile is readable by others', () => {
    const file = write(
      { ...base(), secretsFile: 's.env' },
      { 's.env': { text: 'PGVIGIL_CLUSTERS__MAIN__PASSWORD=x\n', mode: 0o644 } },
    );
    const { warnings } = loadConfigWithWarnings({ file, env: {} });
    expect(warnings.join('\n')).toMatch(
      /secretsFile .*s\.env has mode 0644: restrict it with chmod 600/,
    );
  });
  it('refuses a secretsFile line that is not a PGVIGIL_ key', () => {
    const file = write(
      { ...base(), secretsFile: 's.env' },
      { 's.env': { text: 'PGVIGIL_CLUSTERS__MAIN__PASSWORD=x\nPASSWORD=y\n' } },
    );
    expect(errorOf(() => loadConfig({ file, env: {} })).message).toMatch(
      /secretsFile .*s\.env line 2: PASSWORD is not a PGVIGIL_ config key/,
    );
  });
  it('passwordFile and tokenFile are relative to the config file and trimmed', () => {
    const raw = mutate((r) => {
      cluster0(r).passwordFile = 'sec/main.pw';
      cluster0(r).replication = { passwordFile: 'sec/repl.pw' };
      r.sentinel = { api: { host: '0.0.0.0', tokenFile: 'sec/token' } };
    });
    const file = write(raw, {
      'sec/main.pw': { text: 'main-secret\n' },
      'sec/repl.pw': { text: '  repl-secret \n' },
      'sec/token': { text: 'tok\n' },
    });
    const c = loadConfig({ file, env: {} });
    expect([
      c.clusters[0]?.password,
      c.clusters[0]?.replication.password,
      c.sentinel.api.token,
    ]).toEqual(['main-secret', 'repl-secret', 'tok']);
  });
  it('the environment password beats a passwordFile of the file', () => {
    const file = write(mutate((r) => (cluster0(r).passwordFile = 'missing.pw')));
    expect(loadConfig({ file, env: PW }).clusters[0]?.password).toBe('pw-env');
  });
  it('a direct password works, with a warning', () => {
    const { config, warnings } = loadConfigWithWarnings({
      file: write(mutate((r) => (cluster0(r).password = 'p'))),
      env: {},
    });
    expect(config.clusters[0]?.password).toBe('p');
    expect(warnings.join('\n')).toMatch(
      /clusters\[0\]\.password is written in the config file: prefer passwordFile or PGVIGIL_CLUSTERS__MAIN__PASSWORD/,
    );
  });
  it.each<[string, Raw, RegExp]>([
    [
      'both password and passwordFile',
      mutate((r) => Object.assign(cluster0(r), { password: 'a', passwordFile: 'f' })),
      /clusters\[0\]\.password: give clusters\[0\]\.password or clusters\[0\]\.passwordFile, not both/,
    ],
    [
      'an unreadable passwordFile',
      mutate((r) => (cluster0(r).passwordFile = 'nope.pw')),
      /clusters\[0\]\.passwordFile: cannot read .*nope\.pw: ENOENT/,
    ],
  ])('refuses %s', (_what, raw, re) => {
    expect(errorOf(() => load(raw, {})).message).toMatch(re);
  });
  it('a missing password says how to give it', () => {
    expect(errorOf(() => load(base(), {})).message).toBe(
      `invalid config ${tmpRoot}/${dirSeq - 1}/pgvigil.yaml: clusters[0].password is required: set PGVIGIL_CLUSTERS__MAIN__PASSWORD or passwordFile`,
    );
  });
  it('Redis AUTH: coordination.username and the password from env, secretsFile or passwordFile', () => {
    const withUser = mutate((r) => (r.coordination = { username: 'pgvigil' }));
    const fromEnv = load(withUser, { ...PW, PGVIGIL_COORDINATION__PASSWORD: 'r-env' });
    expect(fromEnv.coordination).toMatchObject({ username: 'pgvigil', password: 'r-env' });
    const file = write(
      {
        ...mutate((r) => (r.coordination = { passwordFile: 'sec/redis.pw' })),
        secretsFile: 's.env',
      },
      {
        'sec/redis.pw': { text: 'r-file\n' },
        's.env': { text: 'PGVIGIL_CLUSTERS__MAIN__PASSWORD=x\n' },
      },
    );
    const fromFile = loadConfigWithWarnings({ file, env: {} });
    expect(fromFile.config.coordination.password).toBe('r-file');
    expect(fromFile.warnings).toEqual([]);
    // the environment beats the file's passwordFile (the pair drops its sibling)
    expect(
      loadConfig({ file, env: { PGVIGIL_COORDINATION__PASSWORD: 'r-env' } }).coordination.password,
    ).toBe('r-env');
    const none = load(base());
    expect(none.coordination.password).toBeUndefined();
    expect(none.coordination.username).toBeUndefined();
  });
  it('a Redis password written in the file works, with a warning', () => {
    const { config, warnings } = loadConfigWithWarnings({
      file: write(mutate((r) => (r.coordination = { password: 'rp' }))),
      env: PW,
    });
    expect(config.coordination.password).toBe('rp');
    expect(warnings.join('\n')).toMatch(
      /coordination\.password is written in the config file: prefer passwordFile or PGVIGIL_COORDINATION__PASSWORD/,
    );
  });
  it('an error message never quotes the password of a Redis URL', () => {
    const raw = mutate(
      (r) =>
        (r.coordination = {
          redis: ['redis://:url-pw-7@a:1', 'redis://:url-pw-7@a:1', 'redis://b:1'],
        }),
    );
    const message = errorOf(() => load(raw)).message;
    expect(message).toMatch(/coordination\.redis\[1\]: redis:\/\/:\*\*\*@a:1 is listed twice/);
    expect(message).not.toContain('url-pw-7');
  });
  it('formatConfigForDisplay redacts every secret', () => {
    const c = load(
      mutate((r) => (r.coordination = { redis: ['redis://:rpw@h:1'] })),
      { ...PW, PGVIGIL_SENTINEL__API__TOKEN: 'tok-9' },
    );
    const out = formatConfigForDisplay(c);
    expect(out).not.toMatch(/pw-env|tok-9|rpw/);
    const withRedisPw = load(base(), { ...PW, PGVIGIL_COORDINATION__PASSWORD: 'redis-pw-3' });
    expect(formatConfigForDisplay(withRedisPw)).not.toContain('redis-pw-3');
    expect(out).toMatch(/password: <redacted>/);
  });
});

describe('cross-field rules name their key', () => {
  it.each<[string, Raw, NodeJS.ProcessEnv, string]>([
    [
      'quorum below a majority',
      base(),
      { PGVIGIL_CLUSTERS__MAIN__QUORUM: '1' },
      'clusters[0].quorum: quorum 1 is not a majority of sentinels=3: set quorum >= 2',
    ],
    [
      'quorum above sentinels',
      base(),
      { PGVIGIL_CLUSTERS__MAIN__QUORUM: '4' },
      'clusters[0].quorum: quorum 4 exceeds sentinels=3',
    ],
    [
      'even quorum split',
      base(),
      { PGVIGIL_SENTINELS: '4', PGVIGIL_CLUSTERS__MAIN__QUORUM: '2' },
      'clusters[0].quorum: quorum 2 is not a majority of sentinels=4: set quorum >= 3',
    ],
    [
      'two redis servers',
      base(),
      { PGVIGIL_COORDINATION__REDIS: 'redis://a:1,redis://b:1' },
      'coordination.redis: 2 servers given: use 1, 3 or 5',
    ],
    [
      'a bad redis url',
      base(),
      { PGVIGIL_COORDINATION__REDIS: 'http://a:1' },
      'coordination.redis[0]: "http://a:1" is not a redis:// URL',
    ],
    [
      'a repeated redis url',
      base(),
      { PGVIGIL_COORDINATION__REDIS: 'redis://a:1,redis://b:1,redis://a:1' },
      'coordination.redis[2]: redis://a:1 is listed twice',
    ],
    [
      'refusedAfterMs <= probeIntervalMs',
      base(),
      { PGVIGIL_TIMING__REFUSED_AFTER_MS: '300' },
      'timing.refusedAfterMs: 300 must be greater than probeIntervalMs=300',
    ],
    [
      'refusedAfterMs > downAfterMs',
      base(),
      { PGVIGIL_TIMING__REFUSED_AFTER_MS: '3001' },
      'timing.refusedAfterMs: 3001 must be <= downAfterMs=3000',
    ],
    [
      'connectTimeoutMs >= downAfterMs/2',
      base(),
      { PGVIGIL_TIMING__CONNECT_TIMEOUT_MS: '1500' },
      'timing.connectTimeoutMs: 1500 must be less than downAfterMs/2=1500',
    ],
    [
      'queryTimeoutMs >= downAfterMs/2',
      base(),
      { PGVIGIL_TIMING__QUERY_TIMEOUT_MS: '2000' },
      'timing.queryTimeoutMs: 2000 must be less than downAfterMs/2=1500',
    ],
    [
      'voteTtlMs < downAfterMs',
      base(),
      { PGVIGIL_TIMING__VOTE_TTL_MS: '2999' },
      'timing.voteTtlMs: 2999 must be >= downAfterMs=3000',
    ],
    [
      'lockTtlMs <= 2*probeIntervalMs',
      base(),
      { PGVIGIL_TIMING__LOCK_TTL_MS: '600' },
      'timing.lockTtlMs: 600 must be greater than 2*probeIntervalMs=600',
    ],
    [
      'tiltGapMs <= probeIntervalMs',
      base(),
      { PGVIGIL_TIMING__TILT_GAP_MS: '300' },
      'timing.tiltGapMs: 300 must be greater than probeIntervalMs=300',
    ],
    [
      'a duplicate cluster',
      mutate((r) => r.clusters.push({ ...cluster0(r) })),
      {},
      'clusters[1].name: duplicate cluster name "main"',
    ],
    [
      'a bad cluster name',
      mutate((r) => (cluster0(r).name = 'Main')),
      {},
      'clusters[0].name: must match',
    ],
    [
      'a duplicate node',
      mutate((r) => ((cluster0(r).nodes as Raw[])[1] = { name: 'pg1', host: 'h', port: 2 })),
      {},
      'clusters[0].nodes[1].name: duplicate node name "pg1" in cluster main',
    ],
    [
      'a bad node name',
      mutate((r) => ((cluster0(r).nodes as Raw[])[1] = { name: '-x', host: 'h', port: 2 })),
      {},
      'clusters[0].nodes[1].name: must match',
    ],
    [
      'initialPrimary not a node',
      base(),
      { PGVIGIL_CLUSTERS__MAIN__INITIAL_PRIMARY: 'pg9' },
      'clusters[0].initialPrimary: "pg9" is not a node of cluster main',
    ],
    [
      'preferredPrimary not a node',
      base(),
      { PGVIGIL_CLUSTERS__MAIN__PREFERRED_PRIMARY: 'pg9' },
      'clusters[0].preferredPrimary: "pg9" is not a node of cluster main',
    ],
    [
      'port 0',
      base(),
      { PGVIGIL_CLUSTERS__MAIN__NODES__PG1__PORT: '0' },
      'clusters[0].nodes[0].port: must be an integer in 1..65535, got "0"',
    ],
    [
      'port 65536',
      base(),
      { PGVIGIL_SENTINEL__API__PORT: '65536' },
      'sentinel.api.port: must be an integer in 1..65535',
    ],
    [
      'no nodes',
      mutate((r) => (cluster0(r).nodes = [])),
      {},
      'clusters[0].nodes: needs at least one node',
    ],
    [
      'a missing node port',
      mutate((r) => ((cluster0(r).nodes as Raw[])[1] = { name: 'pg2', host: 'h' })),
      {},
      'clusters[0].nodes[1].port: is required',
    ],
    [
      'a non-loopback api without token',
      base(),
      { PGVIGIL_SENTINEL__API__HOST: '0.0.0.0' },
      'sentinel.api.token: refusing to bind sentinel.api.host=0.0.0.0 without sentinel.api.token',
    ],
    [
      'an unknown key',
      mutate((r) => (r.timing = { downAfter: 1 })),
      {},
      'timing.downAfter: unknown key (known: profile, probeIntervalMs, downAfterMs',
    ],
    [
      'an unknown nested key',
      mutate(
        (r) => ((cluster0(r).nodes as Raw[])[0] = { name: 'pg1', host: 'h', port: 1, prio: 3 }),
      ),
      {},
      'clusters[0].nodes[0].prio: unknown key',
    ],
  ])('%s', (_what, raw, env, expected) => {
    const e = errorOf(() => load(raw, { ...PW, ...env }));
    expect(e.message).toMatch(/^invalid config \S+pgvigil\.yaml: /);
    expect(e.message).toContain(expected);
    expect(e.message).not.toContain('\n');
  });
  it.each(['127.0.0.1', '127.4.5.6', 'localhost', '::1', '[::1]'])(
    'api.host %s is loopback: no token needed',
    (host) => {
      expect(load(base(), { ...PW, PGVIGIL_SENTINEL__API__HOST: host }).sentinel.api.host).toBe(
        host,
      );
    },
  );
  it('a non-loopback api with a token is fine', () => {
    const c = load(base(), {
      ...PW,
      PGVIGIL_SENTINEL__API__HOST: '0.0.0.0',
      PGVIGIL_SENTINEL__API__TOKEN: 't',
    });
    expect(c.sentinel.api).toEqual({ host: '0.0.0.0', port: 8088, token: 't' });
  });
  it('no clusters', () => {
    expect(errorOf(() => load({ sentinels: 3 }, {})).message).toMatch(/: clusters: is required$/);
  });
  it('counts further problems', () => {
    const e = errorOf(() => load(mutate((r) => Object.assign(r, { a: 1, b: 2 }))));
    expect(e.message).toMatch(/: a: unknown key .*\(\+1 more\)$/);
  });
  it('a YAML syntax error names the line', () => {
    expect(errorOf(() => load('clusters:\n  - name: main\n   bad: [\n')).message).toMatch(
      /: YAML line \d+, column \d+: /,
    );
  });
});

describe('result and files', () => {
  it('is deep-frozen', () => {
    const c = load(base());
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.timing)).toBe(true);
    expect(Object.isFrozen(c.clusters[0]?.nodes[0])).toBe(true);
    expect(() => {
      (c.timing as { downAfterMs: number }).downAfterMs = 1;
    }).toThrow(TypeError);
  });
  it('overrides sit above the environment', () => {
    const c = loadConfig({
      file: write(base()),
      env: { ...PW, PGVIGIL_TIMING__DOWN_AFTER_MS: '2500' },
      overrides: { timing: { downAfterMs: 4000 } },
    });
    expect(c.timing.downAfterMs).toBe(4000);
  });
  it('overrides merge named list items, and env can address items only overrides define', () => {
    const c = loadConfig({
      env: { ...PW, PGVIGIL_CLUSTERS__MAIN__NODES__PG2__PRIORITY: '7' },
      overrides: {
        clusters: [
          {
            name: 'main',
            nodes: [
              { name: 'pg1', host: 'h', port: 1 },
              { name: 'pg2', host: 'h', port: 2 },
            ],
          },
        ],
      },
    });
    expect(c.clusters[0]?.password).toBe('pw-env');
    expect(c.clusters[0]?.nodes[1]?.priority).toBe(7);
    const d = loadConfig({
      file: write(base()),
      env: PW,
      overrides: { clusters: [{ name: 'main', quorum: 3 }] },
    });
    expect(d.clusters[0]?.nodes).toHaveLength(2);
    expect(d.clusters[0]?.quorum).toBe(3);
  });
  it('the example config/pgvigil.yaml loads with the password from the environment', () => {
    const { config, warnings } = loadConfigWithWarnings({ file: EXAMPLE, env: PW });
    expect(warnings).toEqual([]);
    expect(config.clusters.map((c) => c.name)).toEqual(['main']);
    expect(config.clusters[0]?.nodes.map((n) => `${n.name}@${n.host}:${n.port}`)).toEqual([
      'pg1@127.0.0.1:5432',
      'pg2@127.0.0.1:5433',
      'pg3@127.0.0.1:5434',
    ]);
    expect(config.coordination.redis).toHaveLength(3);
    expect(config.clusters[0]?.password).toBe('pw-env');
  });
  it('the example config refuses to load without a password', () => {
    expect(errorOf(() => loadConfig({ file: EXAMPLE, env: {} })).message).toContain(
      'PGVIGIL_CLUSTERS__MAIN__PASSWORD',
    );
  });
  it('resolveConfigPath: explicit, ./pgvigil.yaml, .pgvigil-local/pgvigil.yaml, else an error', () => {
    const dir = tmpDir();
    expect(resolveConfigPath('x.yaml', dir)).toBe('x.yaml');
    expect(errorOf(() => resolveConfigPath(undefined, dir)).message).toBe(
      'no config file: pass --config F or run `pgvigil local up` first',
    );
    fs.mkdirSync(path.join(dir, '.pgvigil-local'));
    fs.writeFileSync(path.join(dir, '.pgvigil-local', 'pgvigil.yaml'), '');
    expect(resolveConfigPath(undefined, dir)).toBe(
      path.join(dir, '.pgvigil-local', 'pgvigil.yaml'),
    );
    fs.writeFileSync(path.join(dir, 'pgvigil.yaml'), '');
    expect(resolveConfigPath(undefined, dir)).toBe(path.join(dir, 'pgvigil.yaml'));
  });
});
