#!/usr/bin/env node
/**
 * Commands -> runtime. User errors print one clear line and exit non-zero; a stack trace only
 * with --debug.
 *
 * Exit codes, one convention for every command: 1 for any error, a bad option included (commander
 * refuses it while parsing argv, before a command body reads a config or writes a file: every
 * numeric or enumerated option has a parser from commands/cli-options.ts); `status` adds 2 (no
 * coordination majority) and uses 1 for warnings. Every error line starts with `pgvigil: `.
 *
 * Each command body is imported when that command runs, so a long-running sentinel or agent does
 * not keep the embedded cluster, the demo or the other commands in its heap (`bench:idle`).
 */
// first: pg loads without undici (see load-pg.ts), before any module below imports it
import './adapters/postgres/load-pg.js';
// the old generation grows 60 % past its live data between full GCs, not up to 4x
import './runtime/heap-growth.js';

import { Command, Option } from 'commander';

import { addBackupCommands } from './commands/backup-cli.js';
import {
  dirOption,
  intChoiceOption,
  intOption,
  LOCAL_MAX_NODES,
  LOCAL_MAX_SENTINELS,
  nameOption,
  nonEmpty,
  PORT_MAX,
  streamId,
} from './commands/cli-options.js';
import type { runConnstring } from './commands/connstring.js';
import { addLocalNetCommands } from './commands/local-net.js';
import { DEFAULTS } from './config/defaults.js';
import { REDIS_COUNTS } from './config/rules.js';
import { ConfigError, UserError } from './core/errors.js';
import { packageVersion } from './version.js';

type ConnstringOptions = Parameters<typeof runConnstring>[0];

const program = new Command();
program
  .name('pgvigil')
  .description('Automatic failover for PostgreSQL, agreed through Redis')
  .version(packageVersion())
  .option('--debug', 'print stack traces')
  // inherited by every command added below: commander's own errors (a bad option, an unknown
  // command) in the format of the catch block at the end, `pgvigil: <one line>`, exit 1
  .configureOutput({
    outputError: (str, write) => {
      write(`pgvigil: ${str.replace(/^error: /, '')}`);
    },
  });

const configOption = () =>
  new Option(
    '-c, --config <file>',
    'config file (default ./pgvigil.yaml, then .pgvigil-local/pgvigil.yaml)',
  ).argParser(nonEmpty);

program
  .command('sentinel')
  .description('probe every node, vote, elect a leader through Redis and fail over')
  .addOption(configOption())
  .addOption(new Option('--id <id>', 'sentinel id (overrides sentinel.id)').argParser(nonEmpty))
  .addOption(
    intOption('--api-port <port>', 'admin API port (overrides sentinel.api.port)', 1, PORT_MAX),
  )
  .action(async (opts: { config?: string; id?: string; apiPort?: number }) => {
    const { runSentinel } = await import('./commands/sentinel.js');
    await runSentinel(opts);
  });

program
  .command('agent')
  .description(
    'the node agent: owns the local postgres (rejoin, self-fencing) and serves health checks',
  )
  .addOption(configOption())
  .addOption(
    nameOption(
      '--node <name>',
      'the node beside which this agent runs (nodes[].name)',
    ).makeOptionMandatory(),
  )
  .addOption(
    nameOption('--cluster <name>', 'cluster of the node (needed only when the name is in several)'),
  )
  .action(async (opts: { config?: string; node: string; cluster?: string }) => {
    const { runAgent } = await import('./commands/agent.js');
    await runAgent(opts);
  });

const local = program
  .command('local')
  .description('the embedded local cluster: real PostgreSQL, Redis and sentinels on loopback');
local
  .command('up')
  .description('start a primary, standbys, Redis and sentinels on free loopback ports')
  .addOption(dirOption('where to keep everything'))
  .addOption(intOption('--nodes <n>', 'PostgreSQL nodes', 2, LOCAL_MAX_NODES).default(2))
  .addOption(intOption('--sentinels <k>', 'sentinel processes', 1, LOCAL_MAX_SENTINELS).default(3))
  .addOption(intChoiceOption('--redis <n>', 'independent Redis servers', REDIS_COUNTS).default(1))
  .option('--fast', 'use the fast timing profile')
  .option('--sync', 'synchronous replication (replication.mode: sync)')
  .option('--token', 'protect mutating API calls with a generated bearer token (<dir>/api-token)')
  .option(
    '--tls',
    'TLS everywhere: a local CA, PostgreSQL verify-full with client certs, rediss://',
  )
  .option('--no-agents', 'do not start a node agent beside each postgres')
  .option('--netns', 'each node, sentinel and Redis server in a network namespace (root)')
  .option('--no-backups', 'no WAL archiving and no pgBackRest repository')
  .addOption(
    intOption(
      '--api-port <port>',
      "first sentinel's API port when free, 0: any",
      0,
      PORT_MAX,
    ).default(DEFAULTS.apiPort),
  )
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
      tls?: boolean;
      agents: boolean;
      netns?: boolean;
      backups: boolean;
      apiPort: number;
      detach?: boolean;
    }) => {
      const { localDown, localUp } = await import('./local/cluster.js');
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
  .addOption(dirOption('the local cluster directory'))
  .action(async (opts: { dir: string }) => (await import('./local/cluster.js')).localDown(opts));
local
  .command('kill <name>')
  .description('inject a fault: a node (pg1...), a sentinel (s1...) or a Redis server (redis-1...)')
  .addOption(
    new Option('--signal <signal>', 'signal to send')
      .choices(['KILL', 'STOP', 'CONT'])
      .default('KILL'),
  )
  .addOption(dirOption('the local cluster directory'))
  .action(async (name: string, opts: { dir: string; signal: 'KILL' | 'STOP' | 'CONT' }) => {
    const { localKill } = await import('./local/cluster.js');
    process.stdout.write(`${await localKill({ dir: opts.dir, name, signal: opts.signal })}\n`);
  });
addLocalNetCommands(local);

for (const [cmd, fenced] of [
  ['fence', true],
  ['unfence', false],
] as const)
  program
    .command(`${cmd} <node>`)
    .description(
      fenced
        ? 'fence a node over SQL: connections to every database but template1 refused, every session ended (a primary: automatic failover paused)'
        : 'lift `pgvigil fence` (and the pause it set)',
    )
    .addOption(configOption())
    .option('--cluster <name>', 'the cluster of the node (default: the one that has it)')
    .action(async (node: string, opts: { config?: string; cluster?: string }) =>
      (await import('./commands/fence.js')).runFence({ ...opts, node, fenced }),
    );

program
  .command('status')
  .description('topology, lag per standby, live sentinels and the leader')
  .addOption(configOption())
  .addOption(nameOption('--cluster <name>', 'cluster (default: every cluster)'))
  .option('--json', 'print the topology JSON')
  .action(async (opts: { config?: string; cluster?: string; json?: boolean }) => {
    const { runStatus } = await import('./commands/status.js');
    process.exitCode = await runStatus(opts);
  });

program
  .command('events')
  .description('the event history, optionally followed live')
  .addOption(configOption())
  .addOption(nameOption('--cluster <name>', 'cluster (default: the first)'))
  .addOption(
    new Option('--since <id>', 'history stream id to start after (0: from the start)')
      .default('0')
      .argParser(streamId),
  )
  .option('--follow', 'keep printing new events')
  .option('--json', 'one JSON object per line')
  .action(
    async (opts: {
      config?: string;
      cluster?: string;
      since: string;
      follow?: boolean;
      json?: boolean;
    }) => (await import('./commands/events.js')).runEvents(opts),
  );

program
  .command('connstring')
  .description(
    'a libpq multi-host URL of the cluster (psql, psycopg, JDBC, pgx follow the primary)',
  )
  .addOption(configOption())
  .addOption(nameOption('--cluster <name>', 'cluster (default: the first)'))
  .option('--read-only', 'target_session_attrs=prefer-standby (standbys first)')
  .option('--user <name>', "user in the URL (default: the cluster's user)")
  .option('--database <name>', "database in the URL (default: the cluster's database)")
  .action(async (opts: ConnstringOptions) =>
    (await import('./commands/connstring.js')).runConnstring(opts),
  );

for (const paused of [true, false]) {
  program
    .command(paused ? 'pause' : 'resume')
    .description(
      paused ? 'maintenance mode: no automatic failover until resume' : 'leave maintenance mode',
    )
    .addOption(configOption())
    .addOption(nameOption('--cluster <name>', 'cluster (default: every cluster)'))
    .addOption(new Option('--reason <text>', 'why (shown by status)').argParser(nonEmpty))
    .action(async (opts: { config?: string; cluster?: string; reason?: string }) =>
      (await import('./commands/pause.js')).runPause({ ...opts, paused }),
    );
}

program
  .command('switchover')
  .description('graceful switchover to a standby: nothing acknowledged is lost (rule 7)')
  .addOption(configOption())
  .addOption(nameOption('--to <node>', 'the standby to promote').makeOptionMandatory())
  .addOption(nameOption('--cluster <name>', 'cluster (default: the only one)'))
  .action(async (opts: { config?: string; to: string; cluster?: string }) =>
    (await import('./commands/switchover.js')).runIntent({ ...opts, op: 'switchover' }),
  );
program
  .command('failover')
  .description(
    'manual failover: a switchover when the primary is healthy, a forced failover when it is down',
  )
  .addOption(configOption())
  .addOption(nameOption('--to <node>', 'the standby to promote (default: the best candidate)'))
  .addOption(nameOption('--cluster <name>', 'cluster (default: the only one)'))
  .action(async (opts: { config?: string; to?: string; cluster?: string }) =>
    (await import('./commands/switchover.js')).runIntent({ ...opts, op: 'failover' }),
  );
program
  .command('failback')
  .description('switch the role back to preferredPrimary, else the primary before the last change')
  .addOption(configOption())
  .addOption(nameOption('--cluster <name>', 'cluster (default: the only one)'))
  .action(async (opts: { config?: string; cluster?: string }) =>
    (await import('./commands/switchover.js')).runIntent({ ...opts, op: 'failback' }),
  );

addBackupCommands(program, configOption);

program
  .command('demo')
  .description('start the local cluster and show live status (what `npm run demo` runs)')
  .addOption(dirOption('where to keep everything'))
  .option('--fast', 'use the fast timing profile')
  .action(async (opts: { dir: string; fast?: boolean }) =>
    (await import('./commands/demo.js')).runDemo(opts),
  );

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
