/**
 * Every CLI command with bad options, run as users run it (`node dist/cli.js`, built by `npm
 * run build`; `npm test` builds first): one line `pgvigil: ...` naming the option and what it
 * accepts, exit code 1 (the one convention of src/cli.ts), and nothing written, neither in the
 * working directory (an empty temp dir) nor where `--dir` points.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cliEntry } from '../../src/local/cli-entry.js';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'pgvigil-cli-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let seq = 0;

/** The environment without any PGVIGIL_ variable of the one running the tests. */
const env = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith('PGVIGIL_')),
);

/** The newest modification time of a file under `dir`. */
function newestMtime(dir: string): number {
  return Math.max(
    ...fs.readdirSync(dir, { withFileTypes: true }).map((e) => {
      const p = path.join(dir, e.name);
      return e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs;
    }),
  );
}

let cli: string;
beforeAll(() => {
  cli = cliEntry(); // throws "run `npm run build` first" when dist/ is missing
  const src = path.join(path.dirname(cli), '..', 'src');
  if (newestMtime(src) > fs.statSync(cli).mtimeMs)
    throw new Error(`${cli} is older than src/: run \`npm run build\` first`);
});

/** Run the CLI in a fresh empty cwd; `DIR` in args becomes a path inside a fresh temp dir. */
function run(args: string[]) {
  const base = path.join(tmpRoot, String(seq++));
  const cwd = path.join(base, 'cwd');
  fs.mkdirSync(cwd, { recursive: true });
  const dir = path.join(base, 'local');
  const r = spawnSync(process.execPath, [cli, ...args.map((a) => (a === 'DIR' ? dir : a))], {
    cwd,
    env,
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, cwd, dir };
}

const intIn = (flag: string, value: string, range: string) =>
  `pgvigil: option '${flag}' argument '${value}' is invalid. Expected an integer in ${range}.`;
const name = (flag: string, value: string) =>
  `pgvigil: option '${flag}' argument '${value}' is invalid. Expected a name matching /^[a-z0-9][a-z0-9_-]*$/ (lower case, digits, _ and -).`;
const empty = (flag: string) =>
  `pgvigil: option '${flag}' argument '' is invalid. Expected a non-empty value.`;

describe('bad options: one line naming the option, exit 1, nothing written', () => {
  it.each<[string[], string]>([
    [['sentinel', '--api-port', 'abc'], intIn('--api-port <port>', 'abc', '1..65535')],
    [['sentinel', '--api-port', '0'], intIn('--api-port <port>', '0', '1..65535')],
    [['sentinel', '--api-port', '65536'], intIn('--api-port <port>', '65536', '1..65535')],
    [['sentinel', '--api-port', '80.5'], intIn('--api-port <port>', '80.5', '1..65535')],
    [['sentinel', '--api-port', '1e3'], intIn('--api-port <port>', '1e3', '1..65535')],
    [['sentinel', '--id', ''], empty('--id <id>')],
    [['sentinel', '--config', ''], empty('-c, --config <file>')],
    [['agent'], "pgvigil: required option '--node <name>' not specified"],
    [['agent', '--node', 'PG1'], name('--node <name>', 'PG1')],
    [['agent', '--node', 'pg1', '--cluster', 'a b'], name('--cluster <name>', 'a b')],
    [['local', 'up', '--dir', 'DIR', '--nodes', 'abc'], intIn('--nodes <n>', 'abc', '2..9')],
    [['local', 'up', '--dir', 'DIR', '--nodes', '1'], intIn('--nodes <n>', '1', '2..9')],
    [['local', 'up', '--dir', 'DIR', '--nodes', '10'], intIn('--nodes <n>', '10', '2..9')],
    [['local', 'up', '--dir', 'DIR', '--sentinels', '0'], intIn('--sentinels <k>', '0', '1..9')],
    [
      ['local', 'up', '--dir', 'DIR', '--redis', '2'],
      "pgvigil: option '--redis <n>' argument '2' is invalid. Allowed choices are 1, 3, 5.",
    ],
    [
      ['local', 'up', '--dir', 'DIR', '--redis', 'three'],
      "pgvigil: option '--redis <n>' argument 'three' is invalid. Allowed choices are 1, 3, 5.",
    ],
    [
      ['local', 'up', '--dir', 'DIR', '--api-port', '-1'],
      intIn('--api-port <port>', '-1', '0..65535'),
    ],
    [
      ['local', 'up', '--dir', 'DIR', '--api-port', '70000'],
      intIn('--api-port <port>', '70000', '0..65535'),
    ],
    [['local', 'up', '--dir', ''], empty('--dir <dir>')],
    [['local', 'down', '--dir', ''], empty('--dir <dir>')],
    [
      ['local', 'kill', 'pg1', '--dir', 'DIR', '--signal', 'TERM'],
      "pgvigil: option '--signal <signal>' argument 'TERM' is invalid. Allowed choices are KILL, STOP, CONT.",
    ],
    [['status', '--cluster', 'Main'], name('--cluster <name>', 'Main')],
    [['status', '--xyzzy'], "pgvigil: unknown option '--xyzzy'"],
    [
      ['events', '--since', 'abc'],
      "pgvigil: option '--since <id>' argument 'abc' is invalid. Expected 0 or a stream id such as 1700000000000-0.",
    ],
    [
      ['events', '--since', '17-x'],
      "pgvigil: option '--since <id>' argument '17-x' is invalid. Expected 0 or a stream id such as 1700000000000-0.",
    ],
    [['events', '--cluster', '-x'], name('--cluster <name>', '-x')],
    [['pause', '--cluster', 'a/b'], name('--cluster <name>', 'a/b')],
    [['pause', '--reason', ''], empty('--reason <text>')],
    [['resume', '--cluster', 'X'], name('--cluster <name>', 'X')],
    [['switchover'], "pgvigil: required option '--to <node>' not specified"],
    [['switchover', '--to', 'PG2'], name('--to <node>', 'PG2')],
    [['failover', '--to', 'pg 2'], name('--to <node>', 'pg 2')],
    [['failback', '--cluster', ''], name('--cluster <name>', '')],
    [['demo', '--dir', ''], empty('--dir <dir>')],
    [['nonsense'], "pgvigil: unknown command 'nonsense'"],
  ])(
    '%j',
    (args, line) => {
      const r = run(args);
      expect(r.stderr).toBe(`${line}\n`);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(fs.readdirSync(r.cwd)).toEqual([]);
      expect(fs.existsSync(r.dir)).toBe(false);
    },
    20_000,
  );
});

describe('good options reach the command', () => {
  it('events --since <stream id> goes on to read the config', () => {
    const r = run(['events', '--since', '1700000000000-0', '--config', 'missing.yaml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^pgvigil: invalid config \S+missing\.yaml: file: cannot read: ENOENT\n$/,
    );
  }, 20_000);
  it('local kill with a valid signal goes on to look for the cluster', () => {
    const r = run(['local', 'kill', 'pg1', '--signal', 'STOP', '--dir', 'DIR']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^pgvigil: no local cluster in /);
    expect(fs.readdirSync(r.cwd)).toEqual([]);
  }, 20_000);
});
