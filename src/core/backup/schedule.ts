/**
 * The backup schedule, pure: a 5-field cron matcher (minute hour day-of-month month
 * day-of-week, as node-cron and crontab(5) read them), which type a minute is a slot of, and
 * the latest slot before a moment (a missed slot runs once at the next start, not once per
 * missed day). Time comes in as epoch ms plus the UTC offset of the runner's zone: the
 * calendar is computed here without Date.
 *
 * Defaults follow the Fase2 schedule: full on day 1 (Monday), incremental on days 2-6,
 * differential on day 7 (Sunday), all at 01:00.
 */
import { civilFromDays } from '../format.js';
import type { BackupType, SlotId } from './types.js';

export type BackupSchedule = Readonly<Record<BackupType, string>>;

export const DEFAULT_SCHEDULE: BackupSchedule = {
  full: '0 1 * * 1',
  incr: '0 1 * * 2-6',
  diff: '0 1 * * 0',
};

/** When two expressions match the same minute, the bigger backup wins. */
const PRECEDENCE: readonly BackupType[] = ['full', 'diff', 'incr'];

export interface Calendar {
  year: number;
  /** 1..12 */
  month: number;
  /** 1..31 */
  day: number;
  /** 0 = Sunday .. 6 = Saturday */
  weekday: number;
  hour: number;
  minute: number;
}

const MINUTE_MS = 60_000;

/** Calendar fields of `epochMs` shifted by `offsetMin` (Howard Hinnant's civil_from_days). */
export function calendarOf(epochMs: number, offsetMin = 0): Calendar {
  const totalMin = Math.floor(epochMs / MINUTE_MS) + offsetMin;
  const days = Math.floor(totalMin / 1440);
  const minOfDay = totalMin - days * 1440;
  const { year, month, day } = civilFromDays(days);
  return {
    year,
    month,
    day,
    weekday: (((days + 4) % 7) + 7) % 7, // 1970-01-01 was a Thursday
    hour: Math.floor(minOfDay / 60),
    minute: minOfDay % 60,
  };
}

/** YYYY-MM-DD of a calendar day. */
export function isoDay(c: Pick<Calendar, 'year' | 'month' | 'day'>): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${c.year}-${p(c.month)}-${p(c.day)}`;
}

type Field = (v: number) => boolean;
const RANGES: readonly [number, number][] = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
];

function parseField(text: string, [lo, hi]: [number, number]): Field | string {
  const sets: Field[] = [];
  for (const part of text.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) return `"${part}" is not a number, range, list or step`;
    const from = m[1] === '*' ? lo : Number(m[2]);
    const to = m[1] === '*' ? hi : m[3] !== undefined ? Number(m[3]) : m[4] ? hi : from;
    const step = m[4] ? Number(m[4]) : 1;
    if (from < lo || to > hi || from > to || step < 1) return `"${part}" is outside ${lo}-${hi}`;
    sets.push((v) => v >= from && v <= to && (v - from) % step === 0);
  }
  return (v) => sets.some((f) => f(v));
}

export interface CronMatcher {
  matches(c: Calendar): boolean;
}

/** Parse a 5-field cron expression; a string is the reason it is refused. */
export function parseCron(expr: string): CronMatcher | string {
  const parts = expr.trim().split(/\s+/);
  if (parts.length !== 5)
    return `"${expr}" needs 5 fields (minute hour day-of-month month day-of-week)`;
  const fields: Field[] = [];
  for (let i = 0; i < 5; i++) {
    const f = parseField(parts[i]!, RANGES[i]!);
    if (typeof f === 'string') return `"${expr}": ${f}`;
    fields.push(f);
  }
  const [mi, h, dom, mon, dow] = fields as [Field, Field, Field, Field, Field];
  const domAny = parts[2] === '*';
  const dowAny = parts[4] === '*';
  return {
    matches: (c) => {
      if (!mi(c.minute) || !h(c.hour) || !mon(c.month)) return false;
      const d = dom(c.day);
      const w = dow(c.weekday) || (c.weekday === 0 && dow(7));
      // crontab(5): when both day fields are restricted, either one matching is enough
      if (!domAny && !dowAny) return d || w;
      return d && w;
    },
  };
}

/** Every expression parsed, or the first problem as `<type>: <reason>`. */
export function parseSchedule(s: BackupSchedule): Record<BackupType, CronMatcher> | string {
  const out: Partial<Record<BackupType, CronMatcher>> = {};
  for (const t of PRECEDENCE) {
    const m = parseCron(s[t]);
    if (typeof m === 'string') return `${t}: ${m}`;
    out[t] = m;
  }
  return out as Record<BackupType, CronMatcher>;
}

/** The type whose slot this minute is, if any. */
export function slotAt(
  m: Record<BackupType, CronMatcher>,
  epochMs: number,
  offsetMin = 0,
): (SlotId & { atMs: number }) | null {
  const c = calendarOf(epochMs, offsetMin);
  const type = PRECEDENCE.find((t) => m[t].matches(c));
  if (!type) return null;
  return { type, day: isoDay(c), atMs: Math.floor(epochMs / MINUTE_MS) * MINUTE_MS };
}

/** The latest slot at or before `nowMs`, looking back at most `lookbackDays`. */
export function latestSlot(
  m: Record<BackupType, CronMatcher>,
  nowMs: number,
  offsetMin = 0,
  lookbackDays = 8,
): (SlotId & { atMs: number }) | null {
  const start = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS;
  for (let i = 0; i <= lookbackDays * 1440; i++) {
    const s = slotAt(m, start - i * MINUTE_MS, offsetMin);
    if (s) return s;
  }
  return null;
}
