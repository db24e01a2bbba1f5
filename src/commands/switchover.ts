import { hostname } from 'node:os';

import { UserError } from '../core/errors.js';
import { type IntentOp, submitIntent } from '../runtime/sentinel/intent-client.js';
import { openStore, selectClusters } from './common.js';

/**
 * `pgvigil switchover --to N`, `failover [--to N]`, `failback`: records the intent on the Redis
 * servers and waits for the leader's answer (the same path as the admin API). Prints the
 * answer; an error is one line and a non-zero exit.
 */
export async function runIntent(opts: {
  op: IntentOp;
  config?: string;
  cluster?: string;
  to?: string;
}): Promise<void> {
  const { config, store } = await openStore(opts.config);
  try {
    const clusters = selectClusters(config, opts.cluster);
    if (clusters.length > 1)
      throw new UserError(
        `several clusters are configured (${clusters.map((c) => c.name).join(', ')}): pass --cluster <name>`,
      );
    const cluster = clusters[0]!.name;
    const reply = await submitIntent(
      store,
      cluster,
      {
        op: opts.op,
        to: opts.to,
        requestedBy: `${process.env.USER ?? 'operator'}@${hostname()} (cli)`,
      },
      { timeoutMs: config.timing.intentTimeoutMs },
    );
    const b = reply.body;
    if (reply.code !== 200 || b.status !== 'success')
      throw new UserError(`${opts.op} failed (${reply.code}): ${b.message}`);
    const detail =
      typeof b.from === 'string' && typeof b.to === 'string'
        ? `: ${b.from} -> ${b.to}, epoch ${String(b.epoch)}, ${String(b.durationMs)} ms`
        : '';
    process.stdout.write(`${cluster}: ${b.message}${detail}\n`);
  } finally {
    await store.close();
  }
}
