/**
 * Preloaded into the sentinel by `bench:scale` (`NODE_OPTIONS=--import .../loop-lag.js`): the
 * event-loop delay of that process at a resolution fit to measure it. The sentinel's own
 * `pgvigil_nodejs_eventloop_lag_*` figures come from prom-client's monitorEventLoopDelay at
 * EVENT_LOOP_SAMPLE_MS = 1000 (idle cost): that histogram records the interval between two of
 * its timer callbacks, so its values are ~1000 ms plus the delay, and it samples once a second.
 * Here: a libuv timer every RESOLUTION_MS; each value minus RESOLUTION_MS is how late the loop
 * ran that timer. A stall of at least RESOLUTION_MS is always seen (its part past a deadline).
 * On SIGUSR2: write the figures since the last SIGUSR2 (or start) to $BENCH_LOOP_LAG_FILE as
 * JSON, then start a new window.
 */
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

export const RESOLUTION_MS = 20;

const file = process.env.BENCH_LOOP_LAG_FILE;
if (file) {
  const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  h.enable();
  const late = (ns: number): number => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  process.on('SIGUSR2', () => {
    const figures = {
      resolutionMs: RESOLUTION_MS,
      samples: h.count,
      p50Ms: late(h.percentile(50)),
      p99Ms: late(h.percentile(99)),
      p999Ms: late(h.percentile(99.9)),
      maxMs: late(h.max),
    };
    writeFileSync(file, JSON.stringify(figures));
    h.reset();
  });
}
