#!/usr/bin/env -S node --max-semi-space-size=2 --v8-pool-size=1
// the daemon flags of src/local/node-flags.ts (bench:idle, bench:scale); `node bin/pgvigil.js`
// skips this line: the systemd units and the Dockerfile pass them in NODE_OPTIONS
import '../dist/cli.js';
