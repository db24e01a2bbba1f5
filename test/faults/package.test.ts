/**
 * The package as an application gets it: `npm pack` (contents checked), installed into a temp
 * dir with npm, then `pgvigil/client` and `pgvigil/events` imported from plain Node and
 * type-checked from TypeScript through the package's own declarations (dist/*.d.ts).
 * Needs the build (npm test builds first).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'pgvigil-pack-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the npm package', () => {
  it('packs the build, installs, and resolves pgvigil/client and pgvigil/events', async () => {
    const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', dir], {
      cwd: root,
    });
    const tgz = join(dir, stdout.trim().split('\n').at(-1)!);
    const files = (await run('tar', ['tzf', tgz])).stdout.split('\n').filter(Boolean);
    for (const f of [
      'package/package.json',
      'package/bin/pgvigil.js',
      'package/dist/cli.js',
      'package/dist/index.d.ts',
      'package/dist/client/index.js',
      'package/dist/client/index.d.ts',
      'package/dist/events/index.js',
      'package/dist/events/index.d.ts',
      'package/README.md',
    ])
      expect(files).toContain(f);
    expect(files.filter((f) => /^package\/(src|test|bench|node_modules)\//.test(f))).toEqual([]);

    const app = join(dir, 'app');
    await run('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), '{"name":"app","version":"1.0.0","type":"module"}\n');
    await run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=dev', tgz],
      { cwd: app, timeout: 120_000 },
    );
    writeFileSync(
      join(app, 'main.mjs'),
      [
        "import { createPool } from 'pgvigil/client';",
        "import { subscribe } from 'pgvigil/events';",
        "import * as all from 'pgvigil';",
        'console.log(typeof createPool, typeof subscribe, typeof all.createPool);',
      ].join('\n'),
    );
    expect((await run('node', ['main.mjs'], { cwd: app })).stdout).toBe(
      'function function function\n',
    );

    writeFileSync(
      join(app, 'main.ts'),
      [
        "import { createPool, type PoolOptions } from 'pgvigil/client';",
        "import { subscribe, type StampedEvent, type Topology } from 'pgvigil/events';",
        "const o: PoolOptions = { cluster: 'c', redis: ['redis://127.0.0.1:6379'], max: 2 };",
        'const id = (e: StampedEvent): string => e.id;',
        'const primary = (t: Topology): string => t.primary;',
        'export { createPool, id, o, primary, subscribe };',
      ].join('\n'),
    );
    await run(
      join(root, 'node_modules/.bin/tsc'),
      [
        ...['--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext'],
        ...['--moduleResolution', 'nodenext', '--types', 'node'],
        ...['--typeRoots', join(root, 'node_modules/@types'), 'main.ts'],
      ],
      { cwd: app },
    ).catch((err: { stdout?: string }) => {
      throw new Error(`tsc on main.ts: ${err.stdout ?? String(err)}`);
    });
  }, 180_000);
});
