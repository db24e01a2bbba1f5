/** SQL of the slot port (src/ports/slots.ts), run on a control session (control.ts `Q`). */
import type { SlotView } from '../../core/model.js';
import type { Q } from './control.js';
import { lit } from './sql.js';

export async function listSlots(q: Q): Promise<SlotView[]> {
  const r = await q(`SELECT slot_name, active, wal_status,
  CASE WHEN restart_lsn IS NULL THEN NULL
       ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint END AS retained
  FROM pg_replication_slots WHERE slot_type = 'physical' ORDER BY slot_name`);
  return r.rows.map((row: Record<string, unknown>) => ({
    name: String(row.slot_name),
    active: row.active === true,
    retainedBytes: row.retained === null ? null : Number(row.retained),
    walStatus: row.wal_status === null ? null : String(row.wal_status),
  }));
}

export async function dropSlot(q: Q, slot: string): Promise<boolean> {
  const r = await q(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
  WHERE slot_name = ${lit(slot)} AND NOT active`);
  return (r.rowCount ?? 0) > 0;
}

export async function setSlotWalKeepSize(q: Q, size: string): Promise<boolean> {
  const r = await q(`SELECT setting, unit FROM pg_settings WHERE name = 'max_slot_wal_keep_size'`);
  const row = r.rows[0] as { setting: string; unit: string | null } | undefined;
  if (row && normalized(row.setting, row.unit) === normalized(size, null)) return false;
  await q(`ALTER SYSTEM SET max_slot_wal_keep_size = ${lit(size)}`);
  await q('SELECT pg_reload_conf()');
  return true;
}

const UNITS: Record<string, number> = { kB: 1, MB: 1024, GB: 1024 ** 2, TB: 1024 ** 3 };

/** In kB (`-1` stays -1): pg_settings reports the value in MB units. */
function normalized(value: string, unit: string | null): number {
  if (value === '-1') return -1;
  const m = /^(\d+)\s*(kB|MB|GB|TB)?$/.exec(value);
  if (!m) return NaN;
  const n = Number(m[1]);
  const u = m[2] ?? (unit === 'MB' ? 'MB' : unit === 'kB' ? 'kB' : 'MB');
  return n * (UNITS[u] ?? 1);
}
