import type { Vote } from '../../src/core/model.js';
import { EPOCH, NOW_WALL } from './timing.js';

/** `aVote().by('s2').about('pg1', 7).down().at(NOW_WALL - 300).build()` */
export class VoteBuilder {
  #v: Vote = {
    sentinel: 's2',
    epoch: EPOCH,
    primary: 'pg1',
    down: true,
    reason: 'no-success-for-downAfter',
    atWall: NOW_WALL - 300,
  };

  by(sentinel: string): this {
    this.#v = { ...this.#v, sentinel };
    return this;
  }

  about(primary: string, epoch = EPOCH): this {
    this.#v = { ...this.#v, primary, epoch };
    return this;
  }

  down(reason = 'no-success-for-downAfter'): this {
    this.#v = { ...this.#v, down: true, reason };
    return this;
  }

  up(): this {
    this.#v = { ...this.#v, down: false, reason: 'ok' };
    return this;
  }

  at(atWall: number): this {
    this.#v = { ...this.#v, atWall };
    return this;
  }

  build(): Vote {
    return { ...this.#v };
  }
}

export function aVote(): VoteBuilder {
  return new VoteBuilder();
}
