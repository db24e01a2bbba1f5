/** The replication slots of a primary and the WAL each retains, for the agent's /metrics (one short session per scrape). */
import type { SlotRow } from '../metrics/agent-metrics.js';
import { Session, type SessionParams } from './session.js';

export const SLOTS_SQL = `SELECT slot_name, active,
  CASE WHEN pg_is_in_recovery() OR restart_lsn IS NULL THEN NULL
       ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint END AS retained
FROM pg_replication_slots ORDER BY slot_name`;

/** One short session per call (a scrape every few seconds at most). */
export async function readSlots(p: SessionParams): Promise<SlotRow[]> {
  const s = await Session.open(p);
  try {
    const [r] = await s.query(SLOTS_SQL);
    return (r?.rows ?? []).map((row: Record<string, unknown>) => ({
      slot: String(row.slot_name),
      active: row.active === true,
      retainedBytes: row.retained === null ? null : Number(row.retained),
    }));
  } finally {
    await s.close();
  }
}
