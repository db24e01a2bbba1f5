/** The rules of config/prometheus/alerts.yml, for the unit test and the Prometheus scenario. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import YAML from 'yaml';

export const PROMETHEUS_CONFIG_DIR = join(import.meta.dirname, '../../config/prometheus');

export interface AlertRule {
  alert: string;
  expr: string;
  annotations: { runbook_url: string };
}

export function alertRules(): AlertRule[] {
  const doc = YAML.parse(readFileSync(join(PROMETHEUS_CONFIG_DIR, 'alerts.yml'), 'utf8')) as {
    groups: { rules: AlertRule[] }[];
  };
  return doc.groups.flatMap((g) => g.rules);
}
