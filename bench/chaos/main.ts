/**
 * `npm run chaos -- --duration 10m --seed S [--sync] [--json] [--faults k1,k2] [--profile fast]
 * [--converge-ms N]`: the seeded fault runner (run.ts). Needs root (network namespaces).
 *
 * Prints the schedule and progress on stderr, a summary on stdout; with `--json` the last line
 * of stdout is the JSON report `{"seed", "faults": [...], "violations": [...], ...}`. Exit 0
 * with no violation, 1 with one (and how to replay it), 2 when the harness itself failed.
 * SIGINT/SIGTERM tear the cluster down (local down by recorded PIDs and namespace names).
 */
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';

import { abortChaos, type ChaosReport, replayCommand, runChaos } from './run.js';
import { type FaultKind, parseKinds } from './schedule.js';

function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new Error(`--duration ${v}: use a number with ms, s, m or h (e.g. 10m, 120s)`);
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(n * unit);
}

function options(): {
  seed: number;
  durationMs: number;
  mode: 'async' | 'sync';
  json: boolean;
  kinds?: FaultKind[];
  profile: 'default' | 'fast';
  convergeMs?: number;
} {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      duration: { type: 'string', default: '10m' },
      sync: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      faults: { type: 'string' },
      profile: { type: 'string', default: 'default' },
      'converge-ms': { type: 'string' },
    },
    strict: true,
  });
  const seed = values.seed === undefined ? randomInt(0, 2 ** 31) : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32)
    throw new Error(`--seed ${values.seed}: use an integer from 0 to 4294967295`);
  if (values.profile !== 'default' && values.profile !== 'fast')
    throw new Error(`--profile ${values.profile}: use default or fast`);
  const convergeMs =
    values['converge-ms'] === undefined ? undefined : Number(values['converge-ms']);
  if (convergeMs !== undefined && (!Number.isInteger(convergeMs) || convergeMs < 1000))
    throw new Error(`--converge-ms ${values['converge-ms']}: use an integer >= 1000`);
  return {
    seed,
    durationMs: parseDuration(values.duration),
    mode: values.sync ? 'sync' : 'async',
    json: values.json,
    ...(values.faults ? { kinds: parseKinds(values.faults) } : {}),
    profile: values.profile,
    ...(convergeMs === undefined ? {} : { convergeMs }),
  };
}

export function summary(r: ChaosReport): string {
  const lines = [
    `chaos seed ${r.seed} (${r.mode}, profile ${r.profile}${r.unsafe ? `, PGVIGIL_TEST_UNSAFE=${r.unsafe}` : ''}): ${r.faults.length}/${r.schedule.length} faults in ${Math.round(r.elapsedMs / 1000)} s`,
    ...r.faults.map(
      (f) =>
        `  #${f.n} ${f.kind} ${f.resolved}${f.holdMs ? ` ${f.holdMs} ms` : ''}: ${f.recoveredMs === null ? 'not recovered' : `healthy ${f.recoveredMs} ms after`}`,
    ),
    `  writes acknowledged ${r.acks.total} (${Object.entries(r.acks.byServer)
      .map(([k, v]) => `${k} ${v}`)
      .join(
        ', ',
      )}), not acknowledged ${r.writeErrors}, lost ${r.lost}; reads ${r.reads} (${r.readErrors} failed)`,
    `  failovers ${r.failovers.length}, switchovers ${r.switchovers.length}; final primary ${r.finalTopology?.primary ?? '?'} epoch ${r.finalTopology?.epoch ?? '?'}; converged ${r.converge.ms === null ? 'NO' : `${r.converge.ms} ms`} after the last fault (bound ${r.converge.boundMs} ms)`,
    r.violations.length === 0
      ? '  violations: none'
      : `  VIOLATIONS (${r.violations.length}):\n${r.violations.map((v) => `    [${v.check}] ${v.message}`).join('\n')}`,
    `  ledger, events, report and logs: ${r.outDir}`,
  ];
  if (r.violations.length > 0) lines.push(`replay: ${r.replay}`);
  return lines.join('\n');
}

async function main(): Promise<number> {
  let o;
  try {
    o = options();
  } catch (err) {
    process.stderr.write(`chaos: ${(err as Error).message}\n`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('chaos: needs root (network namespaces): run it as root\n');
    return 2;
  }
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      process.stderr.write(`chaos: ${sig}, tearing the cluster down\n`);
      void abortChaos().finally(() => process.exit(130));
    });
  try {
    const r = await runChaos({ ...o, log: (l) => process.stderr.write(`[chaos] ${l}\n`) });
    process.stdout.write(summary(r) + '\n');
    if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
    return r.violations.length > 0 ? 1 : 0;
  } catch (err) {
    process.stderr.write(`chaos: the harness failed: ${(err as Error).stack ?? String(err)}\n`);
    process.stderr.write(`replay: ${replayCommand(o)}\n`);
    return 2;
  }
}

process.exitCode = await main();
