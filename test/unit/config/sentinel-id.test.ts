/**
 * Stable sentinel ids (src/config/sentinel-id.ts, `sentinel.peers` in rules.ts): a configured id
 * wins; otherwise the id file is created once (0600) and read back on every later start; the
 * peer set must be distinct, agree with `sentinels` and hold the configured id.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../../src/config/load.js';
import { resolveSentinelId } from '../../../src/config/sentinel-id.js';
import { ConfigError, UserError } from '../../../src/core/errors.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pgvigil-sid-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let seq = 0;
const dir = (): string => fs.mkdtempSync(path.join(root, `${seq++}-`));

describe('resolveSentinelId', () => {
  it('a configured id wins, and no file is written', () => {
    const baseDir = dir();
    expect(resolveSentinelId({ id: 's7', baseDir })).toEqual({
      id: 's7',
      source: 'configured',
      file: null,
    });
    expect(fs.readdirSync(baseDir)).toEqual([]);
  });

  it('creates sentinel.id beside the config once (0600), then reads the same id back', () => {
    const baseDir = dir();
    const first = resolveSentinelId({ baseDir });
    expect(first.source).toBe('created');
    expect(first.file).toBe(path.join(baseDir, 'sentinel.id'));
    expect(fs.statSync(first.file!).mode & 0o777).toBe(0o600);
    const again = resolveSentinelId({ baseDir });
    expect(again).toEqual({ id: first.id, source: 'file', file: first.file });
  });

  it('uses sentinel.idFile when given', () => {
    const file = path.join(dir(), 'my.id');
    fs.writeFileSync(file, 'sentinel-a\n');
    expect(resolveSentinelId({ idFile: file, baseDir: '/nonexistent' }).id).toBe('sentinel-a');
  });

  it('refuses a file that does not hold an id, with one line naming it', () => {
    const file = path.join(dir(), 'bad.id');
    fs.writeFileSync(file, 'two words\n');
    expect(() => resolveSentinelId({ idFile: file, baseDir: root })).toThrow(UserError);
    expect(() => resolveSentinelId({ idFile: file, baseDir: root })).toThrow(
      /bad\.id does not hold a sentinel id/,
    );
  });
});

describe('sentinel.peers rules', () => {
  const cfg =
    (sentinel: Record<string, unknown>, sentinels = 3) =>
    () =>
      loadConfig({
        env: { PGVIGIL_CLUSTERS__MAIN__PASSWORD: 'pw' },
        overrides: {
          sentinels,
          sentinel,
          clusters: [
            {
              name: 'main',
              nodes: [
                { name: 'pg1', host: '127.0.0.1', port: 5432 },
                { name: 'pg2', host: '127.0.0.1', port: 5433 },
              ],
            },
          ],
        } as never,
      });

  it('accepts a set that agrees with sentinels and holds the id', () => {
    expect(cfg({ id: 's2', peers: ['s1', 's2', 's3'] })().sentinel).toMatchObject({
      id: 's2',
      peers: ['s1', 's2', 's3'],
    });
  });

  it.each([
    [{ peers: ['s1', 's1', 's3'] }, 3, /sentinel\.peers.*"s1" twice/],
    [{ peers: ['s1', 's2'] }, 3, /sentinel\.peers.*2 sentinel id\(s\) but sentinels=3/],
    [{ id: 'x', peers: ['s1', 's2', 's3'] }, 3, /sentinel\.id.*"x" is not in sentinel\.peers/],
  ])('refuses %j (sentinels=%i)', (sentinel, n, message) => {
    expect(cfg(sentinel, n)).toThrow(ConfigError);
    expect(cfg(sentinel, n)).toThrow(message);
  });
});
