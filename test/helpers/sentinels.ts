/**
 * Restarting the sentinels of a scenario's local cluster by hand: `stopSentinel` SIGKILLs one
 * (by the pid state.json holds, or the one `startSentinel` gave it since), `startSentinel`
 * starts it again with the same config, id and API port, as `local up` did. Call
 * `stopAllRestarted` in afterAll: `h.down()` knows only the pids of `local up`.
 */
import { join } from 'node:path';

import { spawnSentinel, waitForSentinel } from '../../src/local/sentinels.js';
import { killQuietly } from '../../src/local/state.js';
import type { LocalHandle } from './local.js';

const restarted = new Map<string, number>();

function entry(h: LocalHandle, id: string) {
  const s = h.state.sentinels.find((x) => x.id === id);
  if (!s) throw new Error(`no sentinel ${id}`);
  return s;
}

export function sentinelPid(h: LocalHandle, id: string): number {
  return restarted.get(id) ?? entry(h, id).pid;
}

export function stopSentinel(h: LocalHandle, id: string, signal: NodeJS.Signals = 'SIGKILL'): void {
  killQuietly(sentinelPid(h, id), signal);
}

export async function startSentinel(
  h: LocalHandle,
  id: string,
  o: { env?: NodeJS.ProcessEnv; wait?: boolean } = {},
): Promise<number> {
  const s = entry(h, id);
  const logFile = join(h.state.dir, 'logs', `${id}.restarted.log`);
  const pid = spawnSentinel({
    config: h.state.config,
    id,
    apiPort: Number(new URL(s.api).port),
    logFile,
    env: o.env,
  });
  restarted.set(id, pid);
  if (o.wait !== false) await waitForSentinel(s.api, logFile);
  return pid;
}

export function stopAllRestarted(): void {
  for (const pid of restarted.values()) killQuietly(pid, 'SIGKILL');
  restarted.clear();
}
