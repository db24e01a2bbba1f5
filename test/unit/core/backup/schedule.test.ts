import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { backupHash,parseInfo, timelineOf } from '../../../../src/core/backup/info.js';
import {
  calendarOf,
  DEFAULT_SCHEDULE,
  latestSlot,
  parseCron,
  parseSchedule,
  slotAt,
} from '../../../../src/core/backup/schedule.js';
import { tipoOf, typeOfTipo } from '../../../../src/core/backup/types.js';
import {
  archivingHealth,
  checkTarget,
  recoveryWindow,
} from '../../../../src/core/backup/window.js';

const matchers = (() => {
  const m = parseSchedule(DEFAULT_SCHEDULE);
  if (typeof m === 'string') throw new Error(m);
  return m;
})();
const at = (iso: string): number => Date.parse(iso);

describe('default schedule: full day 1, incr days 2-6, diff day 7', () => {
  // 2026-11-30 is a Monday
  it.each([
    ['2026-11-30', 'Monday', 'full'],
    ['2026-12-01', 'Tuesday', 'incr'],
    ['2026-12-02', 'Wednesday', 'incr'],
    ['2026-12-03', 'Thursday', 'incr'],
    ['2026-12-04', 'Friday', 'incr'],
    ['2026-12-05', 'Saturday', 'incr'],
    ['2026-12-06', 'Sunday', 'diff'],
  ])('%s (%s) at 01:00 is a %s slot', (day, _name, type) => {
    expect(slotAt(matchers, at(`${day}T01:00:30Z`))).toEqual({
      type,
      day,
      atMs: at(`${day}T01:00:00Z`),
    });
    expect(slotAt(matchers, at(`${day}T01:01:00Z`))).toBeNull();
    expect(slotAt(matchers, at(`${day}T00:59:00Z`))).toBeNull();
  });

  it('a UTC offset moves the local day', () => {
    // 2026-12-06T23:00Z is 01:00 on Monday 12-07 at UTC+2
    expect(slotAt(matchers, at('2026-12-06T23:00:00Z'), 120)).toMatchObject({
      type: 'full',
      day: '2026-12-07',
    });
  });
});

describe('missed slots', () => {
  it('the latest slot only, however many days were missed', () => {
    expect(latestSlot(matchers, at('2026-12-04T09:00:00Z'))).toMatchObject({
      type: 'incr',
      day: '2026-12-04',
    });
    expect(latestSlot(matchers, at('2026-12-04T00:30:00Z'))).toMatchObject({
      type: 'incr',
      day: '2026-12-03',
    });
    expect(latestSlot(matchers, at('2026-11-30T05:00:00Z'))).toMatchObject({ type: 'full' });
  });
});

describe('cron parsing', () => {
  it.each([
    ['*/15 * * * *', '2026-12-01T10:45:00Z', true],
    ['*/15 * * * *', '2026-12-01T10:46:00Z', false],
    ['0 1 1,15 * *', '2026-12-15T01:00:00Z', true],
    ['0 1 * * 7', '2026-12-06T01:00:00Z', true],
    ['0 1 * 12 1-5', '2026-12-01T01:00:00Z', true],
  ])('%s matches %s: %s', (expr, iso, want) => {
    const m = parseCron(expr);
    if (typeof m === 'string') throw new Error(m);
    expect(m.matches(calendarOf(at(iso)))).toBe(want);
  });
  it.each(['* * * *', '61 * * * *', 'a * * * *', '5-1 * * * *'])('refuses %s', (expr) => {
    expect(typeof parseCron(expr)).toBe('string');
  });
  it('calendarOf agrees with Date over many days', () => {
    for (
      let t = at('1999-12-25T00:00:00Z');
      t < at('2031-03-01T00:00:00Z');
      t += 86_400_000 * 7 + 3_600_000 * 5 + 60_000
    ) {
      const d = new Date(t);
      expect(calendarOf(t)).toEqual({
        year: d.getUTCFullYear(),
        month: d.getUTCMonth() + 1,
        day: d.getUTCDate(),
        weekday: d.getUTCDay(),
        hour: d.getUTCHours(),
        minute: d.getUTCMinutes(),
      });
    }
  });
});

describe('names', () => {
  it.each([
    ['full', 'completo'],
    ['incr', 'incremental'],
    ['diff', 'diferencial'],
  ] as const)('%s <-> %s', (type, tipo) => {
    expect(tipoOf(type)).toBe(tipo);
    expect(typeOfTipo(tipo)).toBe(type);
  });
});

describe('pgbackrest info', () => {
  const sample = JSON.parse(
    readFileSync(new URL('../../../fixtures/pgbackrest-info-sample.json', import.meta.url), 'utf8'),
  ) as unknown;
  const info = parseInfo(sample, 'main');
  it('reads every backup, oldest first', () => {
    expect(info.backups.map((b) => b.type)).toEqual(['full', 'incr', 'diff', 'incr']);
    expect(info.backups[1]).toMatchObject({
      label: '20261127-200707F_20261127-200723I',
      prior: '20261127-200707F',
      sizeBytes: 102709168,
      repoSizeBytes: 6944621,
      pgVersion: '15',
    });
    expect(info.archiveMin).toBe('000000010000000000000001');
    expect(info.statusCode).toBe(0);
  });
  it('derives the timeline from the WAL name', () => {
    expect(timelineOf('00000003000000000000002A')).toBe(3);
    expect(timelineOf('')).toBe(0);
  });
  it('hash has every field of the record', () => {
    const h = backupHash(info.backups[0], {
      status: 'ok',
      started: 's',
      finished: 'f',
      durationMs: 4510,
      node: 'pg1',
      role: 'primary',
      error: '',
    });
    expect(Object.keys(h).sort()).toEqual(
      [
        'label',
        'type',
        'status',
        'started',
        'finished',
        'duration',
        'size',
        'repository_size',
        'repository_delta',
        'wal_start',
        'wal_stop',
        'lsn_start',
        'lsn_stop',
        'timeline',
        'node',
        'role',
        'pg_version',
        'prior',
        'error',
      ].sort(),
    );
    expect(h).toMatchObject({ timeline: '1', duration: '4.510', size: '22992816' });
  });
  it('recovery window and archiving health', () => {
    const ok = {
      node: 'pg1',
      archivedCount: 3,
      failedCount: 0,
      lastArchivedWal: 'x',
      lastArchivedAtMs: 10,
      lastFailedWal: null,
      lastFailedAtMs: null,
    };
    expect(archivingHealth(ok)).toBe('ok');
    expect(archivingHealth({ ...ok, failedCount: 2, lastFailedAtMs: 20 })).toBe('failing');
    expect(archivingHealth({ ...ok, archivedCount: 0, lastArchivedAtMs: null })).toBe(
      'not-archiving',
    );
    const w = recoveryWindow(info, ok);
    expect(w.firstRecoverableS).toBe(1795810030);
    expect(w.lastGoodLabel).toBe('20261127-200707F_20261127-200741I');
    const fmt = (s: number): string => String(s);
    expect(checkTarget(w, 1795810029, 1795900000, fmt)).toMatch(/before the first/);
    expect(checkTarget(w, 1795810100, 1795900000, fmt)).toBeNull();
    expect(checkTarget(w, 1795910000, 1795900000, fmt)).toMatch(/future/);
  });
});
