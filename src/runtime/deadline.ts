/**
 * Bounded waiting, in one place: `withDeadline` runs work under a deadline and aborts it (its
 * AbortSignal) when the deadline passes; `pollUntil` repeats an attempt until it yields a value
 * or the deadline passes, aborting the attempt in flight then. Loops that wait for a node (a
 * replay LSN, a promotion, a restart, an intent's answer) use these, so a timed-out wait never
 * goes on working in the background.
 */
import type { Clock } from '../ports/clock.js';

export class DeadlineExceeded extends Error {
  constructor(ms: number) {
    super(`deadline of ${Math.round(ms)} ms passed`);
    this.name = 'DeadlineExceeded';
  }
}

/**
 * `work(signal)` under a deadline of `ms` (Infinity: none): rejects with DeadlineExceeded and
 * aborts `signal` when it passes first. An abort of `parent` aborts the work too.
 */
export async function withDeadline<T>(
  ms: number,
  work: (signal: AbortSignal) => Promise<T>,
  parent?: AbortSignal,
): Promise<T> {
  const controller = new AbortController();
  const onParentAbort = (): void => controller.abort(parent?.reason);
  parent?.addEventListener('abort', onParentAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    if (!Number.isFinite(ms)) return;
    timer = setTimeout(
      () => {
        const err = new DeadlineExceeded(ms);
        controller.abort(err);
        reject(err);
      },
      Math.max(0, ms),
    );
  });
  try {
    return await Promise.race([work(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
    parent?.removeEventListener('abort', onParentAbort);
  }
}

/** Resolves after `ms`, or at once when `signal` is aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface PollOptions {
  clock: Clock;
  /** give up (undefined) once this long has passed since the call */
  timeoutMs: number;
  /** pause between two attempts */
  intervalMs: number;
  signal?: AbortSignal;
}

/**
 * Calls `attempt` until it returns something other than undefined, every `intervalMs`; after
 * `timeoutMs` (or an abort of `signal`) the attempt in flight is aborted and the answer is
 * undefined. An attempt that throws ends the poll with that error.
 */
export async function pollUntil<T>(
  o: PollOptions,
  attempt: (signal: AbortSignal) => Promise<T | undefined>,
): Promise<T | undefined> {
  const deadline = o.clock.mono() + o.timeoutMs;
  try {
    return await withDeadline(
      o.timeoutMs,
      async (signal) => {
        for (;;) {
          const value = await attempt(signal);
          if (value !== undefined || signal.aborted) return value;
          if (o.clock.mono() >= deadline) return undefined;
          await sleep(o.intervalMs, signal);
          if (signal.aborted) return undefined;
        }
      },
      o.signal,
    );
  } catch (err) {
    if (err instanceof DeadlineExceeded) return undefined;
    throw err;
  }
}
