/**
 * `npm run monitoring`: writes grafana/dashboards/*.json, grafana/provisioning/ and the README's
 * monitoring tables from the code (monitoring/dashboards.ts, src/adapters/metrics/catalogue.ts).
 * `--check` writes nothing and exits 1 naming every file that differs.
 */
import { mkdirSync,readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { generatedFiles, README_BLOCKS, spliceReadme } from './outputs.js';

const root = process.argv.includes('--root')
  ? process.argv[process.argv.indexOf('--root') + 1]!
  : process.cwd();
const check = process.argv.includes('--check');
const stale: string[] = [];
const read = (p: string): string | null => {
  try {
    return readFileSync(join(root, p), 'utf8');
  } catch {
    return null;
  }
};
const files = { ...generatedFiles() };
const readme = read('README.md');
if (readme === null) throw new Error(`no README.md in ${root}: run from the repository root`);
files['README.md'] = spliceReadme(readme, README_BLOCKS());
for (const [path, text] of Object.entries(files)) {
  if (read(path) === text) continue;
  stale.push(path);
  if (!check) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}
if (check && stale.length) {
  console.error(`out of date (run npm run monitoring): ${stale.join(', ')}`);
  process.exit(1);
}
console.log(stale.length ? `wrote ${stale.join(', ')}` : 'monitoring files up to date');
