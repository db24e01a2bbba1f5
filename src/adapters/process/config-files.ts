/**
 * Node-local configuration across a pg_rewind or a base backup. Both copy the source's
 * configuration files over ours (notes/pg15-failover.md: the rejoined node then inherits the
 * other node's port, primary_conninfo and slot), so the agent keeps its own copies and puts
 * them back before rewriting the standby settings (settings.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { type RunAs, writeOwned } from './run-as.js';

const CONFIG_FILES = ['postgresql.conf', 'postgresql.auto.conf', 'pg_hba.conf', 'pg_ident.conf'];

export type SavedConfig = Map<string, string>;

export function saveConfigFiles(dataDir: string): SavedConfig {
  const saved: SavedConfig = new Map();
  for (const f of CONFIG_FILES) {
    const p = join(dataDir, f);
    if (existsSync(p)) saved.set(f, readFileSync(p, 'utf8'));
  }
  return saved;
}

export function restoreConfigFiles(
  dataDir: string,
  saved: SavedConfig,
  runAs: RunAs | undefined,
): void {
  for (const [f, text] of saved) writeOwned(join(dataDir, f), text, runAs);
}
