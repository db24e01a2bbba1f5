import type { StampedEvent } from '../core/events.js';
import { subscribe } from '../events/subscribe.js';
import { redisAuthOf } from './adapters.js';
import { openStore, selectClusters } from './common.js';

export function formatEvent(e: StampedEvent): string {
  const { type, cluster, epoch, at, id: _id, ...rest } = e;
  const detail =
    type === 'topology-changed'
      ? `primary=${e.topology.primary} state=${e.topology.state}`
      : Object.entries(rest)
          .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
          .join(' ');
  return `${at} ${cluster} epoch=${epoch} ${type} ${detail}`;
}

/** AUTH and TLS files of the config, as subscribe() takes them. */
function redisOptionsOf(config: Parameters<typeof redisAuthOf>[0]) {
  const { username, password, tls } = redisAuthOf(config);
  return { username, password, ...(tls ? { tlsFiles: tls } : {}) };
}

/** `pgvigil events [--follow] [--since ID] [--json]` */
export async function runEvents(opts: {
  config?: string;
  cluster?: string;
  since: string;
  follow?: boolean;
  json?: boolean;
}): Promise<void> {
  const { config, store } = await openStore(opts.config);
  const cluster = selectClusters(config, opts.cluster)[0]!.name;
  const print = (id: string | null, e: StampedEvent) =>
    process.stdout.write(
      opts.json
        ? `${JSON.stringify(id ? { ...e, streamId: id } : e)}\n`
        : `${id ? `${id} ` : ''}${formatEvent(e)}\n`,
    );
  let last: string | undefined;
  try {
    for (const { id, event } of await store.readHistory(cluster, opts.since, 10_000)) {
      last = id;
      print(id, event);
    }
    if (!opts.follow) return;
    // pgvigil/events: resumes from the last printed id against whichever server answers
    const subscription = await subscribe({
      cluster,
      redis: config.coordination.redis,
      prefix: config.coordination.prefix,
      since: last ?? (opts.since === '' ? '0' : opts.since),
      ...redisOptionsOf(config),
      onEvent: (e) => print(e.id, e),
    });
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await subscription.close();
  } finally {
    await store.close();
  }
}
