/**
 * `pg_controldata`: the cluster state and the latest checkpoint, read from pg_control. After a
 * clean `pg_ctl stop` the latest checkpoint is the shutdown checkpoint: the last WAL record
 * the stopped primary wrote (what a switchover target must replay).
 */
import { lsnToBytes } from '../../core/agent/lsn.js';
import { PostgresCommandFailed } from '../../core/errors.js';
import { lastLines, runPg } from './binaries.js';
import type { RunAs } from './run-as.js';

export interface ControlData {
  /** `shut down`, `shut down in recovery`, `in production`, `in archive recovery`, ... */
  state: string;
  checkpointLsnText: string;
  checkpointLsn: number;
  /** Latest checkpoint's TimeLineID */
  timeline: number;
}

function field(out: string, label: string): string {
  const line = out.split('\n').find((l) => l.startsWith(`${label}:`));
  if (line === undefined) throw new RangeError(`pg_controldata printed no "${label}" line`);
  return line.slice(label.length + 1).trim();
}

export function parseControldata(out: string): ControlData {
  const checkpointLsnText = field(out, 'Latest checkpoint location');
  return {
    state: field(out, 'Database cluster state'),
    checkpointLsnText,
    checkpointLsn: lsnToBytes(checkpointLsnText),
    timeline: Number(field(out, "Latest checkpoint's TimeLineID")),
  };
}

/** A clean shutdown, as a primary or as a standby. */
export function cleanlyShutDown(c: ControlData): boolean {
  return c.state === 'shut down' || c.state === 'shut down in recovery';
}

export async function readControlData(
  dataDir: string,
  runAs: RunAs | undefined,
): Promise<ControlData> {
  const r = await runPg('pg_controldata', ['-D', dataDir], {
    runAs,
    cwd: '/',
    env: { LC_ALL: 'C', LANG: 'C' },
    timeoutMs: 10_000,
  });
  if (r.code !== 0)
    throw new PostgresCommandFailed(`pg_controldata -D ${dataDir} failed: ${lastLines(r.output)}`);
  try {
    return parseControldata(r.output);
  } catch (err) {
    throw new PostgresCommandFailed(`pg_controldata -D ${dataDir}: ${(err as Error).message}`);
  }
}
