/**
 * A Clock (src/ports/clock.ts) on vitest's fake time, for runtime tests under
 * `vi.useFakeTimers()`: `mono` and `wall` both read the faked Date, so
 * `vi.advanceTimersByTimeAsync(ms)` moves the clock and runs the timers due together (a timer
 * callback reads the time it was due at). `jump(ms)` moves the clock without running any timer:
 * the process was paused (SIGSTOP, a VM migration).
 */
import { vi } from 'vitest';

import type { Clock } from '../../src/ports/clock.js';
import { NOW_MONO, NOW_WALL } from '../builders/timing.js';

export interface FakeClock {
  clock: Clock;
  /** run the timers due within `ms`, moving the clock with them */
  advance(ms: number): Promise<void>;
  /** move the clock by `ms` without running timers */
  jump(ms: number): void;
  /** monotonic ms since the clock was made */
  elapsed(): number;
}

/** Call after `vi.useFakeTimers()`. `mono` starts at NOW_MONO, `wall` at NOW_WALL. */
export function fakeClock(o: { mono0?: number; wall0?: number } = {}): FakeClock {
  const wall0 = o.wall0 ?? NOW_WALL;
  const mono0 = o.mono0 ?? NOW_MONO;
  vi.setSystemTime(wall0);
  const clock: Clock = { mono: () => mono0 + (Date.now() - wall0), wall: () => Date.now() };
  return {
    clock,
    advance: async (ms) => {
      await vi.advanceTimersByTimeAsync(ms);
    },
    jump: (ms) => vi.setSystemTime(Date.now() + ms),
    elapsed: () => Date.now() - wall0,
  };
}
