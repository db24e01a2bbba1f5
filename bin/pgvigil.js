#!/usr/bin/env -S node --max-semi-space-size=2
// same V8 flags as src/local/node-flags.ts (a small young generation: see bench:scale)
import '../dist/cli.js';
