import { multiHostUrl } from '../core/connstring.js';
import { CoordinationUnavailable } from '../core/errors.js';
import { openStore, selectClusters } from './common.js';

/** `pgvigil connstring [--read-only] [--user U] [--database D]` */
export async function runConnstring(opts: {
  config?: string;
  cluster?: string;
  readOnly?: boolean;
  user?: string;
  database?: string;
}): Promise<void> {
  const { config, store } = await openStore(opts.config);
  try {
    const cluster = selectClusters(config, opts.cluster)[0]!;
    const read = await store.readTopology(cluster.name);
    if (!read.value)
      throw new CoordinationUnavailable(
        `cluster ${cluster.name}: no topology in Redis yet (are the sentinels running?)`,
      );
    const url = multiHostUrl(read.value, {
      user: opts.user ?? cluster.user,
      database: opts.database ?? cluster.database,
      readOnly: opts.readOnly ?? false,
    });
    process.stdout.write(`${url}\n`);
  } finally {
    await store.close();
  }
}
