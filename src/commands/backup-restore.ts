/**
 * `pgvigil backup restore [--label L] [--time T] --to DIR [--start] [--json]`: restore into a
 * new directory, start it on a free port with no archiving and no replication settings (notes
 * G7, G9), wait until it is out of recovery and answers, and stop it again unless `--start`.
 * Every input is checked before anything is written: the directory, the label, the time.
 */
import { existsSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import pg from 'pg';

import { startNode, stopNode, writeNodeSettings } from '../adapters/process/index.js';
import { checkTarget, recoveryWindow } from '../core/backup/window.js';
import { UserError } from '../core/errors.js';
import { freePort } from '../local/free-port.js';
import { withBackup } from './backup.js';

export interface RestoreOpts {
  config?: string;
  cluster?: string;
  label?: string;
  time?: string;
  to: string;
  start?: boolean;
  json?: boolean;
}

export async function runBackupRestore(opts: RestoreOpts): Promise<void> {
  const to = resolve(opts.to);
  if (existsSync(to) && readdirSync(to).length > 0)
    throw new UserError(`--to ${to} is not empty: restore into a new or empty directory`);
  const targetMs = opts.time === undefined ? undefined : Date.parse(opts.time);
  if (targetMs !== undefined && Number.isNaN(targetMs))
    throw new UserError(
      `--time ${opts.time} is not a time: use ISO 8601, e.g. 2026-12-02T14:05:00Z`,
    );
  await withBackup(opts, async (p) => {
    const info = await p.engine.info();
    if (opts.label && !info.backups.some((b) => b.label === opts.label))
      throw new UserError(
        `--label ${opts.label}: no such backup; the repository has ${info.backups.map((b) => b.label).join(', ') || 'none'}`,
      );
    if (info.backups.length === 0)
      throw new UserError(
        'the repository holds no backup to restore: run `pgvigil backup run --type full` first',
      );
    if (targetMs !== undefined) {
      const why = checkTarget(
        recoveryWindow(info, undefined),
        targetMs / 1000,
        Date.now() / 1000,
        (s) => new Date(s * 1000).toISOString(),
      );
      if (why)
        throw new UserError(
          `--time ${opts.time} ${why}: pick a time inside the recovery window (pgvigil backup list)`,
        );
    }
    const say = (m: string): void => void process.stderr.write(`${m}\n`);
    const t0 = Date.now();
    say(
      `restoring ${opts.label ?? (opts.time ? `to ${opts.time}` : 'the latest backup')} into ${to}`,
    );
    try {
      await p.engine.restore({
        to,
        ...(opts.label ? { label: opts.label } : {}),
        ...(targetMs !== undefined
          ? { time: new Date(targetMs).toISOString().replace('T', ' ').replace('Z', '+00') }
          : {}),
      });
    } catch (err) {
      rmSync(to, { recursive: true, force: true });
      throw err;
    }
    const restoreS = (Date.now() - t0) / 1000;
    const port = await freePort('127.0.0.1');
    writeNodeSettings(to, {
      port: String(port),
      listen_addresses: '127.0.0.1',
      unix_socket_directories: to.length < 80 ? to : '',
      primary_conninfo: '',
      primary_slot_name: '',
      archive_mode: 'off',
    });
    if (existsSync(join(to, 'standby.signal'))) unlinkSync(join(to, 'standby.signal'));
    const node = { name: 'restore', dataDir: to, port, logFile: join(to, 'pgvigil-restore.log') };
    const pid = await startNode(node);
    const check = await waitPromoted(port, p.cluster.user, p.cluster.password, p.cluster.database);
    const startS = (Date.now() - t0) / 1000 - restoreS;
    if (!opts.start) await stopNode({ name: 'restore', dataDir: to, pid });
    say(
      `restored in ${restoreS.toFixed(1)}s, recovered and checked in ${startS.toFixed(1)}s: timeline ${check.timeline}, ${check.databases} databases, ${check.tables} tables`,
    );
    const url = `postgres://${p.cluster.user}@127.0.0.1:${port}/${p.cluster.database}`;
    if (opts.start)
      say(
        `running on 127.0.0.1:${port} (pid ${pid}): psql "${url}"; stop it with pg_ctl -D ${to} stop`,
      );
    if (opts.json)
      process.stdout.write(
        `${JSON.stringify({ dataDir: to, port, url, pid: opts.start ? pid : null })}\n`,
      );
  });
}

/** Wait until the restored node is out of recovery, then a sanity query. */
async function waitPromoted(
  port: number,
  user: string,
  password: string,
  database: string,
): Promise<{ timeline: number; databases: number; tables: number }> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const c = new pg.Client({
      host: '127.0.0.1',
      port,
      user,
      password,
      database,
      connectionTimeoutMillis: 2000,
    });
    c.on('error', () => undefined);
    try {
      await c.connect();
      const r = await c.query<{ rec: boolean; tli: number; dbs: string; tables: string }>(
        `SELECT pg_is_in_recovery() AS rec, (SELECT timeline_id FROM pg_control_checkpoint()) AS tli,
                (SELECT count(*) FROM pg_database) AS dbs, (SELECT count(*) FROM pg_class WHERE relkind = 'r') AS tables`,
      );
      const row = r.rows[0]!;
      if (!row.rec)
        return { timeline: row.tli, databases: Number(row.dbs), tables: Number(row.tables) };
    } catch {
      /* starting */
    } finally {
      await c.end().catch(() => undefined);
    }
    if (Date.now() > deadline)
      throw new UserError(
        `the restored copy on port ${port} did not finish recovery within 120s (see its log)`,
      );
    await sleep(200);
  }
}
