/**
 * Backups on real PostgreSQL + pgBackRest + Redis (the fast path; failover and fromStandby
 * are in test/faults/backup-*.test.ts): full, writes, incr, writes, diff; `backup list`, the
 * Redis hashes and `pgbackrest info` agree; a restore of the latest backup holds every row; a
 * point-in-time restore between two batches holds exactly the first; two runners for one slot
 * run one backup; a corrupt or missing repository gives one clear line and leaves the records
 * as they were; bad input changes nothing.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { archiveNow, backupOf, batch, cli, lastJson, sql } from '../helpers/backup.js';
import { type LocalHandle, startLocal } from '../helpers/local.js';

describe('backups on pgBackRest with records in Redis', () => {
  let h: LocalHandle;
  let b: ReturnType<typeof backupOf>;
  let betweenBatches = '';
  const restored: { dataDir: string; pid: number | null }[] = [];

  beforeAll(async () => {
    h = await startLocal({ backups: true, sentinels: 1, agents: false });
    b = backupOf(h);
  });
  afterAll(async () => {
    await b?.close();
    await h?.down();
  });

  const pg1 = () => h.node('pg1');
  const rows = async (conn: object) =>
    (
      await sql<{ batch: string; n: string }>(
        { conn },
        'SELECT batch, count(*) AS n FROM marks GROUP BY batch ORDER BY batch',
      )
    ).map((r) => `${r.batch}:${r.n}`);

  it('full, writes, incr, writes, diff: each recorded as backup:<tipo>:<date>', async () => {
    await batch(pg1(), 'a', 100);
    const full = await b.runner.run('full');
    await batch(pg1(), 'b', 50);
    const incr = await b.runner.run('incr');
    await batch(pg1(), 'c', 25);
    const diff = await b.runner.run('diff');
    expect([full.kind, incr.kind, diff.kind]).toEqual(['done', 'done', 'done']);
    if (full.kind !== 'done' || incr.kind !== 'done' || diff.kind !== 'done') return;
    expect(full.record).toMatchObject({
      type: 'full',
      status: 'ok',
      node: 'pg1',
      role: 'primary',
      timeline: '1',
      pg_version: '15',
      prior: '',
    });
    expect(incr.record.prior).toBe(full.record.label);
    expect(diff.record.prior).toBe(full.record.label);
    expect(Number(full.record.size)).toBeGreaterThan(1_000_000);
    expect(b.events.map((e) => e.type)).toEqual([
      'backup-started',
      'backup-completed',
      'backup-started',
      'backup-completed',
      'backup-started',
      'backup-completed',
    ]);
    // a moment between batch c and batch d, then d archived
    await new Promise((r) => setTimeout(r, 1100));
    betweenBatches = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 1100));
    await batch(pg1(), 'd', 10);
    await archiveNow(pg1());
  });

  it('backup list, the Redis hashes (redis-cli view) and pgbackrest info agree', async () => {
    const list = lastJson<{
      records: Record<string, Record<string, string>>;
      window: Record<string, string>;
    }>((await cli(h, 'backup', 'list', '--json')).stdout);
    const redis = await b.catalog.list();
    expect(list.records).toEqual(redis);
    const day = new Date().toISOString().slice(0, 10);
    expect(Object.keys(redis).sort()).toEqual([
      `backup:completo:${day}`,
      `backup:diferencial:${day}`,
      `backup:incremental:${day}`,
    ]);
    const info = await b.engine.info();
    const byLabel = new Map(info.backups.map((x) => [x.label, x]));
    for (const r of Object.values(redis)) {
      const e = byLabel.get(r.label!);
      expect(e, r.label).toBeDefined();
      expect(r).toMatchObject({
        type: e!.type,
        size: String(e!.sizeBytes),
        wal_start: e!.walStart,
        lsn_stop: e!.lsnStop,
      });
    }
    expect(list.window).toMatchObject({
      archiving: 'ok',
      lastGoodLabel: info.backups.at(-1)!.label,
    });
    const text = (await cli(h, 'backup', 'list')).stdout;
    expect(text).toMatch(/recovery window: from .*archiving: ok/s);
  });

  it('restore of the latest backup holds every committed row', async () => {
    const to = join(h.state.dataRoot, 'restore-latest');
    const r = await cli(h, 'backup', 'restore', '--to', to, '--start', '--json');
    expect(r.stderr).toMatch(/restored in/);
    const out = lastJson<{ dataDir: string; port: number; url: string; pid: number }>(r.stdout);
    restored.push(out);
    const conn = { ...pg1().conn, port: out.port };
    expect(await rows(conn)).toEqual(['a:100', 'b:50', 'c:25', 'd:10']);
    // the clone archives nothing into the shared repository
    expect(
      (await sql<{ archive_mode: string }>({ conn }, 'SHOW archive_mode'))[0]!.archive_mode,
    ).toBe('off');
    await stop(out);
  });

  it('point-in-time restore between two batches holds exactly the rows before', async () => {
    const to = join(h.state.dataRoot, 'restore-pitr');
    const r = await cli(
      h,
      'backup',
      'restore',
      '--time',
      betweenBatches,
      '--to',
      to,
      '--start',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const out = lastJson<{ port: number; dataDir: string; pid: number }>(r.stdout);
    expect(await rows({ ...pg1().conn, port: out.port })).toEqual(['a:100', 'b:50', 'c:25']);
    await stop(out);
  });

  it('bad input: one line, nothing changed', async () => {
    const before = await b.catalog.list();
    const full = join(h.state.dataRoot, 'x3');
    mkdirSync(full);
    writeFileSync(join(full, 'keep'), 'x');
    // independent and read-only: in parallel
    const [badType, noLabel, early, notEmpty] = await Promise.all([
      cli(h, 'backup', 'run', '--type', 'weekly'),
      cli(
        h,
        'backup',
        'restore',
        '--label',
        '20990101-000000F',
        '--to',
        join(h.state.dataRoot, 'x1'),
      ),
      cli(
        h,
        'backup',
        'restore',
        '--time',
        '2001-01-01T00:00:00Z',
        '--to',
        join(h.state.dataRoot, 'x2'),
      ),
      cli(h, 'backup', 'restore', '--to', full),
    ]);
    expect(badType.code).toBe(1);
    expect(badType.stderr.trim().split('\n')).toHaveLength(1);
    expect(noLabel.stderr).toMatch(/^pgvigil: --label 20990101-000000F: no such backup/);
    expect(existsSync(join(h.state.dataRoot, 'x1'))).toBe(false);
    expect(early.stderr).toMatch(/^pgvigil: --time .* is before the first recoverable moment/);
    expect(notEmpty.stderr).toMatch(/^pgvigil: --to .* is not empty/);
    for (const r of [noLabel, early, notEmpty]) {
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(await b.catalog.list()).toEqual(before);
  });

  it('two runners for one scheduled slot take one backup', async () => {
    const other = backupOf(h, 'runner-2');
    try {
      const slot = { type: 'incr' as const, day: '2099-01-01' };
      const [x, y] = await Promise.all([
        b.runner.run('incr', { slot, scheduled: true }),
        other.runner.run('incr', { slot, scheduled: true }),
      ]);
      expect([x.kind, y.kind].sort()).toEqual(['done', 'skipped']);
      expect((await b.runner.run('incr', { slot, scheduled: true })).kind).toBe('skipped');
      const info = await b.engine.info();
      expect(info.backups.filter((e) => e.type === 'incr')).toHaveLength(2);
      await b.catalog.remove(['backup:incremental:2099-01-01']);
    } finally {
      await other.close();
    }
  });

  it('a missing or corrupt repository: one clear line, earlier records intact', async () => {
    const before = await b.catalog.list();
    const repo = b.config.backup.repository;
    renameSync(repo, `${repo}.moved`);
    try {
      const r = await cli(h, 'backup', 'run', '--type', 'incr');
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n').at(-1)).toMatch(
        /^pgvigil: .*repository .* cannot be read/,
      );
      expect(existsSync(repo)).toBe(false); // not re-created behind the records' back
      await expect(b.runner.run('incr')).rejects.toThrow(/cannot be read/);
    } finally {
      renameSync(`${repo}.moved`, repo);
    }
    const infoFile = join(repo, 'backup', h.state.cluster, 'backup.info');
    writeFileSync(infoFile, 'garbage\n');
    writeFileSync(`${infoFile}.copy`, 'garbage\n');
    await expect(b.runner.run('diff')).rejects.toThrow(/repository .* cannot be read|backup.info/);
    const after = await b.catalog.list();
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    for (const [k, v] of Object.entries(before)) expect(after[k]).toMatchObject(v);
    expect(
      after[Object.keys(after).find((k) => k.startsWith('backup:diferencial'))!]!
        .last_failure_error,
    ).toMatch(/cannot be read|backup.info/);
    expect(b.events.at(-1)).toMatchObject({ type: 'backup-failed', backupType: 'diff' });
  });

  async function stop(out: { dataDir: string }): Promise<void> {
    const { stopNode } = await import('../../src/adapters/process/index.js');
    const { readPostmasterPid } = await import('../../src/adapters/process/index.js');
    await stopNode(
      { name: 'restore', dataDir: out.dataDir, pid: readPostmasterPid(out.dataDir) ?? 0 },
      'immediate',
    );
  }
  afterAll(async () => {
    for (const r of restored) await stop(r).catch(() => undefined);
  });
});
