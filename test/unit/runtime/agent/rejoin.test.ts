/**
 * rejoin() on fakes under fake timers: pg2 (stopped) rejoins as a standby of pg1, escalating
 * restart -> rewind -> basebackup only as needed. In the fake a node that `diverged` (holds WAL
 * the primary never had) does not stream until it is rewound or copied afresh.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { PostgresCommandFailed } from '../../../../src/core/errors.js';
import {
  rejoin,
  type RejoinMethod,
  type RejoinPlan,
} from '../../../../src/runtime/agent/rejoin.js';
import { aClusterConfig } from '../../../builders/index.js';
import { fakeClock } from '../../../fakes/clock.js';
import { recordingLogger } from '../../../fakes/logger.js';
import { FakeLocalObserver, FakeNodeProcess } from '../../../fakes/node-process.js';
import { FakePostgres } from '../../../fakes/postgres.js';

const cluster = aClusterConfig();
const [pg1, pg2] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
const STREAMING_WAIT_MS = 1000;

function setup(o: { keepOld?: boolean } = {}) {
  const time = fakeClock();
  const pg = FakePostgres.cluster(cluster.nodes);
  const process = new FakeNodeProcess(pg, 'pg2');
  process.crash();
  const log = recordingLogger();
  const deps = {
    process,
    pg,
    observer: new FakeLocalObserver(pg, 'pg2', process),
    self: pg2,
    keepOldDataDirs: o.keepOld ?? true,
    log,
    clock: time.clock,
    streamingWaitMs: STREAMING_WAIT_MS,
  };
  /** runs the rejoin, driving the fake timers until it settles */
  const run = async (plan: Partial<RejoinPlan> = {}): Promise<RejoinMethod | Error> => {
    let out: RejoinMethod | Error | undefined;
    const p = rejoin(deps, { primary: pg1, epoch: 2, running: false, rewind: false, ...plan }).then(
      (m) => (out = m),
      (err: Error) => (out = err),
    );
    for (let i = 0; i < 100 && out === undefined; i++) await time.advance(100);
    await p;
    return out!;
  };
  return { time, pg, process, log, run };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('rejoin', () => {
  it('a stopped standby: restart with the standby settings, the slot first, then it streams', async () => {
    const s = setup();
    expect(await s.run()).toBe('restart');
    expect(s.process.calls).toEqual(['clear-orphans', 'configure-standby pg1', 'start']);
    expect(s.pg.calls).toEqual(['slot pg1 pg2']);
    expect(s.pg.streamsFrom(s.pg.node('pg2'))).toBe('pg1');
  });

  it('a running node is stopped first', async () => {
    const s = setup();
    s.pg.up('pg2');
    expect(await s.run({ running: true })).toBe('restart');
    expect(s.process.calls[0]).toBe('stop fast');
  });

  it('a rewind that finds nothing to do is reported as a restart', async () => {
    const s = setup();
    s.process.script.rewind = 'noop';
    expect(await s.run({ rewind: true })).toBe('restart');
    expect(s.process.calls).toEqual([
      'clear-orphans',
      'rewind pg1',
      'configure-standby pg1',
      'start',
    ]);
  });

  it('a diverged node: rewind, then it streams', async () => {
    const s = setup();
    s.pg.set('pg2', { diverged: true });
    expect(await s.run({ rewind: true })).toBe('rewind');
    expect(s.pg.node('pg2').diverged).toBe(false);
  });

  it('a restart that does not stream within streamingWaitMs escalates to a rewind', async () => {
    const s = setup();
    s.pg.set('pg2', { diverged: true });
    expect(await s.run()).toBe('rewind');
    expect(s.process.calls).toEqual([
      'clear-orphans',
      'configure-standby pg1',
      'start',
      'stop fast',
      'rewind pg1',
      'configure-standby pg1',
      'start',
    ]);
    expect(s.time.elapsed()).toBeGreaterThanOrEqual(STREAMING_WAIT_MS);
  });

  it('a failed rewind: a fresh base backup, the old directory moved aside (and heard at once)', async () => {
    const s = setup();
    s.pg.set('pg2', { diverged: true });
    s.process.script.rewind = 'fail';
    expect(await s.run({ rewind: true })).toBe('basebackup');
    expect(s.process.calls).toEqual([
      'clear-orphans',
      'rewind pg1',
      'basebackup pg1 slot=pg2 keepOld=true',
      'configure-standby pg1',
      'start',
    ]);
    expect(s.pg.calls).toEqual(['slot pg1 pg2', 'slot pg1 pg2']);
    const moved = s.log.lines.find((l) => l.msg === 'old data directory moved aside');
    expect(moved?.obj.aside).toMatch(/^\/fake\/pg2\.old-/);
  });

  it('a base backup that fails after moving the old directory aside still reports where it went', async () => {
    const s = setup({ keepOld: false });
    s.process.script.rewind = 'fail';
    s.process.script.baseBackupFails = true;
    const err = await s.run({ rewind: true });
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/pg_basebackup/);
    expect(s.log.lines.some((l) => l.msg === 'old data directory moved aside')).toBe(true);
    expect(s.process.calls).toContain('basebackup pg1 slot=pg2 keepOld=false');
  });

  it('the primary still in recovery: SourceNotReady, no escalation to a base backup', async () => {
    const s = setup();
    s.pg.set('pg1', { role: 'standby' }); // not promoted yet
    const err = await s.run({ rewind: true });
    expect(err).toBeInstanceOf(PostgresCommandFailed);
    expect((err as Error).message).toMatch(/pg1 is still in recovery/);
    expect(s.process.calls).toEqual(['clear-orphans']);
    // not even tried: a base backup would fail the same way, and a later loop retries the rewind
    expect(s.log.lines.filter((l) => l.obj.method === 'basebackup')).toEqual([]);
  });

  it('not streaming even after a fresh base backup: an error', async () => {
    const s = setup();
    s.pg.set('pg2', { diverged: true });
    s.process.script.rewind = 'fail';
    s.process.script.streamsAfterBaseBackup = false;
    const err = await s.run();
    expect(err).toBeInstanceOf(PostgresCommandFailed);
    expect((err as Error).message).toMatch(
      /pg2 does not stream from pg1 within 1000 ms even after a fresh base backup/,
    );
    expect(s.process.calls.filter((c) => c === 'start')).toHaveLength(2); // restart, basebackup
    expect(s.process.calls).toContain('rewind pg1');
  });

  it('a restart that cannot start postgres is not escalated', async () => {
    const s = setup();
    s.process.script.startFails = true;
    const err = await s.run();
    expect((err as Error).message).toMatch(/could not bind/);
    expect(s.process.calls).not.toContain('rewind pg1');
  });
});
