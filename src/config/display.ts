/** The resolved config for people to read: every secret redacted. */
import YAML from 'yaml';

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
    coordination: { ...config.coordination, redis: config.coordination.redis.map(redactUrl) },
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

function redactUrl(u: string): string {
  try {
    const url = new URL(u);
    if (url.password) url.password = REDACTED;
    return url.toString();
  } catch {
    return u;
  }
}
