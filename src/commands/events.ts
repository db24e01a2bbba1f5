import type { StampedEvent } from '../core/events.js';
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
  let unsubscribe: (() => Promise<void>) | null = null;
  const seen = new Set<string>();
  if (opts.follow) {
    // subscribe first so nothing falls between the history read and the subscription
    unsubscribe = await store.subscribe(cluster, (e) => {
      if (!seen.has(e.id)) print(null, e);
    });
  }
  try {
    for (const { id, event } of await store.readHistory(cluster, opts.since, 10_000)) {
      seen.add(event.id);
      print(id, event);
    }
    if (!opts.follow) return;
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  } finally {
    await unsubscribe?.();
    await store.close();
  }
}
