/**
 * The requesting side of an operator intent (Patroni's do_POST_failover: record the request,
 * let the loop act, wait for its answer). Used by every sentinel's admin API and by the CLI.
 *
 * The records, their names and schemas are RECORDS in src/ports/records.ts.
 *
 * 1. Claim the record `intent` (SET NX on a majority, TTL `intentTimeoutMs`): at most one
 *    mutating operation per cluster at a time; a lost claim answers 409 naming the holder.
 * 2. Poll `intent-result:<id>` (written by the leader's IntentRunner) every ~100 ms.
 * 3. No answer within `intentTimeoutMs`: withdraw the intent if it is still there and answer 504.
 */
import { randomUUID } from 'node:crypto';

import { CoordinationUnavailable } from '../../core/errors.js';
import type { CoordinationStore } from '../../ports/coordination.js';
import {
  type IntentOp,
  type IntentRecord,
  type IntentReply,
  RECORDS,
} from '../../ports/records.js';
import { pollUntil } from '../deadline.js';

export type {
  IntentBody,
  IntentOp,
  IntentRecord,
  IntentReply,
  IntentResultRecord,
} from '../../ports/records.js';

export const RESULT_TTL_MS = 60_000;

export const errorReply = (code: number, message: string): IntentReply => ({
  code,
  body: { status: 'error', message },
});

export interface SubmitOptions {
  timeoutMs: number;
  pollMs?: number;
  wallNow?: () => number;
}

function describe(rec: IntentRecord, nowWall: number): string {
  const ago = Math.max(0, Math.round((nowWall - rec.atWall) / 100) / 10);
  return `${rec.op}${rec.to ? ` to ${rec.to}` : ''} requested by ${rec.requestedBy} ${ago} s ago`;
}

export async function submitIntent(
  store: CoordinationStore,
  cluster: string,
  request: { op: IntentOp; to?: string | undefined; requestedBy: string },
  opts: SubmitOptions,
): Promise<IntentReply> {
  const now = opts.wallNow ?? Date.now;
  const pollMs = opts.pollMs ?? 100;
  const record: IntentRecord = {
    id: randomUUID(),
    atWall: now(),
    op: request.op,
    requestedBy: request.requestedBy,
    ...(request.to === undefined ? {} : { to: request.to }),
  };
  const unavailable = (err: unknown) =>
    errorReply(503, `no coordination majority: ${(err as Error).message}`);
  const { name, schema } = RECORDS.intent;
  let claimed: boolean;
  try {
    claimed = await store.claimRecord(cluster, name, record, opts.timeoutMs, schema);
  } catch (err) {
    if (err instanceof CoordinationUnavailable) return unavailable(err);
    throw err;
  }
  if (!claimed) {
    let holder: IntentRecord | null;
    try {
      holder = (await store.getRecord(cluster, name, schema)).value;
    } catch (err) {
      if (err instanceof CoordinationUnavailable) return unavailable(err);
      throw err;
    }
    return errorReply(
      409,
      holder
        ? `another operation is in progress: ${describe(holder, now())}`
        : 'another operation is in progress (or a majority of Redis servers refused the claim): retry',
    );
  }

  const answer = await pollUntil(
    { clock: { mono: now, wall: now }, timeoutMs: opts.timeoutMs, intervalMs: pollMs },
    async () => {
      try {
        const result = RECORDS.intentResult(record.id);
        const res = await store.getRecord(cluster, result.name, result.schema);
        return res.value ? { code: res.value.code, body: res.value.body } : undefined;
      } catch {
        return undefined; // a transient loss of majority: keep waiting until the deadline
      }
    },
  );
  if (answer) return answer;
  await store.deleteRecord(cluster, name, record.id).catch(() => undefined);
  return errorReply(
    504,
    `no answer from the leader within ${opts.timeoutMs / 1000} s (is a leader elected? see pgvigil status); the ${request.op} may still complete`,
  );
}
