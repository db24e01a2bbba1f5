/**
 * bench/pgbench.ts's parsing of pgbench's stderr (lines as pgbench 15.18 prints them, and the
 * older and longer forms), and bench/load.ts's split of a trial's reports into before / after.
 */
import { describe, expect, it } from 'vitest';

import { trialLoadFigures } from '../../../bench/load.js';
import {
  isAbortLine,
  type Load,
  meanTps,
  parseProgressLine,
  type StampedSample,
} from '../../../bench/pgbench.js';

describe('parseProgressLine', () => {
  it('reads a pgbench 15 progress report', () => {
    expect(
      parseProgressLine('progress: 2.0 s, 2692.4 tps, lat 1.482 ms stddev 0.912, 0 failed'),
    ).toEqual({ atS: 2, tps: 2692.4, latMs: 1.482, failed: 0 });
  });

  it('reads the failed count, and older reports without one', () => {
    expect(
      parseProgressLine('progress: 7.0 s, 0.0 tps, lat 0.000 ms stddev 0.000, 12 failed')?.failed,
    ).toBe(12);
    expect(parseProgressLine('progress: 3.0 s, 815.9 tps, lat 4.901 ms stddev 2.310')).toEqual({
      atS: 3,
      tps: 815.9,
      latMs: 4.901,
      failed: 0,
    });
  });

  it('ignores the fields --rate and --max-tries add, and NaN stddev', () => {
    expect(
      parseProgressLine(
        'progress: 4.0 s, 99.5 tps, lat 1.100 ms stddev NaN, 3 failed, 1 retried, lag 0.210 ms, 2 skipped',
      ),
    ).toEqual({ atS: 4, tps: 99.5, latMs: 1.1, failed: 3 });
  });

  it('is null for every other line', () => {
    for (const line of [
      'tps = 2411.550793 (without initial connection time)',
      'pgbench: error: client 0 aborted in command 0 (SQL) of script 0; perhaps the backend died while processing',
      'transaction type: /tmp/load.sql',
      '',
      'progress: soon',
    ])
      expect(parseProgressLine(line)).toBeNull();
  });
});

describe('isAbortLine', () => {
  it('recognizes both forms of an aborted client', () => {
    expect(
      isAbortLine(
        'pgbench: error: client 3 aborted in command 0 (SQL) of script 0; perhaps the backend died while processing',
      ),
    ).toBe(true);
    expect(
      isAbortLine(
        'pgbench: error: client 2 script 0 aborted in command 0 query 0: FATAL:  terminating connection due to administrator command',
      ),
    ).toBe(true);
  });

  it('is false for a progress report or the summary', () => {
    expect(isAbortLine('progress: 1.0 s, 10.0 tps, lat 1.000 ms stddev 0.100, 0 failed')).toBe(
      false,
    );
    expect(isAbortLine('number of failed transactions: 0 (0.000%)')).toBe(false);
  });
});

describe('meanTps', () => {
  it('is the mean of the reports, NaN without any', () => {
    expect(meanTps([{ tps: 100 }, { tps: 300 }, { tps: 200 }])).toBe(200);
    expect(meanTps([])).toBeNaN();
  });
});

describe('trialLoadFigures', () => {
  const sample = (run: number, atMono: number, tps: number): StampedSample => ({
    run,
    atMono,
    tps,
    atS: 0,
    latMs: 1,
    failed: 0,
  });
  const load = (samples: StampedSample[], runs: number): Load => ({
    samples,
    runs: () => runs,
    errors: new Set(['error: client N aborted']),
    stop: async () => undefined,
  });

  it('takes the first run before the crash as before, the later runs as after', () => {
    const l = load(
      [
        sample(1, 1000, 2000),
        sample(1, 2000, 3000),
        sample(1, 3100, 40), // the second the crash fell in: not "before"
        sample(4, 4500, 1500),
        sample(4, 5500, 2502.6),
      ],
      4,
    );
    expect(trialLoadFigures(l, 3000, 4.567)).toEqual({
      tpsBefore: 2500,
      tpsAfter: 2001,
      runs: 4,
      errors: ['error: client N aborted'],
      loadAvg1: 4.57,
    });
  });

  it('reports null when no report came', () => {
    const f = trialLoadFigures(load([sample(1, 5000, 10)], 1), 3000, 1);
    expect(f.tpsBefore).toBeNull();
    expect(f.tpsAfter).toBeNull();
  });
});
