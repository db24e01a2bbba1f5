#!/usr/bin/env node
/**
 * Commands -> runtime. User errors print one clear line and exit non-zero; a stack trace only
 * with --debug.
 */
import { Command, Option } from 'commander';

import { runAgent } from './commands/agent.js';
import { runDemo } from './commands/demo.js';
import { runEvents } from './commands/events.js';
import { runPause } from './commands/pause.js';
import { runSentinel } from './commands/sentinel.js';
import { runStatus } from './commands/status.js';
import { runIntent } from './commands/switchover.js';
import { ConfigError, UserError } from './core/errors.js';
import { localDown, localKill, localUp } from './local/cluster.js';
import { packageVersion } from './version.js';

const program = new Command();
program
  .name('pgvigil')
  .description('Automatic failover for PostgreSQL, agreed through Redis')
  .version(packageVersion())
  .option('--debug', 'print stack traces');

const configOption = () =>
  new Option(
    '-c, --config <file>',
    'config file (default ./pgvigil.yaml, then .pgvigil-local/pgvigil.yaml)',
  );

program
  .command('sentinel')
  .description('probe every node, vote, elect a leader through Redis and fail over')
  .addOption(configOption())
  .option('--id <id>', 'sentinel id (overrides sentinel.id)')
  .option('--api-port <port>', 'admin API port (overrides sentinel.api.port)', (v) => Number(v))
  .action(async (opts: { config?: string; id?: string; apiPort?: number }) => {
    await runSentinel(opts);
  });

program
  .command('agent')
  .description(
    'the node agent: owns the local postgres (rejoin, self-fencing) and serves health checks',
  )
  .addOption(configOption())
  .requiredOption('--node <name>', 'the node beside which this agent runs (nodes[].name)')
  .option('--cluster <name>', 'cluster of the node (needed only when the name is in several)')
  .action(async (opts: { config?: string; node: string; cluster?: string }) => {
    await runAgent(opts);
  });

const local = program
  .command('local')
  .description('the embedded local cluster: real PostgreSQL, Redis and sentinels on loopback');
local
  .command('up')
  .description('start a primary, standbys, Redis and sentinels on free loopback ports')
  .option('--dir <dir>', 'where to keep everything', '.pgvigil-local')
  .option('--nodes <n>', 'PostgreSQL nodes (>= 2)', (v) => Number(v), 2)
  .option('--sentinels <k>', 'sentinel processes', (v) => Number(v), 3)
  .option('--redis <n>', 'independent Redis servers (1, 3 or 5)', (v) => Number(v), 1)
  .option('--fast', 'use the fast timing profile')
  .option('--sync', 'synchronous replication (replication.mode: sync)')
  .option('--token', 'protect mutating API calls with a generated bearer token (<dir>/api-token)')
  .option('--no-agents', 'do not start a node agent beside each postgres')
  .option('--api-port <port>', "first sentinel's API port when free", (v) => Number(v), 8088)
  .option(
    '--detach',
    'return once everything runs (default: stay in the foreground, Ctrl-C stops it)',
  )
  .action(
    async (opts: {
      dir: string;
      nodes: number;
      sentinels: number;
      redis: number;
      fast?: boolean;
      sync?: boolean;
      token?: boolean;
      agents: boolean;
      apiPort: number;
      detach?: boolean;
    }) => {
      const state = await localUp({
        ...opts,
        profile: opts.fast ? 'fast' : 'default',
        replicationMode: opts.sync ? 'sync' : 'async',
      });
      process.stdout.write(
        `${JSON.stringify({ state: `${state.dir}/state.json`, config: state.config, api: state.api, primary: state.nodes[0]!.url }, null, 2)}\n`,
      );
      if (opts.detach) return;
      process.stderr.write('running in the foreground: Ctrl-C stops the local cluster\n');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await localDown({ dir: state.dir });
    },
  );
local
  .command('down')
  .description('stop everything `local up` started, by PID')
  .option('--dir <dir>', 'the local cluster directory', '.pgvigil-local')
  .action(async (opts: { dir: string }) => localDown(opts));
local
  .command('kill <name>')
  .description('inject a fault: a node (pg1...), a sentinel (s1...) or a Redis server (redis-1...)')
  .addOption(
    new Option('--signal <signal>', 'signal to send')
      .choices(['KILL', 'STOP', 'CONT'])
      .default('KILL'),
  )
  .option('--dir <dir>', 'the local cluster directory', '.pgvigil-local')
  .action(async (name: string, opts: { dir: string; signal: 'KILL' | 'STOP' | 'CONT' }) => {
    process.stdout.write(`${await localKill({ dir: opts.dir, name, signal: opts.signal })}\n`);
  });

program
  .command('status')
  .description('topology, lag per standby, live sentinels and the leader')
  .addOption(configOption())
  .option('--cluster <name>', 'cluster (default: every cluster)')
  .option('--json', 'print the topology JSON')
  .action(async (opts: { config?: string; cluster?: string; json?: boolean }) => {
    process.exitCode = await runStatus(opts);
  });

program
  .command('events')
  .description('the event history, optionally followed live')
  .addOption(configOption())
  .option('--cluster <name>', 'cluster (default: the first)')
  .option('--since <id>', 'history stream id to start after', '0')
  .option('--follow', 'keep printing new events')
  .option('--json', 'one JSON object per line')
  .action(
    async (opts: {
      config?: string;
      cluster?: string;
      since: string;
      follow?: boolean;
      json?: boolean;
    }) => runEvents(opts),
  );

for (const paused of [true, false]) {
  program
    .command(paused ? 'pause' : 'resume')
    .description(
      paused ? 'maintenance mode: no automatic failover until resume' : 'leave maintenance mode',
    )
    .addOption(configOption())
    .option('--cluster <name>', 'cluster (default: every cluster)')
    .option('--reason <text>', 'why (shown by status)')
    .action(async (opts: { config?: string; cluster?: string; reason?: string }) =>
      runPause({ ...opts, paused }),
    );
}

program
  .command('switchover')
  .description('graceful switchover to a standby: nothing acknowledged is lost (rule 7)')
  .addOption(configOption())
  .requiredOption('--to <node>', 'the standby to promote')
  .option('--cluster <name>', 'cluster (default: the only one)')
  .action(async (opts: { config?: string; to: string; cluster?: string }) =>
    runIntent({ ...opts, op: 'switchover' }),
  );
program
  .command('failover')
  .description(
    'manual failover: a switchover when the primary is healthy, a forced failover when it is down',
  )
  .addOption(configOption())
  .option('--to <node>', 'the standby to promote (default: the best candidate)')
  .option('--cluster <name>', 'cluster (default: the only one)')
  .action(async (opts: { config?: string; to?: string; cluster?: string }) =>
    runIntent({ ...opts, op: 'failover' }),
  );
program
  .command('failback')
  .description('switch the role back to preferredPrimary, else the primary before the last change')
  .addOption(configOption())
  .option('--cluster <name>', 'cluster (default: the only one)')
  .action(async (opts: { config?: string; cluster?: string }) =>
    runIntent({ ...opts, op: 'failback' }),
  );

program
  .command('demo')
  .description('start the local cluster and show live status (what `npm run demo` runs)')
  .option('--dir <dir>', 'where to keep everything', '.pgvigil-local')
  .option('--fast', 'use the fast timing profile')
  .action(async (opts: { dir: string; fast?: boolean }) => runDemo(opts));

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const debug =
    program.opts<{ debug?: boolean }>().debug === true || process.argv.includes('--debug');
  const e = err as Error;
  if (debug) process.stderr.write(`${e.stack ?? e.message}\n`);
  else if (e instanceof UserError || e instanceof ConfigError)
    process.stderr.write(`pgvigil: ${e.message}\n`);
  else process.stderr.write(`pgvigil: ${e.message} (run with --debug for details)\n`);
  process.exitCode = 1;
}
