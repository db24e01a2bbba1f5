/**
 * `npm run bench:switchover`: write outage and lost acknowledged writes of a graceful
 * switchover and of a failback (DESIGN.md target: outage <= 3 s, 0 writes lost).
 *
 * Method: one `localUp` cluster (2 nodes with their agents, 3 sentinels, 1 Redis, default
 * timings) in a temp dir. A PgvigilClient writer commits `INSERT INTO bench(id) ... RETURNING
 * inet_server_port()` every `--interval-ms` for the whole run (ids increasing; a failed write is
 * not acknowledged and the next attempt uses the next id). Each trial is a pair: `POST
 * /switchover {"to":"pg2"}` then `POST /failback` (back to pg1), each started only once the
 * target streams from the current primary (a 409 "not rejoined yet" is retried and counted).
 * Outage of one operation = first acknowledged write on the new primary minus the last
 * acknowledged write on the old primary. After each operation every id acknowledged so far is
 * looked up on the new primary: a missing one is a lost acknowledged write.
 * Percentiles are nearest-rank; a failed operation counts as +infinity.
 *
 * Exit 0 whatever the figures (it is a measurement); 1 only when the harness itself failed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { PgvigilClient } from '../src/client/index.js';
import { localDown, localUp } from '../src/local/cluster.js';
import { localSecrets, type LocalState } from '../src/local/state.js';
import {
  nearestRank,
  runSwitchoverOp,
  startWriter,
  type SwitchoverResult,
  type Writer,
} from './lib.js';

const METHOD = [
  'method: one local cluster; a PgvigilClient writer INSERTs every interval for the whole run (a failed',
  '  write is not acknowledged, the next attempt uses the next id); each trial = POST /switchover {"to":"pg2"}',
  '  then POST /failback, each started once the target streams from the current primary (409s retried);',
  '  outage = first ack on the new primary - last ack on the old one; after each operation every id',
  '  acknowledged so far is looked up on the new primary (missing = lost); percentiles nearest-rank.',
];
const ms = (v: number | null): string =>
  v === null || Number.isNaN(v) ? 'n/a' : Number.isFinite(v) ? `${Math.round(v)} ms` : 'FAILED';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      trials: { type: 'string', default: '10' },
      'interval-ms': { type: 'string', default: '10' },
    },
    strict: true,
  });
  const trials = Number(values.trials);
  const intervalMs = Number(values['interval-ms']);
  if (!Number.isInteger(trials) || trials < 1)
    throw new Error(`--trials ${values.trials}: expected an integer >= 1`);
  if (!Number.isInteger(intervalMs) || intervalMs < 1)
    throw new Error(`--interval-ms ${values['interval-ms']}: expected an integer >= 1`);
  const out = (line: string): void => void process.stdout.write(line + '\n');
  out(
    `pgvigil switchover bench: ${trials} switchover(s) pg1 -> pg2 and ${trials} failback(s) pg2 -> pg1, 2 nodes with agents, 3 sentinels, 1 Redis, default timings, write every ${intervalMs} ms`,
  );
  for (const line of METHOD) out(line);
  out(
    `machine: ${cpus().length} x ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}`,
  );

  const dir = mkdtempSync(join(tmpdir(), 'pgvigil-bench-so-'));
  let state: LocalState | undefined;
  let client: PgvigilClient | undefined;
  let writer: Writer | undefined;
  const results: SwitchoverResult[] = [];
  let harnessError: string | undefined;
  try {
    state = await localUp({ dir, nodes: 2, sentinels: 3, apiPort: 0, progress: () => undefined });
    const secrets = localSecrets(state);
    client = await PgvigilClient.connect({
      redis: state.redis,
      redisAuth: { password: secrets.redisPassword },
      cluster: state.cluster,
      pg: { ...state.client, password: secrets.superPassword },
      poolSize: 2,
    });
    await client.query(
      'CREATE TABLE bench (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())',
    );
    writer = startWriter(client, intervalMs);
    for (let i = 1; i <= trials; i++) {
      for (const op of ['switchover', 'failback'] as const) {
        const r = await runSwitchoverOp(state, op, i, writer.acked);
        results.push(r);
        out(
          `  [${op} #${i}] ${r.ok ? 'ok    ' : 'FAILED'} ${r.from} -> ${r.to}  outage ${ms(r.outageMs).padStart(8)}  sentinel-reported ${ms(r.sentinelMs).padStart(8)}  lost acked ${r.lost}  409 retries ${r.retries409}${r.error ? `  (${r.error})` : ''}`,
        );
        if (!r.ok) throw new Error(`${op} #${i} failed: ${r.error}`);
      }
    }
    out(
      `  writes: ${writer.acked.length} acknowledged, ${writer.notAcknowledged()} not acknowledged (errors during the outages)`,
    );
  } catch (err) {
    harnessError = (err as Error).message.split('\n')[0];
  } finally {
    await writer?.stop().catch(() => undefined);
    await client?.close().catch(() => undefined);
    if (state) await localDown({ dir, quiet: true }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
  out('');
  for (const op of ['switchover', 'failback'] as const) {
    const rs = results.filter((r) => r.op === op);
    const outages = rs
      .map((r) => (r.ok && r.outageMs !== null ? r.outageMs : Infinity))
      .sort((a, b) => a - b);
    const lost = rs.reduce((s, r) => s + r.lost, 0);
    const max = outages.at(-1) ?? Number.NaN;
    out(`${op}: ${rs.length} operations, ${rs.filter((r) => !r.ok).length} failed`);
    out(
      `  write outage (last ack on old primary -> first ack on new): p50 ${ms(nearestRank(outages, 50))}   p95 ${ms(nearestRank(outages, 95))}   max ${ms(max)}`,
    );
    out(`  lost acknowledged writes: ${lost}`);
    out(
      `  target (outage <= 3 s, 0 lost): ${max <= 3000 && lost === 0 && rs.length > 0 ? 'PASS' : 'MISS'}`,
    );
  }
  if (harnessError) out(`HARNESS ERROR: ${harnessError}`);
  return harnessError ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench:switchover: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
