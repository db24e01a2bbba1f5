/**
 * The fault runner finds planted bugs (issue 12, Prove): with a safety rule switched off by the
 * test-only PGVIGIL_TEST_UNSAFE (src/commands/test-unsafe.ts; the sentinels and agents inherit
 * it), a fixed seed and fault kind violate an invariant; with the switch off the same seed
 * passes. Root only (network namespaces).
 *
 * - skip-rule2, `--faults cut-sentinels-primary`: every sentinel is cut from a healthy primary
 *   that its standby still streams from. Rule 2 holds the failover; without it the sentinels
 *   fail the live primary over: check (e) false-failover.
 * - skip-lease, `--faults isolate-primary`: the primary is cut from everything, a client in its
 *   namespace keeps writing. Its lease fences it before pg2 is promoted; without it both
 *   acknowledge writes at once: check (a) single-primary.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { type ChaosReport, runChaos } from '../../bench/chaos/run.js';
import type { FaultKind } from '../../bench/chaos/schedule.js';

const isRoot = process.getuid?.() === 0;
/**
 * Seed 11 holds each fault 8.2 s. Seed 1 held it 4 s, the minimum. Detection (downAfterMs 3 s)
 * plus the promotion then had about 1 s of margin, and in one CI run no failover came within
 * the hold: the planted bug was not found.
 */
const SEED = 11;

async function run(unsafe: string | undefined, kind: FaultKind): Promise<ChaosReport> {
  if (unsafe) process.env.PGVIGIL_TEST_UNSAFE = unsafe;
  else delete process.env.PGVIGIL_TEST_UNSAFE;
  const r = await runChaos({ seed: SEED, durationMs: 1000, mode: 'async', kinds: [kind] });
  console.log(
    `[${unsafe ?? 'safe'}] ${kind}: ${r.violations.length} violation(s) ${r.violations.map((v) => v.check).join(', ')}; acks ${JSON.stringify(r.acks.byServer)}, failovers ${r.failovers.length}, lost ${r.lost}`,
  );
  return r;
}

describe.skipIf(!isRoot)('the fault runner finds planted bugs', () => {
  afterEach(() => {
    delete process.env.PGVIGIL_TEST_UNSAFE;
  });

  it.each([
    ['skip-rule2', 'cut-sentinels-primary', 'false-failover'],
    ['skip-lease', 'isolate-primary', 'single-primary'],
  ] as const)(
    '%s with --faults %s: %s violated; without the switch the same seed passes',
    { timeout: 300_000 },
    async (unsafe, kind, check) => {
      const broken = await run(unsafe, kind);
      expect(
        broken.violations.map((v) => v.check),
        JSON.stringify(broken.violations),
      ).toContain(check);
      const safe = await run(undefined, kind);
      expect(safe.violations, `${safe.replay}\n${JSON.stringify(safe.violations)}`).toEqual([]);
      expect(safe.faults).toHaveLength(1);
    },
  );
});
