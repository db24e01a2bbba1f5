/**
 * Every default of the config (schema.ts fills them in): the timing profiles and the plain
 * values. Explicit keys in the file or environment always win.
 */

import type { Timing } from './types.js';

/**
 * Timing defaults per profile. `default` is LAN-tuned for p50 <= 2 s crash-to-write; `fast`
 * reaches p50 <= 1 s but reacts to shorter stalls (GC pauses, network blips), so the risk of
 * a false failover rises. Explicit keys in the file or environment always win over a profile.
 * Both profiles pass every rule of rules.ts (test/unit/config/rules.test.ts checks it).
 */
export const TIMING_DEFAULTS: Readonly<
  Record<Timing['profile'], Readonly<Omit<Timing, 'profile' | 'voteTtlMs' | 'leaseMs' | 'fenceMs'>>>
> = {
  default: {
    probeIntervalMs: 300,
    downAfterMs: 3000,
    refusedAfterMs: 1000,
    connectTimeoutMs: 1000,
    queryTimeoutMs: 1000,
    presenceTtlMs: 5000,
    lockTtlMs: 4000,
    cooldownMs: 60_000,
    tiltGapMs: 2000,
    tiltMs: 10_000,
    promoteTimeoutMs: 10_000,
    redisTimeoutMs: 500,
    agentIntervalMs: 500,
    switchoverTimeoutMs: 10_000,
    intentTimeoutMs: 30_000,
  },
  fast: {
    probeIntervalMs: 100,
    downAfterMs: 1000,
    refusedAfterMs: 300,
    connectTimeoutMs: 300,
    queryTimeoutMs: 300,
    presenceTtlMs: 5000,
    lockTtlMs: 2000,
    cooldownMs: 60_000,
    tiltGapMs: 1000,
    tiltMs: 10_000,
    promoteTimeoutMs: 10_000,
    redisTimeoutMs: 250,
    agentIntervalMs: 200,
    switchoverTimeoutMs: 10_000,
    intentTimeoutMs: 30_000,
  },
};
/** A down vote outlives one detection window, so votes from sentinels out of phase overlap. */
export const VOTE_TTL_FACTOR = 2;
/**
 * The agent's lease (`leaseMs`, when not set) is this share of `downAfterMs`, so it follows an
 * explicit `downAfterMs` and keeps running out before the sentinels can promote another node
 * (rules.ts `leaseIssues`: leaseMs + fenceMs + probeIntervalMs <= downAfterMs). With
 * FENCE_FACTOR that gives 1500 + 900 + 300 <= 3000 with the default profile and 500 + 300 +
 * 100 <= 1000 with `fast` (whose lease is more than agentIntervalMs + redisTimeoutMs = 450).
 */
export const LEASE_FACTOR = 0.5;
/** The fence budget (`fenceMs`, when not set): this share of `downAfterMs`. */
export const FENCE_FACTOR = 0.3;

export const DEFAULTS = {
  sentinels: 3,
  apiHost: '127.0.0.1',
  apiPort: 8088,
  prefix: 'pgvigil',
  redis: ['redis://127.0.0.1:6379'],
  logLevel: 'info',
  quorum: 2,
  maxLagOnFailoverBytes: 16 * 1024 * 1024,
  database: 'postgres',
  user: 'postgres',
  replicationMode: 'async',
  replicationUser: 'replicator',
  maxSlotWalKeepSize: '1GB',
  dropSlotAfterMs: 600_000,
  priority: 100,
  noFailover: false,
} as const;
