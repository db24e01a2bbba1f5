/**
 * One backup run, the same for `backup run`, `POST /backups` and the schedule:
 *
 *  1. scheduled slots only: an existing good `backup:<tipo>:<date>` means done; otherwise
 *     claim the slot on a majority of the coordination servers (one runner per slot);
 *  2. read the repository (`info`); a missing repository is created only when Redis holds no
 *     backup record (a first backup), never behind the back of earlier records;
 *  3. CHECKPOINT on the primary (pg_control must show the current timeline after a promotion,
 *     notes G5), then the backup (from a standby with `backup.fromStandby`, falling back to
 *     the primary when no standby answers, notes G12); retention after a full;
 *  4. the record from `pgbackrest info`, records of expired backups removed, the recovery
 *     window; events and metrics.
 *
 * A failure never replaces a good record: it is added beside it (`last_failure*` fields), or
 * written as its own failed record when the slot had none.
 */
import { backupHash } from '../../core/backup/info.js';
import { calendarOf, isoDay } from '../../core/backup/schedule.js';
import type { BackupType, EngineInfo, SlotId } from '../../core/backup/types.js';
import { recoveryWindow } from '../../core/backup/window.js';
import { UserError } from '../../core/errors.js';
import type { PgvigilEvent } from '../../core/events.js';
import type {
  BackupCatalog,
  BackupEngine,
  BackupMetricsPort,
  BackupNodes,
} from '../../ports/backup.js';
import type { Clock } from '../../ports/clock.js';
import type { Logger } from '../../ports/logger.js';

export interface BackupRunnerDeps {
  cluster: string;
  /** who runs (claims carry it) */
  owner: string;
  engine: BackupEngine;
  catalog: BackupCatalog;
  nodes: BackupNodes;
  clock: Clock;
  /** minutes east of UTC of the runner's zone (the `<date>` of the key is local) */
  utcOffsetMin: () => number;
  fromStandby: boolean;
  /**
   * backup.localOnly: the nodes pgBackRest is given here. A run goes ahead only when the
   * primary is one of them: a scheduled one is skipped elsewhere, a manual one refused.
   */
  localNodes?: readonly string[];
  publish: (e: PgvigilEvent) => Promise<void>;
  metrics?: BackupMetricsPort;
  logger?: Logger;
  /** how long a claim holds a slot (default 6 h) */
  claimTtlMs?: number;
}

export class BackupBusy extends UserError {}

export type RunOutcome =
  | { kind: 'done'; key: SlotId; record: Record<string, string> }
  | {
      kind: 'skipped';
      key: SlotId;
      reason: 'already-done' | 'claimed-elsewhere' | 'primary-elsewhere';
    };

export class BackupRunner {
  readonly #d: BackupRunnerDeps;
  #running: BackupType | null = null;

  constructor(deps: BackupRunnerDeps) {
    this.#d = deps;
  }

  get running(): BackupType | null {
    return this.#running;
  }

  /**
   * With `localNodes`: why this machine cannot take the backup (the primary is another
   * machine's node, or none answers as primary); undefined when it can.
   */
  async primaryElsewhere(): Promise<string | undefined> {
    const local = this.#d.localNodes;
    if (!local) return undefined;
    const roles = await this.#d.nodes.roles().catch(() => ({ primary: null }));
    if (roles.primary !== null && local.includes(roles.primary)) return undefined;
    const here = local.join(', ');
    return roles.primary === null
      ? `backup.localOnly: no node answers as the primary of ${this.#d.cluster}: no backup until one does`
      : `backup.localOnly: the primary of ${this.#d.cluster} is ${roles.primary}, this machine has ${here}: run the backup on ${roles.primary}'s machine, or POST /backups to a sentinel`;
  }

  /** Today's slot of `type` (manual runs). */
  slotNow(type: BackupType): SlotId {
    return { type, day: isoDay(calendarOf(this.#d.clock.wall(), this.#d.utcOffsetMin())) };
  }

  async run(
    type: BackupType,
    o: { slot?: SlotId; scheduled?: boolean; onProgress?: (l: string) => void } = {},
  ): Promise<RunOutcome> {
    if (this.#running)
      throw new BackupBusy(`a ${this.#running} backup is already running: wait for it to finish`);
    this.#running = type;
    const slot = o.slot ?? this.slotNow(type);
    const d = this.#d;
    try {
      if (o.scheduled && (await d.catalog.get(slot))?.status === 'ok')
        return { kind: 'skipped', key: slot, reason: 'already-done' };
      const elsewhere = await this.primaryElsewhere();
      if (elsewhere !== undefined) {
        if (o.scheduled) return { kind: 'skipped', key: slot, reason: 'primary-elsewhere' };
        throw new UserError(elsewhere);
      }
      if (!(await d.catalog.claim(d.cluster, slot, d.owner, d.claimTtlMs ?? 6 * 3_600_000))) {
        if (o.scheduled) return { kind: 'skipped', key: slot, reason: 'claimed-elsewhere' };
        throw new BackupBusy(
          `a ${type} backup of ${d.cluster} for ${slot.day} is already running elsewhere: wait for it`,
        );
      }
      let ok = false;
      try {
        const record = await this.#take(type, slot, o.onProgress);
        ok = true;
        return { kind: 'done', key: slot, record };
      } finally {
        // a scheduled slot stays claimed once done (its record says so too); a manual run or a
        // failure frees it for the next attempt
        if (!ok || !o.scheduled)
          await d.catalog.release(d.cluster, slot, d.owner).catch(() => undefined);
      }
    } finally {
      this.#running = null;
    }
  }

  async #take(
    type: BackupType,
    slot: SlotId,
    onProgress?: (l: string) => void,
  ): Promise<Record<string, string>> {
    const d = this.#d;
    const startedMs = d.clock.wall();
    const t0 = d.clock.mono();
    const roles = await d.nodes.roles().catch(() => ({ primary: null, standbys: [] as string[] }));
    let node = (d.fromStandby ? roles.standbys[0] : roles.primary) ?? roles.primary ?? '';
    let role: 'primary' | 'standby' | '' =
      node === '' ? '' : node === roles.primary ? 'primary' : 'standby';
    const epoch = 0;
    await d.publish({ type: 'backup-started', cluster: d.cluster, epoch, backupType: type, node });
    try {
      const before = await this.#openRepository();
      if (roles.primary) await d.nodes.checkpoint(roles.primary).catch(() => undefined);
      try {
        await d.engine.backup(type, {
          fromStandby: role === 'standby',
          ...(onProgress ? { onProgress } : {}),
        });
      } catch (err) {
        if (role !== 'standby' || !/unable to find standby/.test((err as Error).message)) throw err;
        d.logger?.warn({ cluster: d.cluster }, 'no standby answered: backing up from the primary');
        node = roles.primary ?? '';
        role = 'primary';
        await d.engine.backup(type, { fromStandby: false, ...(onProgress ? { onProgress } : {}) });
      }
      if (type === 'full') await d.engine.expire();
      const info = await d.engine.info();
      const known = new Set(before.backups.map((b) => b.label));
      // pgBackRest turns an incr/diff without a prior full into a full: take what it made
      const made = [...info.backups].reverse().find((b) => !known.has(b.label));
      const finishedMs = d.clock.wall();
      const durationMs = d.clock.mono() - t0;
      const record = backupHash(made, {
        status: 'ok',
        started: new Date(startedMs).toISOString(),
        finished: new Date(finishedMs).toISOString(),
        durationMs,
        node,
        role,
        error: '',
      });
      await d.catalog.put(slot, { ...record, cluster: d.cluster });
      await this.sync(info);
      d.metrics?.success(type, finishedMs / 1000, durationMs / 1000, made?.sizeBytes ?? 0);
      await d.publish({
        type: 'backup-completed',
        cluster: d.cluster,
        epoch,
        backupType: type,
        node,
        label: record.label ?? '',
      });
      return record;
    } catch (err) {
      await this.#recordFailure(type, slot, startedMs, node, role, err as Error);
      throw err;
    }
  }

  /** The repository's info; creating the stanza when the repository is new and Redis has no record. */
  async #openRepository(): Promise<EngineInfo> {
    try {
      return await this.#d.engine.info();
    } catch (err) {
      const records = Object.values(await this.#d.catalog.list()).filter(
        (r) => r.cluster === undefined || r.cluster === this.#d.cluster,
      );
      if (records.some((r) => r.status === 'ok')) throw err;
      await this.#d.engine.createStanza();
      return this.#d.engine.info();
    }
  }

  /**
   * Redis agrees with the repository: records whose backup pgBackRest expired are removed,
   * and the recovery window is rewritten.
   */
  async sync(info: EngineInfo): Promise<void> {
    const d = this.#d;
    const labels = new Set(info.backups.map((b) => b.label));
    const all = await d.catalog.list();
    const gone = Object.entries(all)
      .filter(([, r]) => (r.cluster ?? d.cluster) === d.cluster && r.status === 'ok')
      .filter(([, r]) => r.label !== undefined && r.label !== '' && !labels.has(r.label))
      .map(([k]) => k);
    await d.catalog.remove(gone);
    const roles = await d.nodes.roles().catch(() => ({ primary: null, standbys: [] }));
    const archiver = roles.primary ? await d.nodes.archiver(roles.primary) : undefined;
    if (archiver) d.metrics?.archiver(d.cluster, archiver);
    await d.catalog.putWindow(d.cluster, recoveryWindow(info, archiver));
  }

  async #recordFailure(
    type: BackupType,
    slot: SlotId,
    startedMs: number,
    node: string,
    role: 'primary' | 'standby' | '',
    err: Error,
  ): Promise<void> {
    const d = this.#d;
    const at = new Date(d.clock.wall()).toISOString();
    const error = err.message.slice(0, 500);
    try {
      const existing = await d.catalog.get(slot);
      if (existing?.status === 'ok')
        await d.catalog.annotate(slot, { last_failure_at: at, last_failure_error: error });
      else
        await d.catalog.put(slot, {
          ...backupHash(undefined, {
            status: 'failed',
            started: new Date(startedMs).toISOString(),
            finished: at,
            durationMs: d.clock.wall() - startedMs,
            node,
            role,
            error,
          }),
          type,
          cluster: d.cluster,
        });
      await d.catalog.putWindow(d.cluster, { lastFailed: `${type} ${at}: ${error}` });
    } catch (e) {
      d.logger?.warn(
        { cluster: d.cluster, err: (e as Error).message },
        'backup failure not recorded',
      );
    }
    d.metrics?.failure(type, d.clock.wall() / 1000);
    await d
      .publish({
        type: 'backup-failed',
        cluster: d.cluster,
        epoch: 0,
        backupType: type,
        node,
        error,
      })
      .catch(() => undefined);
  }
}
