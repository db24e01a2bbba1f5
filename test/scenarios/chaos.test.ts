/**
 * The seeded fault runner (bench/chaos, `npm run chaos`) as part of `npm test`: a fixed seed,
 * about 2 minutes of mixed faults (seed 1: primary isolated, a Redis server wiped, a
 * switchover, a sentinel frozen, a Redis server killed, a failback, a Redis server frozen, a
 * sentinel killed, the primary frozen) on a fresh `local up --netns` cluster, async mode.
 * Every invariant of bench/chaos/checks.ts must hold. Root only (network namespaces).
 * A failure prints the replay command and keeps the ledger, events and logs (outDir).
 */
import { describe, expect, it } from 'vitest';

import { runChaos } from '../../bench/chaos/run.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('chaos scenario skipped: needs root (network namespaces)');

describe.skipIf(!isRoot)('chaos: fixed seed, 2 minutes', () => {
  it('seed 1: every fault recovered, no invariant violated', { timeout: 600_000 }, async () => {
    const lines: string[] = [];
    const r = await runChaos({
      seed: 1,
      durationMs: 120_000,
      mode: 'async',
      log: (l) => lines.push(l),
    });
    const summary = `${r.replay}\n${lines.join('\n')}\n${JSON.stringify(r.violations, null, 2)}\nledger: ${r.outDir}`;
    console.log(
      `chaos seed 1: ${r.faults.length} faults in ${Math.round(r.elapsedMs / 1000)} s, acks ${r.acks.total}, lost ${r.lost}, failovers ${r.failovers.length}, switchovers ${r.switchovers.length}, converged ${r.converge.ms} ms`,
    );
    expect(r.faults.length, summary).toBe(r.schedule.length);
    expect(r.violations, summary).toEqual([]);
    // the run really did something: writes on more than one server, a failover and a switchover
    expect(Object.keys(r.acks.byServer).length, summary).toBeGreaterThan(1);
    expect(r.failovers.length, summary).toBeGreaterThan(0);
    expect(r.switchovers.length, summary).toBeGreaterThan(0);
  });
});
