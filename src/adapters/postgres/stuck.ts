/**
 * Stuck I/O: a primary whose storage hangs accepts connections and answers reads, but its
 * commits never return, so the heartbeat INSERT times out. A timeout alone cannot tell that
 * from "we are cut off" (rule 2 protects a primary only the sentinels cannot reach), so after
 * a hung heartbeat the probe asks the node once more, on a FRESH connection (the first one's
 * backend is stuck in its commit), a read-only question. If that answers, and the node is
 * still a primary, the server is reachable and cannot commit: `write-failed`, which rule 2
 * does not override (a walsender sends keepalives from a primary whose disk is frozen).
 * No answer within what is left of the probe's own budget (connect + query timeout): the
 * failure stays a `timeout`, so a slow check never makes the tick longer than a probe could
 * already take (TILT).
 */
import type { ProbeFailure } from '../../core/model.js';
import { Session, type SessionParams } from './session.js';

/** Below this much budget left, no check is tried: it could not finish anyway. */
export const MIN_CHECK_BUDGET_MS = 20;

/** What the read-only check on the fresh connection saw. */
export type ReadOnlyAnswer = 'primary' | 'standby' | 'no-answer';

export interface HungHeartbeat {
  failure: ProbeFailure;
  message: string;
}

/**
 * The failure of a probe whose query timed out. `heartbeat`: the heartbeat INSERT was part of
 * what hung; `budgetMs`: what is left of the probe's budget for the check.
 */
export async function classifyTimeout(o: {
  heartbeat: boolean;
  budgetMs: number;
  message: string;
  check: (budgetMs: number) => Promise<ReadOnlyAnswer>;
}): Promise<HungHeartbeat> {
  const timeout: HungHeartbeat = { failure: 'timeout', message: o.message };
  if (!o.heartbeat || o.budgetMs < MIN_CHECK_BUDGET_MS) return timeout;
  const answer = await o.check(o.budgetMs).catch((): ReadOnlyAnswer => 'no-answer');
  if (answer !== 'primary') return timeout;
  return {
    failure: 'write-failed',
    message: `heartbeat hung (${o.message}) while a fresh connection answered a read-only query: the primary cannot commit (stuck I/O?)`,
  };
}

/**
 * `SELECT pg_is_in_recovery()` on a fresh session, connect and query together bounded by
 * `budgetMs`; the session is destroyed afterwards, whatever happened.
 */
export async function readOnlyCheck(
  params: SessionParams,
  budgetMs: number,
): Promise<ReadOnlyAnswer> {
  let timer: NodeJS.Timeout | undefined;
  let session: Session | undefined;
  const expired = new Promise<ReadOnlyAnswer>((resolve) => {
    timer = setTimeout(() => resolve('no-answer'), budgetMs);
  });
  const ask = (async (): Promise<ReadOnlyAnswer> => {
    session = await Session.open({
      ...params,
      connectTimeoutMs: budgetMs,
      queryTimeoutMs: budgetMs,
    });
    const [rs] = await session.query('SELECT pg_is_in_recovery() AS r');
    return rs?.rows[0]?.r === false ? 'primary' : 'standby';
  })().catch((): ReadOnlyAnswer => 'no-answer');
  try {
    return await Promise.race([ask, expired]);
  } finally {
    clearTimeout(timer);
    // a session opened after the budget ran out is destroyed when it arrives
    void ask.then(() => session?.destroy());
    session?.destroy();
  }
}
