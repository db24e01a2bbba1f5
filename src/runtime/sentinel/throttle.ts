/**
 * Idle cost: a periodic record (vote, presence, verdict, the leader lock's extension) is
 * rewritten only when its content changed or a fraction of its TTL has passed.
 */
import type { Clock } from '../../ports/clock.js';

export class Throttle {
  readonly #clock: Clock;
  readonly #written = new Map<string, { key: string; atMono: number }>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** True when `what` changed (`key`) or was last done `everyMs` ago; records that it is done now. */
  due(what: string, key: string, everyMs: number): boolean {
    const now = this.#clock.mono();
    const last = this.#written.get(what);
    if (last && last.key === key && now - last.atMono < everyMs) return false;
    this.#written.set(what, { key, atMono: now });
    return true;
  }

  /** Records that `what` is done now. */
  mark(what: string): void {
    this.#written.set(what, { key: '', atMono: this.#clock.mono() });
  }

  /** When `what` was last done (monotonic ms), or null. */
  lastMono(what: string): number | null {
    return this.#written.get(what)?.atMono ?? null;
  }

  forget(what: string): void {
    this.#written.delete(what);
  }
}
