/**
 * Event ids that are the same on every Redis server (DESIGN.md, "Events"): the publisher picks
 * the stream id and XADDs it explicitly everywhere, so `events --since ID` and a subscriber's
 * resume point mean the same event whichever server answers.
 *
 * An id is a valid stream id `<ms>-<seq>`: `ms` never goes backwards for one publisher (the
 * wall clock, or the last id's ms when the clock stepped back or another publisher's id was
 * seen ahead of it), and `seq` = counter * 2^20 + salt, where `salt` is chosen once per
 * publisher at random: two sentinels emitting in the same millisecond get different ids.
 * Pure: the caller passes the time and the salt.
 */

/** seq = counter * SALT_SPACE + salt; counter * SALT_SPACE stays below 2^53 */
export const SALT_SPACE = 1 << 20;
const ID = /^(\d+)-(\d+)$/;

export interface EventIdParts {
  ms: number;
  seq: number;
}

export function parseEventId(id: string): EventIdParts | null {
  const m = ID.exec(id);
  if (!m) return null;
  const ms = Number(m[1]);
  const seq = Number(m[2]);
  return Number.isSafeInteger(ms) && Number.isSafeInteger(seq) ? { ms, seq } : null;
}

export function isEventId(id: string): boolean {
  return parseEventId(id) !== null;
}

/** <0, 0, >0 like a stream id comparison; an id that does not parse sorts first. */
export function compareEventIds(a: string, b: string): number {
  const x = parseEventId(a);
  const y = parseEventId(b);
  if (!x || !y) return (x ? 1 : 0) - (y ? 1 : 0);
  return x.ms !== y.ms ? x.ms - y.ms : x.seq - y.seq;
}

export class EventIds {
  readonly #salt: number;
  #ms = 0;
  #counter = 0;

  constructor(salt: number) {
    this.#salt = Math.abs(Math.floor(salt)) % SALT_SPACE;
  }

  /** The next id at wall time `nowMs`: greater than every id this publisher made or observed. */
  next(nowMs: number): string {
    const ms = Math.max(Math.floor(nowMs), this.#ms);
    this.#counter = ms === this.#ms ? this.#counter + 1 : 0;
    this.#ms = ms;
    return `${ms}-${this.#counter * SALT_SPACE + this.#salt}`;
  }

  /** A server already held `id` or later: the next id is made after it. */
  observe(id: string): void {
    const p = parseEventId(id);
    if (!p || p.ms < this.#ms) return;
    if (p.ms > this.#ms) {
      this.#ms = p.ms;
      this.#counter = Math.floor(p.seq / SALT_SPACE);
    } else this.#counter = Math.max(this.#counter, Math.floor(p.seq / SALT_SPACE));
  }
}
