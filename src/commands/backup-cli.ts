/** The `pgvigil backup ...` subcommands (kept out of cli.ts, which every helper edits). */
import { type Command, Option } from 'commander';

import { BACKUP_TYPES, type BackupType } from '../core/backup/types.js';
import { nameOption, nonEmpty } from './cli-options.js';

export function addBackupCommands(program: Command, configOption: () => Option): void {
  const backup = program
    .command('backup')
    .description('backups on pgBackRest, their records in Redis (backup:<tipo>:<date>)');
  const cluster = () => nameOption('--cluster <name>', 'cluster (default: the only one)');
  backup
    .command('run')
    .description(
      'take a backup now (from the current primary, or a standby with backup.fromStandby)',
    )
    .addOption(configOption())
    .addOption(cluster())
    .addOption(
      new Option('--type <type>', 'backup type').choices(BACKUP_TYPES).makeOptionMandatory(),
    )
    .option('--json', 'print the record as JSON')
    .action(async (opts: { config?: string; cluster?: string; type: BackupType; json?: boolean }) =>
      (await import('./backup.js')).runBackupRun(opts),
    );
  backup
    .command('list')
    .description('the backup records and the recovery window')
    .addOption(configOption())
    .addOption(cluster())
    .option('--json', 'one JSON object')
    .action(async (opts: { config?: string; cluster?: string; json?: boolean }) =>
      (await import('./backup.js')).runBackupList(opts),
    );
  backup
    .command('restore')
    .description('restore into a new directory (optionally to a point in time) and check it')
    .addOption(configOption())
    .addOption(cluster())
    .addOption(new Option('--label <label>', 'backup label (default: latest)').argParser(nonEmpty))
    .addOption(new Option('--time <time>', 'point in time (ISO 8601)').argParser(nonEmpty))
    .addOption(
      new Option('--to <dir>', 'new or empty directory').argParser(nonEmpty).makeOptionMandatory(),
    )
    .option('--start', 'leave it running on a free port')
    .option('--json', 'last line: {"dataDir","port","url","pid"}')
    .action(
      async (opts: {
        config?: string;
        cluster?: string;
        label?: string;
        time?: string;
        to: string;
        start?: boolean;
        json?: boolean;
      }) => (await import('./backup-restore.js')).runBackupRestore(opts),
    );
  backup
    .command('verify')
    .description('check every backup and WAL file in the repository')
    .addOption(configOption())
    .addOption(cluster())
    .action(async (opts: { config?: string; cluster?: string }) =>
      (await import('./backup.js')).runBackupVerify(opts),
    );
}
