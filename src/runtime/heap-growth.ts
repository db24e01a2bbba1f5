/**
 * How far V8 lets the old generation grow past what the last full GC kept alive before it runs
 * the next one: 60 % here (`--heap-growing-percent=60`), not V8's own factor, which goes up to
 * 4x when GC is cheap next to the work between GCs.
 *
 * The daemons run with a 2 MB young generation (node-flags.ts). A probe's or a Redis call's
 * objects live for one round trip, long enough to survive two scavenges at 1000 probes a second,
 * so they are promoted and die in the old generation. With V8's factor the old generation then
 * held 4x its live data between full GCs: one sentinel watching 1000 node entries kept 42 MB
 * alive and 177 MB of heap, 250 MB RSS. With 60 %: 142 MB RSS, CPU within the run-to-run spread
 * (`npm run bench:scale -- --nodes 1000`, README). An idle sentinel or agent does not change.
 *
 * Set at start-up with `v8.setFlagsFromString`, because Node refuses this flag in NODE_OPTIONS
 * (the systemd units and the Dockerfile set the daemon flags there) and a `node dist/cli.js`
 * command line would not carry it. V8 reads the flag at every full GC. src/cli.ts imports this
 * module; test/unit/runtime/heap-growth.test.ts runs the CLI and checks the effect.
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 60;

setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
