/**
 * At most `limit` connection handshakes in flight at once, process-wide; the others wait their
 * turn (FIFO) before they start, so a waiting open does not run down its connect timeout.
 *
 * Why: a sentinel watching hundreds of nodes opens hundreds of probe sessions at start-up, or
 * again after a network blip. Each handshake costs a SCRAM exchange on both sides (PBKDF2 on
 * node's libuv pool, a backend fork and PBKDF2 on the server). Started all at once on two shared
 * cores they outran connectTimeoutMs, were reset (`bench:scale` at 1000 nodes: 6336 resets
 * logged by the servers in 180 s, not one topology committed) and were all tried again on the
 * next tick: the work never finished. Queued, they finish at the rate the machine allows.
 */
export class HandshakeLimiter {
  readonly #limit: number;
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`bad limit ${limit}`);
    this.#limit = limit;
  }

  /** handshakes running now, and waiting for a turn */
  get load(): { active: number; waiting: number } {
    return { active: this.#active, waiting: this.#waiting.length };
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#limit)
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#active++;
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next)
        next(); // the slot passes on: #active stays
      else this.#active--;
    }
  }
}

/** Probe sessions of every cluster of this process (control sessions do not wait for them). */
export const PROBE_HANDSHAKES = new HandshakeLimiter(16);
