/**
 * The backup engine on pgBackRest (notes/pgbackrest.md): every call with --config and
 * --stanza, as the postgres OS user when we are root (pgBackRest refuses nothing as root,
 * but the files it writes must stay the postgres user's), the role's password in PGPASSWORD.
 * Errors come back as one line: the first `ERROR: [nnn]: ...` line pgBackRest printed.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';

import { parseInfo } from '../../core/backup/info.js';
import type { BackupType, EngineInfo } from '../../core/backup/types.js';
import { UserError } from '../../core/errors.js';
import type { BackupEngine, BackupRunOptions, RestoreOptions } from '../../ports/backup.js';
import { own, type RunAs } from '../process/run-as.js';
import { configPath, makeRepository, type PgBackRestLayout, writeConfig } from './config.js';

export interface PgBackRestOptions extends PgBackRestLayout {
  password: string;
  runAs: RunAs | undefined;
  /** the pgbackrest binary (default: from PATH) */
  bin?: string;
  /** per-call limit (default 2 h) */
  timeoutMs?: number;
}

interface Run {
  code: number | null;
  output: string;
}

/** The one line that says why pgBackRest failed. */
export function errorLine(output: string): string {
  const lines = output.split('\n').map((l) => l.trim());
  const err = lines.find((l) => /ERROR: \[\d+\]/.test(l));
  const line = err ?? lines.filter(Boolean).slice(-1)[0] ?? 'no output';
  return line.replace(/^.*?(ERROR: )/, '$1').slice(0, 400);
}

export class PgBackRest implements BackupEngine {
  readonly #o: PgBackRestOptions;
  readonly configFile: string;

  constructor(o: PgBackRestOptions) {
    this.#o = o;
    this.configFile = configPath(o);
  }

  /** (Re)write the config file and its directories: every runner writes the same file. */
  prepare(): this {
    writeConfig(this.#o, this.#o.runAs);
    return this;
  }

  archiveCommand(dataDir: string): string {
    const bin = this.#o.bin ?? 'pgbackrest';
    return `${bin} --config=${this.configFile} --stanza=${this.#o.stanza} --pg1-path=${dataDir} archive-push %p`;
  }

  async createStanza(): Promise<void> {
    makeRepository(this.#o, this.#o.runAs);
    await this.#must('stanza-create', [], 'creating the stanza');
  }

  async backup(type: BackupType, o: BackupRunOptions): Promise<void> {
    const args = [`--type=${type}`];
    if (o.fromStandby) args.push('--backup-standby');
    await this.#must('backup', args, `${type} backup`, o.onProgress);
  }

  async info(): Promise<EngineInfo> {
    const r = await this.#run('info', ['--output=json']);
    if (r.code !== 0) throw this.#repoError(r.output);
    let json: unknown;
    try {
      json = JSON.parse(r.output);
    } catch {
      throw new UserError(`pgbackrest info gave no JSON: ${errorLine(r.output)}`);
    }
    const info = parseInfo(json, this.#o.stanza);
    if (info.statusCode !== 0 && info.statusCode !== 2 /* no valid backups */)
      throw this.#repoError(info.statusMessage);
    return info;
  }

  async restore(o: RestoreOptions): Promise<void> {
    if (existsSync(o.to) && readdirSync(o.to).length > 0)
      throw new UserError(`${o.to} is not empty: restore into a new or empty directory`);
    mkdirSync(o.to, { recursive: true, mode: 0o700 });
    own(o.to, this.#o.runAs);
    // never let a restored copy archive into the shared repository (notes G9)
    const args = [`--pg1-path=${o.to}`, '--archive-mode=off'];
    if (o.time) args.push('--type=time', `--target=${o.time}`, '--target-action=promote');
    else if (o.label) args.push('--type=immediate', '--target-action=promote');
    if (o.label) args.push(`--set=${o.label}`);
    await this.#must('restore', args, 'restore', o.onProgress);
  }

  async verify(): Promise<{ ok: boolean; detail: string }> {
    const r = await this.#run('verify', ['--log-level-console=detail']);
    // pgBackRest 2.45 exits 0 when it finds corruption (notes G10): read what it says
    const bad = r.output
      .split('\n')
      .filter((l) => /status: error|invalid|missing|ERROR:/.test(l))
      .map((l) => l.trim());
    return { ok: r.code === 0 && bad.length === 0, detail: bad.join(' | ') || 'ok' };
  }

  async expire(): Promise<void> {
    await this.#must('expire', [], 'expire');
  }

  #repoError(output: string): UserError {
    const where = `${this.#o.options['repo1-type'] ?? 'posix'} repository ${this.#o.repository}`;
    return new UserError(
      `the ${where} cannot be read (${errorLine(output)}): check that it exists and is intact; backup records in Redis were left as they are`,
    );
  }

  async #must(
    cmd: string,
    args: string[],
    what: string,
    onLine?: (l: string) => void,
  ): Promise<void> {
    const r = await this.#run(cmd, args, onLine);
    if (r.code !== 0) throw new UserError(`pgbackrest ${what} failed: ${errorLine(r.output)}`);
  }

  #run(cmd: string, args: string[], onLine?: (l: string) => void): Promise<Run> {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env))
      if (!k.startsWith('PG') && !k.startsWith('PGBACKREST_')) env[k] = v;
    env.PGPASSWORD = this.#o.password;
    if (this.#o.runAs) env.HOME = this.#o.runAs.home;
    const argv = [`--config=${this.configFile}`, `--stanza=${this.#o.stanza}`, ...args, cmd];
    return new Promise((resolve, reject) => {
      const child = spawn(this.#o.bin ?? 'pgbackrest', argv, {
        cwd: '/',
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(this.#o.runAs ? { uid: this.#o.runAs.uid, gid: this.#o.runAs.gid } : {}),
      });
      let output = '';
      let partial = '';
      const take = (b: Buffer): void => {
        const s = b.toString('utf8');
        output = (output + s).slice(-4_000_000);
        if (!onLine) return;
        partial += s;
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) if (l.trim()) onLine(l.trim());
      };
      child.stdout.on('data', take);
      child.stderr.on('data', take);
      const timer = setTimeout(() => child.kill('SIGTERM'), this.#o.timeoutMs ?? 7_200_000);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(
          new UserError(
            `pgbackrest could not start: ${err.message} (apt-get install -y pgbackrest)`,
          ),
        );
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      });
    });
  }
}
