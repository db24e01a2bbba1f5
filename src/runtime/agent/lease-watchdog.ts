/**
 * The lease watchdog of a primary's agent (DESIGN.md rule 5): a timer armed after every
 * confirming read for `leaseMs` from when that read was sent. When it fires and no read has
 * confirmed us since, the primary is stopped at once (`pg_ctl stop -m immediate`: SIGQUIT to
 * the postmaster, every backend exits without finishing its transaction, no new session is
 * accepted), whatever the agent loop is doing: a loop waiting on a Redis timeout, or an action
 * in its slot, cannot delay the fence. rules.ts requires leaseMs + fenceMs + probeIntervalMs <=
 * downAfterMs, so the stop is done before the sentinels on the other side can promote.
 *
 * Why a stop and not read-only: `default_transaction_read_only` is a default that any session
 * can undo (`SET default_transaction_read_only = off`, `BEGIN READ WRITE`); a stopped postmaster
 * acknowledges nothing. Once a Redis majority answers again, the agent loop decides as for any
 * stopped primary: restart only on a fresh leader verdict that no failover happens, or rejoin
 * the new primary when the epoch moved on.
 *
 * A timer that fires more than `pauseMs` after it was due means THIS process did not run (it
 * was SIGSTOPped, its VM frozen): the missing confirmations are our own silence, not Redis's,
 * and the primary it guards served on meanwhile. Fencing it at once on waking would stop a
 * healthy primary that a Redis majority still names (found by the fault runner, `npm run chaos
 * -- --seed 1 --duration 1s --faults stop-agent`: a failover of a live primary). So it first
 * awaits one confirming read (`recheck`, at most one Redis timeout): if a majority still names
 * us at our epoch the lease is renewed; otherwise, or if the read fails, it fences. The same
 * holds for a pause that ended shortly before the lease was due (the agent's renewal timer ran
 * late, `pausedSince`): the reads it missed were its own silence (chaos seed 7: `stop-agent`
 * of the primary's agent for 1.1 s, its healthy primary fenced and failed over).
 */
import type { Clock } from '../../ports/clock.js';
import type { Logger } from '../../ports/logger.js';
import type { NodeProcess } from '../../ports/node-process.js';
import type { EventSink } from '../events.js';

export interface LeaseWatchdogDeps {
  cluster: string;
  node: string;
  leaseMs: number;
  clock: Clock;
  process: Pick<NodeProcess, 'stop' | 'state'>;
  bus: EventSink;
  log: Logger;
  /** one confirming read (it calls renew() when a majority names us), awaited after a pause */
  recheck?: () => Promise<void>;
  /** a timer firing later than this (ms) means this process was paused */
  pauseMs?: number;
  /**
   * This process was paused after `mono` (its own timers ran late), though the lease timer
   * itself did not fire late: a pause that ended just before the lease was due.
   */
  pausedSince?: (mono: number) => boolean;
}

export interface LeaseView {
  /** when the last read that confirmed us as the primary was sent (clock.mono) */
  lastConfirmMono: number;
  /** the topology names us and postgres runs as a primary */
  primary: boolean;
  epoch: number;
}

export class LeaseWatchdog {
  readonly #d: LeaseWatchdogDeps;
  #timer: NodeJS.Timeout | null = null;
  #view: LeaseView | null = null;
  #fencing: Promise<void> | null = null;
  #stopped = false;
  /** when the armed timer is due (clock.mono) */
  #dueMono = 0;
  /** the due time a pause recheck was made for (once per due time) */
  #recheckedDue: number | null = null;

  constructor(d: LeaseWatchdogDeps) {
    this.#d = d;
  }

  /** After every tick: (re)arm for the lease of `view`, or disarm when we are no primary. */
  arm(view: LeaseView): void {
    this.#view = view;
    this.#clear();
    if (!view.primary || this.#stopped) return;
    const left = Math.max(0, view.lastConfirmMono + this.#d.leaseMs - this.#d.clock.mono());
    this.#dueMono = this.#d.clock.mono() + left;
    // re-armed after every tick, so not unref'd: Node keeps the timer list of an unref'd timer
    // after clearTimeout, with its old due time, and each such list woke an idle agent once for
    // nothing (`bench:idle`); stop() clears it
    this.#timer = setTimeout(() => this.#fire(), left);
  }

  /** A confirming read outside the tick: re-arm the current view from `lastConfirmMono`. */
  renew(lastConfirmMono: number): void {
    const v = this.#view;
    if (v && lastConfirmMono > v.lastConfirmMono) this.arm({ ...v, lastConfirmMono });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#clear();
    await this.#fencing;
  }

  /** The fence in flight (tests, shutdown). */
  get fencing(): Promise<void> | null {
    return this.#fencing;
  }

  #clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #fire(): void {
    this.#timer = null;
    const v = this.#view;
    if (!v?.primary || this.#fencing || this.#stopped) return;
    const unconfirmedMs = this.#d.clock.mono() - v.lastConfirmMono;
    if (unconfirmedMs < this.#d.leaseMs) return; // a later arm() moved the lease on
    if (!this.#d.process.state().running) return;
    const lateMs = this.#d.clock.mono() - this.#dueMono;
    const recheck = this.#d.recheck;
    const paused =
      lateMs > (this.#d.pauseMs ?? 0) || (this.#d.pausedSince?.(v.lastConfirmMono) ?? false);
    if (recheck && paused && this.#recheckedDue !== this.#dueMono) {
      // we were paused (see the header): one read decides; a renewal re-arms the timer
      this.#recheckedDue = this.#dueMono;
      this.#d.log.warn(
        {
          cluster: this.#d.cluster,
          node: this.#d.node,
          epoch: v.epoch,
          lateMs: Math.round(lateMs),
        },
        'lease timer fired late (this process was paused): one confirming read before fencing',
      );
      this.#fencing = recheck()
        .catch(() => undefined)
        .then(() => {
          this.#fencing = null;
          if (this.#timer === null) this.#fire();
        });
      return;
    }
    this.#fencing = this.#fence(v.epoch, unconfirmedMs).finally(() => {
      this.#fencing = null;
    });
  }

  async #fence(epoch: number, unconfirmedMs: number): Promise<void> {
    const { log, clock } = this.#d;
    const ctx = { cluster: this.#d.cluster, node: this.#d.node, epoch };
    const started = clock.mono();
    const evidence = `no Redis majority confirmed ${this.#d.node} as primary of epoch ${epoch} for ${unconfirmedMs} ms (lease ${this.#d.leaseMs} ms): stopped (immediate)`;
    log.warn({ ...ctx, unconfirmedMs }, 'lease expired: stopping postgres at once (fence)');
    try {
      await this.#d.process.stop('immediate');
    } catch (err) {
      log.error({ ...ctx, err: (err as Error).message }, 'fence stop failed');
      return;
    }
    log.warn({ ...ctx, fenceMs: Math.round(clock.mono() - started) }, 'fenced: postgres stopped');
    // publishing needs the Redis majority we just lost: logged when it fails
    await this.#d.bus
      .emit({
        type: 'node-fenced',
        cluster: this.#d.cluster,
        epoch,
        node: this.#d.node,
        by: `agent-${this.#d.node}`,
        reason: evidence,
      })
      .catch((err: Error) => log.warn({ ...ctx, err: err.message }, 'node-fenced not published'));
  }
}
