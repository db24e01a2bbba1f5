/**
 * `npm run bench:idle`: CPU and memory of idle sentinels and agents (DESIGN.md targets: a
 * sentinel or an agent <= 1% of a core when idle).
 *
 * Method: one `localUp` cluster (2 nodes with agents, 3 sentinels, 1 Redis, default timings)
 * in a temp dir, left alone for a warm-up, then utime+stime of each process read from
 * /proc/<pid>/stat at the start and the end of `--seconds` (default 60): CPU % of one core =
 * ticks used / (clock ticks per second * seconds). RSS from /proc/<pid>/status at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { localDown, localUp } from '../src/local/cluster.js';
import { CLOCK_TICKS, cpuTicks, rssMb } from './lib.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '60' },
      warmup: { type: 'string', default: '10' },
    },
  });
  const seconds = Number(values.seconds);
  const dir = mkdtempSync(join(tmpdir(), 'pgvigil-bench-idle-'));
  const state = await localUp({ dir, apiPort: 0, progress: () => undefined });
  try {
    const procs = [
      ...state.sentinels.map((s) => ({ name: `sentinel ${s.id}`, pid: s.pid })),
      ...(state.agents ?? []).map((a) => ({ name: `agent ${a.node}`, pid: a.pid })),
    ];
    await new Promise((r) => setTimeout(r, Number(values.warmup) * 1000));
    const before = procs.map((p) => cpuTicks(p.pid));
    await new Promise((r) => setTimeout(r, seconds * 1000));
    console.log(
      `pgvigil idle bench: ${seconds} s after a ${values.warmup} s warm-up, 2 nodes, probe every 300 ms`,
    );
    procs.forEach((p, i) => {
      const cpu = ((cpuTicks(p.pid) - before[i]!) / CLOCK_TICKS / seconds) * 100;
      const verdict = cpu <= 1 ? 'PASS' : 'MISS';
      console.log(
        `  ${p.name.padEnd(14)} cpu ${cpu.toFixed(2).padStart(5)} % of a core   rss ${rssMb(p.pid).toFixed(0).padStart(4)} MB   (target <= 1 %: ${verdict})`,
      );
    });
  } finally {
    await localDown({ dir, quiet: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench:idle failed: ${(err as Error).message}`);
  process.exitCode = 1;
});
