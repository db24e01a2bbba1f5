/**
 * The `local` subcommands of the namespaced cluster and of restarts: `local partition A B
 * [--oneway]`, `local heal [A B]` (src/local/netns.ts) and `local start NAME [--wipe]`
 * (src/local/start.ts).
 */
import type { Command } from 'commander';

import { dirOption } from './cli-options.js';

export function addLocalNetCommands(local: Command): void {
  local
    .command('partition <a> <b>')
    .description(
      'cut the links between a and b (--netns clusters; names comma-separated, or host): packets vanish in silence',
    )
    .option('--oneway', 'drop only what a sends to b')
    .addOption(dirOption('the local cluster directory'))
    .action(async (a: string, b: string, opts: { dir: string; oneway?: boolean }) => {
      const { partition } = await import('../local/netns.js');
      process.stdout.write(`${partition(opts.dir, a, b, opts.oneway ?? false)}\n`);
    });
  local
    .command('heal [a] [b]')
    .description('restore the links cut by `local partition` (all of them without names)')
    .addOption(dirOption('the local cluster directory'))
    .action(async (a: string | undefined, b: string | undefined, opts: { dir: string }) => {
      const { heal } = await import('../local/netns.js');
      process.stdout.write(`${heal(opts.dir, a, b)}\n`);
    });
  local
    .command('start <name>')
    .description('restart what `local kill` stopped (a node, sentinel, agent-NODE or Redis server)')
    .option('--wipe', 'a Redis server starts empty (its append-only file removed)')
    .addOption(dirOption('the local cluster directory'))
    .action(async (name: string, opts: { dir: string; wipe?: boolean }) => {
      const { localStart } = await import('../local/start.js');
      process.stdout.write(
        `${await localStart({ dir: opts.dir, name, wipe: opts.wipe ?? false })}\n`,
      );
    });
}
