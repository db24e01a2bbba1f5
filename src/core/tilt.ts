/**
 * TILT (Redis Sentinel's `sentinelCheckTiltCondition`): when the gap between two ticks is
 * negative (a monotonic clock went backwards: a bug or a VM migration) or far over
 * `tiltGapMs` (the process was paused: SIGSTOP, GC, swapped out, host suspended), every
 * timestamp this sentinel holds is suspect: probes look stale because WE stopped, not because
 * the node did. So for `tiltMs` the sentinel observes but does not act, and its vote says
 * "not down" (as Sentinel answers is-master-down-by-addr with 0 while in TILT).
 * A new anomaly during TILT restarts the window.
 */
import { formatMs } from './format.js';
import type { Timing } from './spec.js';

export interface TiltState {
  readonly lastTickMono: number | null;
  /** TILT lasts until this monotonic time; null when not in TILT */
  readonly tiltUntilMono: number | null;
}

export type TiltReason =
  | 'first-tick'
  | 'ok'
  | 'clock-went-backwards' // entered (or re-entered) TILT
  | 'tick-gap-too-long' // entered (or re-entered) TILT
  | 'tilt-active'
  | 'tilt-over'; // the tick on which TILT ended: acting is allowed again

export interface TiltVerdict {
  state: TiltState;
  tilt: boolean;
  /** true only on the tick that entered TILT from normal operation */
  entered: boolean;
  reason: TiltReason;
  evidence: string;
}

export const INITIAL_TILT: TiltState = { lastTickMono: null, tiltUntilMono: null };

export function tickTilt(state: TiltState, nowMono: number, timing: Timing): TiltVerdict {
  const wasTilt = state.tiltUntilMono !== null;
  if (state.lastTickMono === null) {
    return {
      state: { lastTickMono: nowMono, tiltUntilMono: null },
      tilt: false,
      entered: false,
      reason: 'first-tick',
      evidence: 'first tick',
    };
  }
  const gap = nowMono - state.lastTickMono;
  if (gap < 0 || gap > timing.tiltGapMs) {
    const reason = gap < 0 ? 'clock-went-backwards' : 'tick-gap-too-long';
    return {
      state: { lastTickMono: nowMono, tiltUntilMono: nowMono + timing.tiltMs },
      tilt: true,
      entered: !wasTilt,
      reason,
      evidence: `tick gap ${formatMs(gap)} (limit ${formatMs(timing.tiltGapMs)}): observing only for ${formatMs(timing.tiltMs)}`,
    };
  }
  if (state.tiltUntilMono !== null && nowMono < state.tiltUntilMono) {
    return {
      state: { lastTickMono: nowMono, tiltUntilMono: state.tiltUntilMono },
      tilt: true,
      entered: false,
      reason: 'tilt-active',
      evidence: `TILT for another ${formatMs(state.tiltUntilMono - nowMono)}`,
    };
  }
  return {
    state: { lastTickMono: nowMono, tiltUntilMono: null },
    tilt: false,
    entered: false,
    reason: wasTilt ? 'tilt-over' : 'ok',
    evidence: wasTilt ? 'TILT over' : `tick gap ${formatMs(gap)}`,
  };
}

/**
 * After a tick that ran a long, bounded operation (a failover, a switchover), count the next
 * gap from now: that time was our own work, not a pause of the process.
 */
export function markTickEnd(state: TiltState, nowMono: number): TiltState {
  return { ...state, lastTickMono: nowMono };
}
