/**
 * src/adapters/postgres/load-pg.ts: a sentinel or an agent, run as users run it
 * (`node dist/cli.js`), loads node-postgres and its whole import graph but never loads undici.
 * Without load-pg.ts, pg's Cloudflare check (`new Response()`) loads undici, which costs
 * 1.6 MB of heap and about 5 MB of RSS in each daemon. fetch() still works afterwards.
 * A missing config file stops each command right after its body is imported.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { cliEntry } from '../../../../src/local/cli-entry.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pgvigil-load-pg-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Reports, at exit, which of Node's own modules the process loaded and whether pg is cached. */
const REPORT = `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
process.on('exit', () => {
  const loaded = process.moduleLoadList.filter((m) => m.startsWith('NativeModule '));
  const pg = Object.keys(require.cache).some((f) => /node_modules\\/pg\\/lib\\/index\\.js$/.test(f));
  process.stderr.write('\\nREPORT ' + JSON.stringify({ undici: loaded.some((m) => m.includes('undici')), pg }) + '\\n');
});
`;

function run(args: string[]): { undici: boolean; pg: boolean; stderr: string } {
  const hook = path.join(tmp, 'report.mjs');
  fs.writeFileSync(hook, REPORT);
  const r = spawnSync(process.execPath, ['--import', hook, cliEntry(), ...args], {
    cwd: tmp,
    encoding: 'utf8',
    timeout: 30_000,
  });
  const line = r.stderr.split('\n').find((l) => l.startsWith('REPORT '));
  if (!line) throw new Error(`no report from ${args.join(' ')}: ${r.stderr}`);
  return { ...(JSON.parse(line.slice(7)) as { undici: boolean; pg: boolean }), stderr: r.stderr };
}

describe('pg loads without undici', () => {
  for (const args of [
    ['sentinel', '--config', 'missing.yaml'],
    ['agent', '--config', 'missing.yaml', '--node', 'pg1'],
  ]) {
    it(`${args[0]}: pg loaded, undici not`, () => {
      const r = run(args);
      expect(r.stderr).toMatch(/pgvigil: .*missing\.yaml/);
      expect(r.pg).toBe(true);
      expect(r.undici).toBe(false);
    });
  }

  it('fetch still works after pg loaded (the Response getter is put back)', () => {
    const script = path.join(tmp, 'fetch.mjs');
    const loader = path.join(path.dirname(cliEntry()), 'adapters', 'postgres', 'load-pg.js');
    fs.writeFileSync(
      script,
      `await import(${JSON.stringify(loader)});
const r = new Response('ok');
console.log(typeof fetch, await r.text());`,
    );
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('function ok');
  });
});
