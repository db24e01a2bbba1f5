import type { ProbeFailure, ProbeResult, WalReceiverStat } from '../../src/core/model.js';
import { NOW_MONO } from './timing.js';

/** `aProbe('pg2').standby(5000).streaming().at(NOW_MONO - 100).build()` */
export class ProbeBuilder {
  #p: ProbeResult;

  constructor(node: string) {
    this.#p = { node, ok: true, atMono: NOW_MONO - 100, durationMs: 5 };
  }

  at(atMono: number): this {
    this.#p = { ...this.#p, atMono };
    return this;
  }

  took(durationMs: number): this {
    this.#p = { ...this.#p, durationMs };
    return this;
  }

  primary(currentLsn = 5_000_000): this {
    this.#p = { ...this.#p, ok: true, role: 'primary', currentLsn };
    return this;
  }

  /** A standby; `replayed` defaults to `received` (caught up). */
  standby(received = 5_000_000, replayed = received): this {
    this.#p = {
      ...this.#p,
      ok: true,
      role: 'standby',
      receivedLsn: received,
      replayedLsn: replayed,
    };
    return this;
  }

  /** WAL receiver streaming, last message `ageMs` before the probe, from `sender`. */
  streaming(
    ageMs = 100,
    sender: { host: string; port: number } = { host: '10.0.0.1', port: 5432 },
  ): this {
    return this.receiver({
      status: 'streaming',
      lastMsgAgeMs: ageMs,
      senderHost: sender.host,
      senderPort: sender.port,
    });
  }

  receiver(patch: Partial<WalReceiverStat>): this {
    const walReceiver: WalReceiverStat = {
      status: 'streaming',
      senderHost: '10.0.0.1',
      senderPort: 5432,
      lastMsgAgeMs: 100,
      receivedLsn: this.#p.receivedLsn ?? 0,
      ...patch,
    };
    this.#p = { ...this.#p, walReceiver };
    return this;
  }

  noReceiver(): this {
    const rest = { ...this.#p };
    delete rest.walReceiver;
    this.#p = rest;
    return this;
  }

  failed(failure: ProbeFailure, message?: string): this {
    const { node, atMono, durationMs } = this.#p;
    this.#p = {
      node,
      atMono,
      durationMs,
      ok: false,
      failure,
      ...(message === undefined ? {} : { message }),
    };
    return this;
  }

  refused(): this {
    return this.failed('refused', 'connect ECONNREFUSED');
  }

  timedOut(): this {
    return this.failed('timeout', 'connect timeout');
  }

  writeFailed(): this {
    return this.failed('write-failed', 'could not extend file: No space left on device');
  }

  with(patch: Partial<ProbeResult>): this {
    this.#p = { ...this.#p, ...patch };
    return this;
  }

  build(): ProbeResult {
    return structuredClone(this.#p);
  }
}

export function aProbe(node = 'pg1'): ProbeBuilder {
  return new ProbeBuilder(node);
}
