/**
 * The package's root folder and its version, read from package.json (the one source of the
 * version: sentinels advertise it in their presence record, `pgvigil --version` prints it).
 * Works from src/ (tests, tsx) and from dist/ (the built CLI).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding pgvigil's package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('pgvigil package root not found');
    dir = up;
  }
  return dir;
}

let cached: string | undefined;

export function packageVersion(): string {
  cached ??= (
    JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }
  ).version;
  return cached;
}
