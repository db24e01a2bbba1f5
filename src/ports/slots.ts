/**
 * Replication slots on a primary (the leader's slot keeper, runtime/sentinel/slots.ts). Errors
 * as the Postgres port: PostgresUnreachable, PostgresCommandFailed.
 */
import type { NodeSpec, SlotView } from '../core/model.js';

export interface SlotControl {
  /** Physical slots with the WAL each retains. */
  listSlots(node: NodeSpec): Promise<SlotView[]>;
  /** Drop `slot` when it exists and is inactive; true when dropped. */
  dropSlot(node: NodeSpec, slot: string): Promise<boolean>;
  /** `max_slot_wal_keep_size = size` (ALTER SYSTEM + reload) unless already set; true if changed. */
  setSlotWalKeepSize(node: NodeSpec, size: string): Promise<boolean>;
}
