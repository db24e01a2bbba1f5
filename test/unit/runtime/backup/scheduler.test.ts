import { describe, expect, it } from 'vitest';

import { DEFAULT_SCHEDULE, parseSchedule } from '../../../../src/core/backup/schedule.js';
import type { BackupType, SlotId } from '../../../../src/core/backup/types.js';
import { BackupScheduler } from '../../../../src/runtime/backup/scheduler.js';

function setup() {
  const m = parseSchedule(DEFAULT_SCHEDULE);
  if (typeof m === 'string') throw new Error(m);
  const runs: { type: BackupType; slot: SlotId | undefined }[] = [];
  const s = new BackupScheduler({
    matchers: m,
    utcOffsetMin: () => 0,
    runner: {
      run: async (type, o) => {
        runs.push({ type, slot: o?.slot });
        return { kind: 'done', key: o!.slot!, record: {} };
      },
    },
  });
  return { s, runs };
}
const at = (iso: string): number => Date.parse(iso);

describe('backup scheduler (clock injected)', () => {
  it.each([
    ['2026-11-30', 'full'],
    ['2026-12-01', 'incr'],
    ['2026-12-02', 'incr'],
    ['2026-12-03', 'incr'],
    ['2026-12-04', 'incr'],
    ['2026-12-05', 'incr'],
    ['2026-12-06', 'diff'],
  ] as const)('on %s the 01:00 tick runs a %s, once', async (day, type) => {
    const { s, runs } = setup();
    await s.tick(at(`${day}T00:59:00Z`));
    await s.tick(at(`${day}T01:00:00Z`));
    await s.tick(at(`${day}T01:00:40Z`)); // the same minute again
    await s.tick(at(`${day}T01:01:00Z`));
    expect(runs).toEqual([{ type, slot: { type, day } }]);
  });

  it('a week of minute ticks gives full, 5 incr, diff', async () => {
    const { s, runs } = setup();
    for (let t = at('2026-11-30T00:00:00Z'); t < at('2026-12-07T00:00:00Z'); t += 60_000)
      await s.tick(t);
    expect(runs.map((r) => r.type)).toEqual([
      'full',
      'incr',
      'incr',
      'incr',
      'incr',
      'incr',
      'diff',
    ]);
  });

  it('missed slots: the latest one runs once at start, not once per missed day', async () => {
    const { s, runs } = setup();
    await s.catchUp(at('2026-12-04T09:30:00Z')); // down since Monday
    expect(runs).toEqual([{ type: 'incr', slot: { type: 'incr', day: '2026-12-04' } }]);
    await s.tick(at('2026-12-04T09:31:00Z'));
    expect(runs).toHaveLength(1);
  });
});
