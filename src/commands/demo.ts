import { createInterface } from 'node:readline';

import { RedisCoordinationStore } from '../adapters/redis/store.js';
import type { StampedEvent } from '../core/events.js';
import { localDown, localUp } from '../local/cluster.js';
import { localSecrets } from '../local/state.js';
import { formatEvent } from './events.js';
import { render, summarize } from './status.js';

const DEMO_API_PORT = 8088;

/** `npm run demo`: the local cluster, then live status until Ctrl-C (which stops everything). */
export async function runDemo(opts: { dir: string; fast?: boolean }): Promise<void> {
  const state = await localUp({
    dir: opts.dir,
    apiPort: DEMO_API_PORT,
    profile: opts.fast ? 'fast' : 'default',
  });
  const primary = state.nodes[0]!;
  const cli = './bin/pgvigil.js';
  const intro = [
    '',
    `pgvigil local cluster "${state.cluster}" is up: ${state.nodes.length} PostgreSQL nodes with ${state.agents?.length ?? 0} agents, ${state.sentinels.length} sentinels, ${state.redis.length} Redis.`,
    `  admin API     ${state.api}   (curl ${state.api}/topology)`,
    `  primary       PGPASSFILE=${state.pgpassFile} psql "${primary.url}"`,
    `  secrets       ${state.secretsFile} (0600; or export PGPASSWORD from its ..._PASSWORD line)`,
    `  state         ${state.dir}/state.json`,
    'Try it, in another terminal:',
    `  ${cli} local kill ${primary.name}      # SIGKILL the primary's postmaster: watch the failover below`,
    `  ${cli} events --follow        # every event, live`,
    `  ${cli} status                 # topology, lag, sentinels`,
    'Ctrl-C here stops everything.',
    '',
  ].join('\n');
  const store = new RedisCoordinationStore({
    urls: state.redis,
    prefix: 'pgvigil',
    commandTimeoutMs: 1000,
    auth: { password: localSecrets(state).redisPassword },
  });
  await store.ready(2000);
  const recent: StampedEvent[] = [];
  const unsubscribe = await store.subscribe(state.cluster, (e) => {
    recent.push(e);
    if (recent.length > 10) recent.shift();
  });
  const quorum = Math.floor(state.sentinels.length / 2) + 1;
  let stop = false;
  const done = new Promise<void>((resolve) => {
    const finish = () => {
      stop = true;
      resolve();
    };
    process.once('SIGINT', finish);
    process.once('SIGTERM', finish);
    if (!process.stdin.isTTY) return;
    createInterface({ input: process.stdin }).on('close', finish);
  });
  process.stdout.write(intro);
  while (!stop) {
    let text: string;
    try {
      const [t, p, pause] = await Promise.all([
        store.readTopology(state.cluster, { every: true }),
        store.readPresence(state.cluster),
        store.readPause(state.cluster),
      ]);
      text = render(
        summarize(state.cluster, quorum, t.value, p.value, pause.value, {
          answered: t.answered,
          total: t.total,
        }),
      );
    } catch (err) {
      text = `status unavailable: ${(err as Error).message}\n`;
    }
    const events = recent.map((e) => `  ${formatEvent(e)}`).join('\n');
    if (process.stdout.isTTY) process.stdout.write(`\x1b[2J\x1b[H${intro}\n`);
    process.stdout.write(
      `${new Date().toISOString()}\n${text}recent events:\n${events || '  (none yet)'}\n\n`,
    );
    await Promise.race([
      done,
      new Promise((r) => setTimeout(r, process.stdout.isTTY ? 1000 : 5000)),
    ]);
  }
  await unsubscribe();
  await store.close();
  await localDown({ dir: state.dir });
}
