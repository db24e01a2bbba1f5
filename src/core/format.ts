/**
 * Human forms of durations and instants for evidence strings and stored topologies.
 * Pure: core may not read `Date`, so the ISO form is computed by arithmetic.
 */

/** `800` -> `'0.8 s'`, `12345` -> `'12.3 s'`: the unit evidence strings use throughout. */
export function formatMs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** A byte count for evidence: `1536` -> `'1536 B'`. Exact, because operators compare LSNs. */
export function formatBytes(bytes: number): string {
  return `${bytes} B`;
}

const DAY_MS = 86_400_000;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/**
 * Days since 1970-01-01 -> proleptic Gregorian year, month (1-12), day (1-31): H. Hinnant's
 * civil_from_days ("chrono-compatible low-level date algorithms").
 */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return { year, month, day };
}

/**
 * Wall-clock epoch ms -> ISO 8601 UTC (`2023-11-14T22:13:20.000Z`), identical to
 * `new Date(ms).toISOString()` for years 0..9999. Days-to-civil from H. Hinnant's
 * "chrono-compatible low-level date algorithms".
 */
export function isoFromWall(wallMs: number): string {
  const ms = Math.floor(wallMs);
  const days = Math.floor(ms / DAY_MS);
  const inDay = ms - days * DAY_MS;
  const { year, month, day } = civilFromDays(days);
  const hh = Math.floor(inDay / 3_600_000);
  const mm = Math.floor((inDay % 3_600_000) / 60_000);
  const ss = Math.floor((inDay % 60_000) / 1000);
  const milli = inDay % 1000;
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(hh)}:${pad(mm)}:${pad(ss)}.${pad(milli, 3)}Z`;
}
