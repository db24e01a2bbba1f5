import { assertSafeBind } from '../adapters/http/api.js';
import { createLogger } from '../adapters/logging/logger.js';
import { loadConfigWithWarnings, resolveConfigPath } from '../config/load.js';
import { Sentinel } from '../runtime/sentinel.js';

/** `pgvigil sentinel`: runs until SIGTERM/SIGINT. Invalid config stops start-up before anything is touched. */
export async function runSentinel(opts: {
  config?: string;
  id?: string;
  apiPort?: number;
}): Promise<void> {
  const file = resolveConfigPath(opts.config);
  const overrides = {
    sentinel: {
      ...(opts.id ? { id: opts.id } : {}),
      ...(opts.apiPort ? { api: { port: opts.apiPort } } : {}),
    },
  };
  const { config, warnings } = loadConfigWithWarnings({ file, overrides });
  assertSafeBind(config.sentinel.api.host, config.sentinel.api.token);
  const log = createLogger({
    level: config.log.level,
    process: config.sentinel.id,
    role: 'sentinel',
  });
  for (const w of warnings) log.warn({ config: file }, w);
  const sentinel = new Sentinel({ config, log });
  try {
    await sentinel.start();
  } catch (err) {
    await sentinel.stop().catch(() => undefined); // leave nothing running behind the error
    throw err;
  }
  log.info({ config: file, clusters: config.clusters.map((c) => c.name) }, 'sentinel started');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  log.info('sentinel stopping');
  await sentinel.stop();
}
