/**
 * The lease watchdog on its own, under fake timers: when it fences at once and when it reads
 * once first (a pause of this process, seen by a late timer or by the agent's renewal timer).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { createLogger } from '../../../../src/adapters/logging/logger.js';
import { LeaseWatchdog } from '../../../../src/runtime/agent/lease-watchdog.js';
import { fakeClock } from '../../../fakes/clock.js';

const LEASE_MS = 1500;

function watchdog(o: { pausedSince: boolean; renews: boolean }) {
  const time = fakeClock();
  const calls: string[] = [];
  let confirmed = time.clock.mono();
  const w: LeaseWatchdog = new LeaseWatchdog({
    cluster: 'c1',
    node: 'pg1',
    leaseMs: LEASE_MS,
    clock: time.clock,
    process: {
      state: () => ({ running: true, pid: 1, standbySignal: false, frozen: false }),
      stop: async (mode) => {
        calls.push(`stop ${mode}`);
      },
    },
    bus: { emit: async () => undefined } as never,
    log: createLogger({ level: 'silent', process: 'agent-pg1', role: 'agent' }),
    recheck: async () => {
      calls.push('recheck');
      if (o.renews) {
        confirmed = time.clock.mono();
        w.renew(confirmed);
      }
    },
    pauseMs: 500,
    pausedSince: () => o.pausedSince,
  });
  w.arm({ lastConfirmMono: confirmed, primary: true, epoch: 1 });
  return { time, calls, w };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('LeaseWatchdog', () => {
  it('a lease that runs out on time, with no pause of this process, fences at once', async () => {
    const { time, calls, w } = watchdog({ pausedSince: false, renews: true });
    await time.advance(LEASE_MS + 10);
    expect(calls).toEqual(['stop immediate']);
    await w.stop();
  });

  it('after a pause that ended just before the lease was due, it reads once and is renewed', async () => {
    // chaos seed 7: the agent SIGSTOPped 1.1 s of its 1.5 s lease; the timer itself was on time
    const { time, calls, w } = watchdog({ pausedSince: true, renews: true });
    await time.advance(LEASE_MS + 10);
    expect(calls).toEqual(['recheck']);
    await w.stop();
  });

  it('after such a pause, a read that does not confirm fences', async () => {
    const { time, calls, w } = watchdog({ pausedSince: true, renews: false });
    await time.advance(LEASE_MS + 10);
    expect(calls).toEqual(['recheck', 'stop immediate']);
    await w.stop();
  });
});
