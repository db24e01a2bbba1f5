/**
 * The timer of a loop (sentinel cluster loops, the agent loop): runs `tick` now, then again after
 * `nextDelayMs(elapsedMs)` of the previous run, never two at once. A tick that throws is a bug:
 * it is reported to `onError` and the loop goes on. `stop()` cancels the next run and waits for
 * the one in flight.
 */
import type { Clock } from '../ports/clock.js';

export interface LoopTimerOptions {
  clock: Clock;
  tick: () => Promise<unknown>;
  /** delay before the next run, given how long this one took */
  nextDelayMs: (elapsedMs: number) => number;
  onError: (err: unknown) => void;
}

export class LoopTimer {
  readonly #o: LoopTimerOptions;
  #timer: NodeJS.Timeout | null = null;
  #inFlight: Promise<void> | null = null;
  #running = false;
  #stopped = false;

  constructor(o: LoopTimerOptions) {
    this.#o = o;
  }

  /** The first run after `firstDelayMs` (default: now). */
  start(firstDelayMs = 0): void {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    this.#schedule(firstDelayMs);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#inFlight;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const started = this.#o.clock.mono();
      this.#inFlight = this.#o
        .tick()
        .then(
          () => undefined,
          (err: unknown) => this.#o.onError(err),
        )
        .finally(() => {
          this.#inFlight = null;
          this.#schedule(Math.max(0, this.#o.nextDelayMs(this.#o.clock.mono() - started)));
        });
    }, delayMs);
  }
}
