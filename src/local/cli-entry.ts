/** The built CLI (dist/cli.js) that the embedded cluster starts its sentinels and agents from. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { UserError } from '../core/errors.js';
import { packageRoot } from '../version.js';

export function cliEntry(): string {
  const cli = join(packageRoot(), 'dist', 'cli.js');
  if (!existsSync(cli)) throw new UserError(`${cli} is missing: run \`npm run build\` first`);
  return cli;
}
