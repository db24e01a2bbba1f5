/** The resolved config for people to read: every secret redacted. */
import YAML from 'yaml';

import { redactSecrets } from '../core/redact.js';
import type { Config } from './types.js';

const REDACTED = '<redacted>';

/** A copy with every secret replaced, safe for logs and `status`. */
export function redactConfig(config: Config): Config {
  return {
    ...config,
    sentinel: {
      ...config.sentinel,
      api: {
        ...config.sentinel.api,
        ...(config.sentinel.api.token === undefined ? {} : { token: REDACTED }),
      },
    },
    coordination: {
      ...config.coordination,
      redis: config.coordination.redis.map(redactSecrets),
      ...(config.coordination.password === undefined ? {} : { password: REDACTED }),
    },
    clusters: config.clusters.map((c) => ({
      ...c,
      password: REDACTED,
      replication: { ...c.replication, password: REDACTED },
    })),
  };
}

/** YAML text of the resolved config with secrets redacted. */
export function formatConfigForDisplay(config: Config): string {
  return YAML.stringify(redactConfig(config));
}
