/**
 * `npm run bench:backup`: pgBackRest full and incremental backup time and size, and restore
 * time, on a pgbench database of scale 20 in the local cluster, beside a plain
 * `pg_basebackup -Ft -z` of the same database in the same run.
 *
 * Method: `local up` (2 nodes, 1 sentinel, no agents, backups on); `pgbench -i -s 20`; a full
 * backup through pgvigil's runner (CHECKPOINT + `pgbackrest backup --type=full`, zst, 2
 * processes, Redis record); `pgbench -T 10 -c 2 -n` of writes; an incremental; a restore of the
 * latest backup into a new directory (files) and the start until it is out of recovery
 * (`pgvigil backup restore`); then `pg_basebackup -Ft -z -X stream -c fast` of the same
 * primary into a temp dir. Sizes: the pgBackRest repository delta of each backup, and the
 * pg_basebackup tar files.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { defaultRunAs, own, pgBin } from '../src/adapters/process/index.js';
import { buildBackup } from '../src/commands/backup-deps.js';
import { loadConfig } from '../src/config/load.js';
import { cliEntry } from '../src/local/cli-entry.js';
import { localDown, localUp } from '../src/local/cluster.js';
import { localSecrets } from '../src/local/state.js';

const mb = (b: number): string => `${(b / 1e6).toFixed(1)} MB`;
const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

function dirSize(d: string): number {
  let n = 0;
  for (const e of readdirSync(d, { withFileTypes: true }))
    n += e.isDirectory() ? dirSize(join(d, e.name)) : statSync(join(d, e.name)).size;
  return n;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pgvigil-bench-backup-'));
  const state = await localUp({
    dir,
    sentinels: 1,
    agents: false,
    backups: true,
    apiPort: 0,
    progress: () => undefined,
  });
  const secrets = localSecrets(state);
  const pg1 = state.nodes[0]!;
  const runAs = defaultRunAs();
  const pgEnv = { ...process.env, PGPASSWORD: secrets.superPassword };
  const pgArgs = ['-h', pg1.host, '-p', String(pg1.port), '-U', 'postgres'];
  const config = loadConfig({ file: state.config });
  const b = buildBackup(config, config.clusters[0]!);
  try {
    let t = Date.now();
    execFileSync(pgBin('pgbench'), [...pgArgs, '-i', '-s', '20', '-q', 'postgres'], {
      env: pgEnv,
      stdio: 'ignore',
    });
    const initMs = Date.now() - t;
    const dbSize = Number(
      execFileSync(
        pgBin('psql'),
        [...pgArgs, '-Atc', 'SELECT pg_database_size(current_database())', 'postgres'],
        { env: pgEnv, encoding: 'utf8' },
      ).trim(),
    );
    t = Date.now();
    const full = await b.runner.run('full');
    const fullMs = Date.now() - t;
    execFileSync(pgBin('pgbench'), [...pgArgs, '-T', '10', '-c', '2', '-n', 'postgres'], {
      env: pgEnv,
      stdio: 'ignore',
    });
    t = Date.now();
    const incr = await b.runner.run('incr');
    const incrMs = Date.now() - t;
    if (full.kind !== 'done' || incr.kind !== 'done') throw new Error('a backup was skipped');

    const to = join(state.dataRoot, 'bench-restore');
    t = Date.now();
    execFileSync(
      process.execPath,
      [cliEntry(), 'backup', 'restore', '--to', to, '--config', state.config],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const restoreMs = Date.now() - t;
    rmSync(to, { recursive: true, force: true });

    const bb = join(state.dataRoot, 'bench-basebackup');
    mkdirSync(bb, { mode: 0o700 });
    own(bb, runAs);
    t = Date.now();
    execFileSync(
      pgBin('pg_basebackup'),
      [...pgArgs, '-D', bb, '-Ft', '-z', '-X', 'stream', '-c', 'fast'],
      {
        env: pgEnv,
        stdio: 'ignore',
        ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
      },
    );
    const bbMs = Date.now() - t;
    const bbSize = dirSize(bb);

    const rows: [string, string, string][] = [
      ['pgbench -i -s 20', secs(initMs), `database ${mb(dbSize)}`],
      [
        'pgBackRest full (zst)',
        secs(fullMs),
        `repo delta ${mb(Number(full.record.repository_delta))} of ${mb(Number(full.record.size))}`,
      ],
      [
        'pgBackRest incr after pgbench -T 10',
        secs(incrMs),
        `repo delta ${mb(Number(incr.record.repository_delta))}`,
      ],
      ['pgvigil backup restore (latest, start, check, stop)', secs(restoreMs), ''],
      ['pg_basebackup -Ft -z -X stream -c fast', secs(bbMs), `tar files ${mb(bbSize)}`],
    ];
    for (const [what, time, size] of rows)
      console.log(`${what.padEnd(52)} ${time.padStart(9)}  ${size}`);
    console.log(
      `(incl. pgvigil's CHECKPOINT, Redis record and info; pgBackRest's own durations: full ${full.record.duration} s, incr ${incr.record.duration} s)`,
    );
  } finally {
    await b.close();
    await localDown({ dir, quiet: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
