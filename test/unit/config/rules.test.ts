/**
 * `postgresSecrets: false` loads without any PostgreSQL password. (load.test.ts covers the
 * loading itself.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';

import { loadConfig } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/core/errors.js';

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
    expect(c.clusters[0]?.replication).toEqual({ mode: 'async', user: 'replicator' });
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
