#!/usr/bin/env node
// Set-up shared by `npm run demo` and `npm test`: system packages (installed with apt when
// root, otherwise one line with the exact command), then npm dependencies. Plain Node, no deps.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const say = (msg) => {
  if (!quiet) process.stderr.write(`setup: ${msg}\n`);
};

function hasPostgres() {
  try {
    return readdirSync('/usr/lib/postgresql').some((v) =>
      existsSync(`/usr/lib/postgresql/${v}/bin/postgres`),
    );
  } catch {
    return false;
  }
}
function onPath(bin) {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

const missing = [];
if (!hasPostgres()) missing.push('postgresql');
if (!onPath('redis-server')) missing.push('redis-server');
if (!onPath('pgbackrest')) missing.push('pgbackrest');
// TLS certificates (local up --tls), Prometheus rules and scraping, HAProxy routing tests
if (!onPath('openssl')) missing.push('openssl');
if (!onPath('promtool')) missing.push('prometheus');
if (!onPath('haproxy')) missing.push('haproxy');
// network namespaces and partitions (`local up --netns`, the fault runner, the partition
// tests): root only, the tests that need them skip otherwise
if (process.getuid?.() === 0) {
  if (!onPath('ip')) missing.push('iproute2');
  if (!onPath('nft')) missing.push('nftables');
  if (!onPath('nsenter')) missing.push('util-linux');
}

if (missing.length > 0) {
  const cmd = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (process.getuid?.() === 0 && onPath('apt-get')) {
    say(`installing ${missing.join(', ')} (${cmd})`);
    execFileSync('sh', ['-c', `${cmd} >/dev/null`], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } else {
    process.stderr.write(
      `pgvigil needs ${missing.join(', ')}: run \`sudo sh -c '${cmd}'\` and try again\n`,
    );
    process.exit(1);
  }
}

if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  say('installing npm dependencies (npm ci)');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}
