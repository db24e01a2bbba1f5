import type { Timing } from '../../src/config/types.js';

/** Default-profile-like timings with round numbers, so test arithmetic stays readable. */
export function aTiming(overrides: Partial<Timing> = {}): Timing {
  return {
    profile: 'default',
    probeIntervalMs: 500,
    downAfterMs: 3000,
    refusedAfterMs: 1000,
    connectTimeoutMs: 1000,
    queryTimeoutMs: 1000,
    voteTtlMs: 5000,
    presenceTtlMs: 5000,
    lockTtlMs: 5000,
    cooldownMs: 60_000,
    tiltGapMs: 2000,
    tiltMs: 10_000,
    promoteTimeoutMs: 5000,
    redisTimeoutMs: 500,
    leaseMs: 5000,
    fenceMs: 500,
    agentIntervalMs: 500,
    switchoverTimeoutMs: 10_000,
    intentTimeoutMs: 30_000,
    ...overrides,
  };
}

/** The instant every builder treats as "now". */
export const NOW_MONO = 1_000_000;
export const NOW_WALL = 1_700_000_000_000;
export const EPOCH = 7;
