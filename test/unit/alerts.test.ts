/**
 * config/prometheus/alerts.yml: promtool accepts it and its unit tests (alerts.test.yml) pass;
 * every rule the issue asks for is there, names only catalogued metrics and links a runbook
 * section that exists in README.md.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { METRIC_LIST } from '../../src/adapters/metrics/catalogue.js';
import { alertRules, PROMETHEUS_CONFIG_DIR } from '../helpers/alerts.js';

const root = join(import.meta.dirname, '../..');
const dir = PROMETHEUS_CONFIG_DIR;

const promtool = (...args: string[]) =>
  execFileSync('promtool', args, { cwd: dir, encoding: 'utf8', stdio: 'pipe' });

describe('alert rules', () => {
  it('promtool check rules and promtool test rules pass', { timeout: 30_000 }, () => {
    expect(promtool('check', 'rules', 'alerts.yml')).toMatch(/SUCCESS: \d+ rules found/);
    const out = promtool('test', 'rules', 'alerts.test.yml', 'alerts-backups.test.yml');
    expect(out.match(/SUCCESS/g)).toHaveLength(2);
  });

  it('every rule the issue lists, each linking its README runbook section', () => {
    const rules = alertRules();
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'PgvigilPrimaryDown',
        'PgvigilSentinelQuorumLost',
        'PgvigilNoRedisMajority',
        'PgvigilReplicationLagHigh',
        'PgvigilNodeFenced',
        'PgvigilFailover',
        'PgvigilBackupTooOld',
        'PgvigilBackupFailed',
        'PgvigilWalArchivingFailing',
        'PgvigilSlotRetainingWal',
      ]),
    );
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const tested = ['alerts.test.yml', 'alerts-backups.test.yml']
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('\n');
    for (const r of rules) {
      expect(r.annotations.runbook_url).toBe(`README.md#${r.alert.toLowerCase()}`);
      expect(readme, `README section for ${r.alert}`).toContain(`\n#### ${r.alert}\n`);
      expect(tested, `a promtool test of ${r.alert}`).toContain(`alertname: ${r.alert}\n`);
      for (const [, name] of r.expr.matchAll(/\b(pgvigil_[a-z_]+)/g))
        expect(
          METRIC_LIST.some((m) => m.name === name),
          `${name} in ${r.alert}`,
        ).toBe(true);
    }
  });
});
