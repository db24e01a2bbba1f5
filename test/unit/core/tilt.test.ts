import { describe, expect, it } from 'vitest';

import {
  INITIAL_TILT,
  markTickEnd,
  tickTilt,
  type TiltReason,
  type TiltState,
} from '../../../src/core/tilt.js';
import { aTiming } from '../../builders/index.js';

// tiltGapMs 2000, tiltMs 10000
const timing = aTiming();

describe('tickTilt', () => {
  const cases: {
    name: string;
    state: TiltState;
    now: number;
    tilt: boolean;
    entered: boolean;
    reason: TiltReason;
  }[] = [
    {
      name: 'first tick',
      state: INITIAL_TILT,
      now: 1000,
      tilt: false,
      entered: false,
      reason: 'first-tick',
    },
    {
      name: 'normal gap',
      state: { lastTickMono: 1000, tiltUntilMono: null },
      now: 1500,
      tilt: false,
      entered: false,
      reason: 'ok',
    },
    {
      name: 'gap exactly at the limit',
      state: { lastTickMono: 1000, tiltUntilMono: null },
      now: 3000,
      tilt: false,
      entered: false,
      reason: 'ok',
    },
    {
      name: 'gap over the limit (process was paused)',
      state: { lastTickMono: 1000, tiltUntilMono: null },
      now: 3001,
      tilt: true,
      entered: true,
      reason: 'tick-gap-too-long',
    },
    {
      name: 'clock went backwards',
      state: { lastTickMono: 1000, tiltUntilMono: null },
      now: 999,
      tilt: true,
      entered: true,
      reason: 'clock-went-backwards',
    },
    {
      name: 'inside the TILT window',
      state: { lastTickMono: 5000, tiltUntilMono: 13_001 },
      now: 5500,
      tilt: true,
      entered: false,
      reason: 'tilt-active',
    },
    {
      name: 'window over',
      state: { lastTickMono: 12_900, tiltUntilMono: 13_001 },
      now: 13_001,
      tilt: false,
      entered: false,
      reason: 'tilt-over',
    },
    {
      name: 'another pause during TILT extends it, not re-entered',
      state: { lastTickMono: 5000, tiltUntilMono: 13_001 },
      now: 9000,
      tilt: true,
      entered: false,
      reason: 'tick-gap-too-long',
    },
  ];

  it.each(cases)('$name -> $reason', ({ state, now, tilt, entered, reason }) => {
    const v = tickTilt(state, now, timing);
    expect({ tilt: v.tilt, entered: v.entered, reason: v.reason }).toEqual({
      tilt,
      entered,
      reason,
    });
    expect(v.state.lastTickMono).toBe(now);
  });

  it('lasts tiltMs from the last anomaly, then ends', () => {
    let state = tickTilt(INITIAL_TILT, 0, timing).state;
    const seen: boolean[] = [];
    for (const now of [500, 5000, 5500, 7000, 9000, 11_000, 13_000, 14_999, 15_000, 15_500]) {
      const v = tickTilt(state, now, timing);
      seen.push(v.tilt);
      state = v.state;
    }
    // 5000: gap 4.5 s -> TILT until 15000; later gaps of 2 s are not over the limit
    expect(seen).toEqual([false, true, true, true, true, true, true, true, false, false]);
  });
});

describe('markTickEnd', () => {
  it('counts the next gap from the end of a long bounded operation', () => {
    const timing = aTiming({ tiltGapMs: 2000 });
    const first = tickTilt(INITIAL_TILT, 0, timing);
    // a 5 s switchover inside the tick that started at 0, then the next tick 300 ms later
    expect(tickTilt(first.state, 5300, timing).tilt).toBe(true);
    expect(tickTilt(markTickEnd(first.state, 5000), 5300, timing).tilt).toBe(false);
  });
});
