/**
 * The backup schedule (DESIGN.md, Backups): a once-a-minute tick (node-cron in the
 * composition root; tests call `tick(ms)` with the time they choose) asks core which type this
 * minute is a slot of and hands it to the runner, whose claim makes it one run per slot across
 * every agent and sentinel. At start, the latest slot of the past week runs once when it has
 * no good record (every runner was down): once, not once per missed day.
 */
import { type CronMatcher, latestSlot, slotAt } from '../../core/backup/schedule.js';
import type { BackupType } from '../../core/backup/types.js';
import type { Logger } from '../../ports/logger.js';
import type { BackupRunner, RunOutcome } from './runner.js';

export interface SchedulerDeps {
  runner: Pick<BackupRunner, 'run'>;
  matchers: Record<BackupType, CronMatcher>;
  utcOffsetMin: () => number;
  logger?: Logger;
  /** whether any backup was ever recorded: a fresh repository has no missed slot */
  hasRecords?: () => Promise<boolean>;
  /** every minute's housekeeping (archive_command kept on the local node) */
  onTick?: () => Promise<void>;
}

export class BackupScheduler {
  readonly #d: SchedulerDeps;
  #lastSlotMs = -1;

  constructor(d: SchedulerDeps) {
    this.#d = d;
  }

  /** Run the latest slot of the past week once when it has no good record. */
  async catchUp(nowMs: number): Promise<RunOutcome | null> {
    const s = latestSlot(this.#d.matchers, nowMs, this.#d.utcOffsetMin());
    if (!s) return null;
    this.#lastSlotMs = s.atMs;
    if (this.#d.hasRecords && !(await this.#d.hasRecords().catch(() => false))) return null;
    return this.#run(s.type, { type: s.type, day: s.day });
  }

  /** Called once a minute: a slot starting this minute runs (once, even if ticked twice). */
  async tick(nowMs: number): Promise<RunOutcome | null> {
    await this.#d.onTick?.().catch(() => undefined);
    const s = slotAt(this.#d.matchers, nowMs, this.#d.utcOffsetMin());
    if (!s || s.atMs === this.#lastSlotMs) return null;
    this.#lastSlotMs = s.atMs;
    return this.#run(s.type, { type: s.type, day: s.day });
  }

  async #run(
    type: BackupType,
    slot: { type: BackupType; day: string },
  ): Promise<RunOutcome | null> {
    try {
      const r = await this.#d.runner.run(type, { slot, scheduled: true });
      this.#d.logger?.info({ type, day: slot.day, outcome: r.kind }, 'scheduled backup');
      return r;
    } catch (err) {
      this.#d.logger?.error(
        { type, day: slot.day, err: (err as Error).message },
        'scheduled backup failed',
      );
      return null;
    }
  }
}
